#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <tuple>

#include "projections/key_codec.hpp"

#include "projections/retry_policy.hpp"
#include "pending_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;
using projections::pending_item;

namespace {
std::vector<pending_item> due(fixture& f, std::int64_t now, std::size_t limit = 1000) {
  auto t = f.read();
  auto d = f.runner->queue().due_items(t, now, limit);
  REQUIRE(d);
  return *d;
}
}  // namespace

TEST_CASE("an event creates one pending item per matching enabled endpoint, ordered by due time") {
  fixture f;
  f.append(create_endpoint("t1", "ep-a", {"order_new"}));
  f.append(create_endpoint("t1", "ep-b", {"*"}));
  f.append(create_endpoint("t1", "ep-c", {"job.*"}));
  f.append(create_endpoint("t2", "ep-d", {"*"}));
  f.append(create_endpoint("t1", "ep-test", {"*"}, {{"mode", "test"}}));
  auto e1 = f.append(event("t1", "order_new"));
  auto e2 = f.append(event("t1", "job.created"));
  auto e3 = f.append(event("t1", "order_new", {}, "", "", "", "", 0, record_flags::kTestMode));
  f.append(event("t1", "order_new", {}, "", "", "", "", 0, record_flags::kNoDelivery));
  f.sync();

  CHECK(find(f, "ep-a", e1));
  CHECK(find(f, "ep-b", e1));
  CHECK_FALSE(find(f, "ep-c", e1));
  CHECK(find(f, "ep-c", e2));
  CHECK(find(f, "ep-test", e3));
  CHECK_FALSE(find(f, "ep-a", e3));
  CHECK(counts(f, "ep-a").queued == 1);
  CHECK(counts(f, "ep-b").queued == 2);
  CHECK(counts(f, "ep-d").queued == 0);

  auto items = due(f, INT64_MAX);
  REQUIRE(items.size() == 5);
  for (std::size_t i = 1; i < items.size(); ++i) CHECK(items[i - 1].due_us <= items[i].due_us);
  CHECK(items[0].event_seq == e1);
  CHECK(items[0].attempt == 1);
  CHECK(due(f, items[0].due_us - 1).empty());
  auto t = f.read();
  auto next = f.runner->queue().next_due(t);
  REQUIRE(next);
  CHECK(**next == items[0].due_us);
}

TEST_CASE("attempts reschedule with each retry strategy and dead-letter after the last attempt") {
  const std::vector<std::pair<std::string, projections::retry_policy>> policies = {
      {"default", {}},
      {"fixed", {projections::retry_strategy::fixed, 1000, 60'000, 4}},
      {"linear", {projections::retry_strategy::linear, 1000, 60'000, 4}},
      {"exponential", {projections::retry_strategy::exponential, 1000, 3000, 5}},
      {"random", {projections::retry_strategy::random, 1000, 60'000, 3}},
  };
  for (const auto& [name, policy] : policies) {
    DYNAMIC_SECTION("strategy " << name) {
      fixture f;
      f.append(create_endpoint("t", "ep", {"*"}, {{"retry", projections::to_json(policy)}}));
      auto ev = f.append(event("t", "order_new"));
      f.sync();
      std::mt19937_64 rng(123);
      std::int64_t now = 2'000'000'000'000'000;
      for (std::uint32_t n = 1;; ++n) {
        auto item = find(f, "ep", ev);
        REQUIRE(item);
        CHECK(item->attempt == n);
        auto next = projections::next_attempt_at(policy, n, now, rng);
        f.append(attempt("t", "ep", ev, n, false, next, !next));
        f.sync();
        if (!next) {
          CHECK(n == policy.max_attempts);
          break;
        }
        auto re = find(f, "ep", ev);
        REQUIRE(re);
        CHECK(re->attempt == n + 1);
        CHECK(re->due_us == *next);
        if (policy.strategy == projections::retry_strategy::fixed) CHECK(*next - now == 1'000'000);
        if (policy.strategy == projections::retry_strategy::linear) CHECK(*next - now == n * 1'000'000LL);
        if (policy.strategy == projections::retry_strategy::exponential)
          CHECK(*next - now == std::min<std::int64_t>(1000LL << (n - 1), 3000) * 1000);
        auto d = due(f, *next);
        REQUIRE(d.size() == 1);
        CHECK(due(f, *next - 1).empty());
        now = *next;
      }
      CHECK_FALSE(find(f, "ep", ev));
      auto c = counts(f, "ep");
      CHECK(c.queued == 0);
      CHECK(c.dead == 1);
      auto t = f.read();
      auto dl = f.runner->queue().dead_letters(t, "ep", 0, 10);
      REQUIRE(dl);
      REQUIRE(dl->size() == 1);
      CHECK((*dl)[0].event_seq == ev);
      CHECK((*dl)[0].attempts == policy.max_attempts);
      CHECK((*dl)[0].status == 500);
      auto st = f.runner->delivery().for_endpoint(t, "ep");
      REQUIRE(*st);
      CHECK((*st)->failed == policy.max_attempts);
      CHECK((*st)->dead_lettered == 1);
      CHECK((*st)->delivered == 0);
      auto h = f.runner->subs().health(t, "ep");
      REQUIRE(*h);
      CHECK((*h)->consecutive_failures == policy.max_attempts);
    }
  }
}

TEST_CASE("success removes the item and counts a delivery") {
  fixture f;
  f.append(create_endpoint("t", "ep", {"*"}));
  auto ev = f.append(event("t", "order_new"));
  f.append(attempt("t", "ep", ev, 1, false, 5'000'000));
  f.append(attempt("t", "ep", ev, 2, true, std::nullopt, false, 1'500));
  f.sync();
  CHECK_FALSE(find(f, "ep", ev));
  CHECK(counts(f, "ep").queued == 0);
  auto t = f.read();
  auto st = f.runner->delivery().for_endpoint(t, "ep");
  REQUIRE(*st);
  CHECK((*st)->delivered == 1);
  CHECK((*st)->failed == 1);
  CHECK((*st)->latency_count == 2);
  CHECK((*st)->buckets[1] == 1);  // 1.5 ms in (1, 2]
  auto ty = f.runner->delivery().for_type(t, "t", "order_new");
  REQUIRE(*ty);
  CHECK((*ty)->delivered == 1);
  auto h = f.runner->subs().health(t, "ep");
  CHECK((*h)->consecutive_failures == 0);
  CHECK((*h)->last_success_at > 0);
}

TEST_CASE("a dispatcher's disable of an endpoint changed since the attempt is not applied") {
  // A 410 from the old URL, answered after a PATCH to a new one, disabled the endpoint on its
  // new URL. The disable says which endpoint it judged (endpoint_updated_at); a changed one
  // ignores it, in subscriptions and in pending alike.
  fixture f;
  f.append(create_endpoint("t", "ep", {"*"}));
  auto e1 = f.append(event("t", "a"));
  f.sync();
  auto updated_at = [&] {
    auto t = f.read();
    auto e = f.runner->subs().get(t, "ep");
    REQUIRE(*e);
    return (*e)->updated_at;
  };
  const std::int64_t judged = updated_at();
  f.append(endpoint_record(record_kind::endpoint_updated, "t", "ep",
                           {{"id", "ep"},
                            {"url", "https://new.example/in"},
                            {"events", {"*"}},
                            {"secret", "whsec_dGVzdHNlY3JldA=="}}));
  f.sync();
  const std::int64_t now = updated_at();
  REQUIRE(now != judged);
  auto disable = [&](std::int64_t at) {
    return endpoint_record(record_kind::endpoint_disabled, "t", "ep",
                           {{"reason", "endpoint answered 410 Gone"},
                            {"by", "dispatcher"},
                            {"event_seq", e1},
                            {"endpoint_updated_at", at}});
  };
  f.append(disable(judged));
  f.sync();
  {
    auto t = f.read();
    CHECK_FALSE((*f.runner->subs().get(t, "ep"))->disabled);
  }
  CHECK(f.runner->subs().endpoint_status("ep") == projections::subscriptions::status::enabled);
  CHECK_FALSE(find(f, "ep", e1)->parked);
  CHECK(counts(f, "ep").parked == 0);
  // Judged on the endpoint as it is: applied.
  f.append(disable(now));
  f.sync();
  {
    auto t = f.read();
    CHECK((*f.runner->subs().get(t, "ep"))->disabled);
  }
  CHECK(find(f, "ep", e1)->parked);
}

TEST_CASE("disable parks an endpoint's items, enable brings them back, delete drops them") {
  fixture f;
  f.append(create_endpoint("t", "ep", {"*"}));
  auto e1 = f.append(event("t", "a"));
  auto e2 = f.append(event("t", "b"));
  f.append(endpoint_record(record_kind::endpoint_disabled, "t", "ep", {{"reason", "too many failures"}}));
  auto e3 = f.append(event("t", "c"));  // not matched while disabled
  f.sync();
  CHECK(due(f, INT64_MAX).empty());
  CHECK(find(f, "ep", e1)->parked);
  CHECK_FALSE(find(f, "ep", e3));
  CHECK(counts(f, "ep").parked == 2);
  {
    auto t = f.read();
    auto e = f.runner->subs().get(t, "ep");
    REQUIRE(*e);
    CHECK((*e)->disabled);
    CHECK((*e)->disabled_reason == "too many failures");
  }
  // A failed attempt that was in flight while disabled is re-queued parked.
  f.append(attempt("t", "ep", e2, 1, false, 9'000'000'000'000'000));
  f.sync();
  CHECK(find(f, "ep", e2)->parked);
  CHECK(find(f, "ep", e2)->attempt == 2);

  f.append(endpoint_record(record_kind::endpoint_enabled, "t", "ep", json::object()));
  f.sync();
  auto items = due(f, INT64_MAX);
  REQUIRE(items.size() == 2);
  CHECK(counts(f, "ep").queued == 2);
  CHECK(counts(f, "ep").parked == 0);
  CHECK(find(f, "ep", e2)->due_us == 9'000'000'000'000'000);  // its own later due time kept

  f.append(endpoint_record(record_kind::endpoint_deleted, "t", "ep", {{"reason", "gone"}}));
  f.append(event("t", "d"));
  f.sync();
  CHECK(due(f, INT64_MAX).empty());
  CHECK(counts(f, "ep").queued == 0);
  auto t = f.read();
  CHECK_FALSE(f.runner->subs().get(t, "ep")->has_value());
}

TEST_CASE("replay_progressed schedules with a marker, replay_cancelled removes what is left") {
  fixture f;
  auto e1 = f.append(event("t", "order_new"));
  auto e2 = f.append(event("t", "order_new"));
  auto e3 = f.append(event("t", "order_new"));
  f.append(create_endpoint("t", "late", {"*"}));
  auto e4 = f.append(event("t", "order_new"));  // live, already queued
  record rp;
  rp.kind = record_kind::replay_progressed;
  rp.tenant = "t";
  rp.entity_kind = "replay";
  rp.entity_id = "rp_1";
  rp.body = json{{"replay_id", "rp_1"}, {"endpoint_id", "late"}, {"scheduled", {e1, e2, e3, e4}}, {"scanned_to", e4}}.dump();
  f.append(rp);
  f.sync();
  CHECK(find(f, "late", e1)->replay_id == "rp_1");
  CHECK(find(f, "late", e4)->replay_id == "");
  CHECK(counts(f, "late").queued == 4);
  f.append(attempt("t", "late", e1, 1, true, std::nullopt));
  record rc;
  rc.kind = record_kind::replay_cancelled;
  rc.tenant = "t";
  rc.entity_kind = "replay";
  rc.entity_id = "rp_1";
  rc.body = json{{"replay_id", "rp_1"}}.dump();
  f.append(rc);
  f.sync();
  CHECK_FALSE(find(f, "late", e2));
  CHECK_FALSE(find(f, "late", e3));
  CHECK(find(f, "late", e4));
  CHECK(counts(f, "late").queued == 1);
}

TEST_CASE("secret rotation keeps the previous secret until its expiry") {
  fixture f;
  f.append(create_endpoint("t", "ep", {"*"}));
  f.append(endpoint_record(record_kind::secret_rotated, "t", "ep",
                           {{"secret", "whsec_bmV3"}, {"previous_valid_until", 9'000'000'000'000'000}}));
  f.append(endpoint_record(record_kind::endpoint_updated, "t", "ep",
                           {{"id", "ep"}, {"url", "https://new.example/h"}, {"events", {"job.*"}}}));
  f.sync();
  auto t = f.read();
  auto e = f.runner->subs().get(t, "ep");
  REQUIRE(*e);
  CHECK((*e)->secret == "whsec_bmV3");
  REQUIRE((*e)->previous_secrets.size() == 1);
  CHECK((*e)->previous_secrets[0].secret == "whsec_dGVzdHNlY3JldA==");
  CHECK((*e)->url == "https://new.example/h");
  CHECK((*e)->tenant == "t");
  CHECK((*e)->created_at > 0);
  CHECK((*e)->updated_at >= (*e)->created_at);
  auto list = f.runner->subs().list(t, "t", "", 10);
  REQUIRE(list);
  CHECK(list->size() == 1);
  CHECK(f.runner->subs().list(t, "other", "", 10)->empty());
}

namespace {
// (due, seq, endpoint, attempt, replay) of each due item, in due_items() order.
using due_row = std::tuple<std::int64_t, std::uint64_t, std::string, std::uint32_t, std::string>;
std::vector<due_row> due_rows(fixture& f, std::size_t limit = 1000) {
  std::vector<due_row> out;
  for (const auto& it : due(f, INT64_MAX, limit))
    out.emplace_back(it.due_us, it.event_seq, it.endpoint_id, it.attempt, it.replay_id);
  return out;
}
std::size_t due_keys(fixture& f) {
  auto d = dump_state(*f.runner, {"pending_due"});
  return d.at("pending_due").size();
}
record at(record r, std::int64_t recorded_at) {
  r.recorded_at = recorded_at;
  return r;
}
}  // namespace

TEST_CASE("pending layout 2: one due key per (due time, event) lists its endpoints in byte order") {
  constexpr std::int64_t T = 1'707'500'000'000'000;
  fixture f;
  // Created out of byte order; "ep-a" is a prefix of "ep-ab".
  for (const char* id : {"ep-b", "ep-ab", "ep-c", "ep-a"}) f.append(at(create_endpoint("t", id, {"*"}), T));
  auto e1 = f.append(at(event("t", "order_new"), T + 10));
  auto e2 = f.append(at(event("t", "order_new"), T + 20));
  f.sync();
  CHECK(due_keys(f) == 2);
  CHECK(due_rows(f) == std::vector<due_row>{
                           {T + 10, e1, "ep-a", 1, ""}, {T + 10, e1, "ep-ab", 1, ""},
                           {T + 10, e1, "ep-b", 1, ""}, {T + 10, e1, "ep-c", 1, ""},
                           {T + 20, e2, "ep-a", 1, ""}, {T + 20, e2, "ep-ab", 1, ""},
                           {T + 20, e2, "ep-b", 1, ""}, {T + 20, e2, "ep-c", 1, ""}});
  // A limit inside one key's list.
  CHECK(due_rows(f, 3) == std::vector<due_row>{{T + 10, e1, "ep-a", 1, ""},
                                               {T + 10, e1, "ep-ab", 1, ""},
                                               {T + 10, e1, "ep-b", 1, ""}});
  CHECK(due(f, T + 9).empty());
  CHECK(due(f, T + 10).size() == 4);

  // Retries: ep-c and ep-a fail with the same next time (one key, merged in byte order), ep-b
  // with a later one; ep-ab succeeds.
  f.append(at(attempt("t", "ep-c", e1, 1, false, T + 1000), T + 30));
  f.append(at(attempt("t", "ep-a", e1, 1, false, T + 1000), T + 31));
  f.append(at(attempt("t", "ep-b", e1, 1, false, T + 2000), T + 32));
  f.append(at(attempt("t", "ep-ab", e1, 1, true, std::nullopt), T + 33));
  f.sync();
  CHECK(due_keys(f) == 3);
  CHECK(due_rows(f) == std::vector<due_row>{
                           {T + 20, e2, "ep-a", 1, ""}, {T + 20, e2, "ep-ab", 1, ""},
                           {T + 20, e2, "ep-b", 1, ""}, {T + 20, e2, "ep-c", 1, ""},
                           {T + 1000, e1, "ep-a", 2, ""}, {T + 1000, e1, "ep-c", 2, ""},
                           {T + 2000, e1, "ep-b", 2, ""}});
  {
    auto t = f.read();
    auto next = f.runner->queue().next_due(t);
    REQUIRE(next);
    CHECK(**next == T + 20);
  }

  // Disable ep-a: its entries leave the shared keys, the others stay; the items are parked.
  f.append(at(endpoint_record(record_kind::endpoint_disabled, "t", "ep-a", {{"reason", "x"}}), T + 40));
  f.sync();
  CHECK(due_rows(f) == std::vector<due_row>{
                           {T + 20, e2, "ep-ab", 1, ""}, {T + 20, e2, "ep-b", 1, ""},
                           {T + 20, e2, "ep-c", 1, ""}, {T + 1000, e1, "ep-c", 2, ""},
                           {T + 2000, e1, "ep-b", 2, ""}});
  CHECK(counts(f, "ep-a").parked == 2);
  CHECK(find(f, "ep-a", e1)->parked);
  // Enable at T + 1000: e2's item comes back at T + 1000 (after its due time), e1's keeps its own
  // T + 1000 and joins ep-c's entry under the same key again.
  f.append(at(endpoint_record(record_kind::endpoint_enabled, "t", "ep-a", json::object()), T + 1000));
  f.sync();
  CHECK(due_rows(f) == std::vector<due_row>{
                           {T + 20, e2, "ep-ab", 1, ""}, {T + 20, e2, "ep-b", 1, ""},
                           {T + 20, e2, "ep-c", 1, ""}, {T + 1000, e1, "ep-a", 2, ""},
                           {T + 1000, e1, "ep-c", 2, ""}, {T + 1000, e2, "ep-a", 1, ""},
                           {T + 2000, e1, "ep-b", 2, ""}});
  CHECK(due_keys(f) == 4);

  // A replay of e1 for ep-ab (delivered already, so not queued) at T + 2000 joins ep-b's retry key.
  record rp;
  rp.kind = record_kind::replay_progressed;
  rp.tenant = "t";
  rp.entity_kind = "replay";
  rp.entity_id = "rp_1";
  rp.recorded_at = T + 2000;
  rp.body = json{{"replay_id", "rp_1"}, {"endpoint_id", "ep-ab"}, {"scheduled", {e1, e2}}, {"scanned_to", e2}}.dump();
  f.append(rp);
  f.sync();
  CHECK(due_rows(f).back() == due_row{T + 2000, e1, "ep-b", 2, ""});
  CHECK(due_rows(f)[6] == due_row{T + 2000, e1, "ep-ab", 1, "rp_1"});
  CHECK(due_keys(f) == 4);
  CHECK(find(f, "ep-ab", e2)->replay_id.empty());  // e2 was queued already: not scheduled again

  // The last entries of a key: a dead letter and a success remove it.
  f.append(at(attempt("t", "ep-c", e1, 2, false, std::nullopt, true), T + 2001));
  f.append(at(attempt("t", "ep-a", e1, 2, true, std::nullopt), T + 2002));
  // Cancelling the replay removes its entry from the shared key; ep-b's stays.
  record rc;
  rc.kind = record_kind::replay_cancelled;
  rc.tenant = "t";
  rc.entity_kind = "replay";
  rc.entity_id = "rp_1";
  rc.recorded_at = T + 2003;
  rc.body = json{{"replay_id", "rp_1"}}.dump();
  f.append(rc);
  f.sync();
  CHECK(due_rows(f) == std::vector<due_row>{
                           {T + 20, e2, "ep-ab", 1, ""}, {T + 20, e2, "ep-b", 1, ""},
                           {T + 20, e2, "ep-c", 1, ""}, {T + 1000, e2, "ep-a", 1, ""},
                           {T + 2000, e1, "ep-b", 2, ""}});
  CHECK(due_keys(f) == 3);
  CHECK(counts(f, "ep-c").dead == 1);
  CHECK(counts(f, "ep-c").queued == 1);
  // Delete ep-b: its entries go; its key for e1 goes with its last entry.
  f.append(at(endpoint_record(record_kind::endpoint_deleted, "t", "ep-b", {{"reason", "gone"}}), T + 2004));
  f.sync();
  CHECK(due_rows(f) == std::vector<due_row>{{T + 20, e2, "ep-ab", 1, ""},
                                            {T + 20, e2, "ep-c", 1, ""},
                                            {T + 1000, e2, "ep-a", 1, ""}});
  CHECK(due_keys(f) == 2);
  // The same state when rebuilt, in batches of one record and in one batch.
  const auto dbs = all_state_dbs(*f.runner);
  const auto incremental = dump_state(*f.runner, dbs);
  for (std::size_t batch : {1, 1000}) {
    f.ropts.batch_records = batch;
    f.open_runner();
    REQUIRE(f.runner->rebuild("pending"));
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
}

TEST_CASE("a pending state of layout 1 (one due key per item) is rebuilt at open") {
  fixture f;
  f.append(create_endpoint("t", "ep-a", {"*"}));
  f.append(create_endpoint("t", "ep-b", {"*"}));
  auto e1 = f.append(event("t", "order_new"));
  f.sync();
  const auto good = dump_state(*f.runner, all_state_dbs(*f.runner));
  const auto items = due(f, INT64_MAX);
  REQUIRE(items.size() == 2);
  // What an older build left: no layout key, one key per (due, event, endpoint).
  write_older_layout(f, "pending", 0, "pending_due", [&](lmdb::txn& t, lmdb::dbi& pd) {
    for (const auto& it : items) {
      std::string k, v;
      projections::keys::put_i64_be(k, it.due_us);
      projections::keys::put_u64_be(k, e1);
      k.append(it.endpoint_id);
      projections::keys::put_le<std::uint32_t>(v, 1);
      REQUIRE(pd.put(t, k, v));
    }
  });
  f.open_runner();
  f.sync();
  CHECK(dump_state(*f.runner, all_state_dbs(*f.runner)) == good);
  CHECK(due(f, INT64_MAX).size() == 2);
}

TEST_CASE("pending layout 2: an event's entries past 32 endpoints go in chunks, retries merge and split them in order") {
  constexpr std::int64_t T = 1'707'500'000'000'000;
  fixture f(/*batch=*/7);
  std::vector<std::string> eps;
  for (int i = 0; i < 70; ++i) eps.push_back("e" + std::to_string(i));  // byte order != numeric
  std::mt19937_64 rng(5);
  auto shuffled = eps;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const auto& id : shuffled) f.append(at(create_endpoint("t", id, {"*"}), T));
  auto e1 = f.append(at(event("t", "order_new"), T + 10));
  auto e2 = f.append(at(event("t", "order_new"), T + 20));
  // The model: (due, seq, endpoint) -> attempt.
  std::map<std::tuple<std::int64_t, std::uint64_t, std::string>, std::uint32_t> model;
  std::map<std::pair<std::uint64_t, std::string>, std::int64_t> due_of;
  for (const auto& id : eps) {
    model[{T + 10, e1, id}] = 1;
    model[{T + 20, e2, id}] = 1;
    due_of[{e1, id}] = T + 10;
    due_of[{e2, id}] = T + 20;
  }
  auto check = [&] {
    f.sync();
    std::vector<due_row> expect;
    for (const auto& [k, a] : model) expect.emplace_back(std::get<0>(k), std::get<1>(k), std::get<2>(k), a, "");
    CHECK(due_rows(f, 100'000) == expect);
    // No key holds more than 32 entries; every key's endpoint part is <= its first entry.
    auto d = dump_state(*f.runner, {"pending_due"});
    for (const auto& [k, v] : d.at("pending_due")) {
      std::size_t at = 0, n = 0;
      std::string first;
      while (at + 2 <= v.size()) {
        auto s = projections::keys::get_str16(v, at);
        REQUIRE(s);
        if (n++ == 0) first = std::string(*s);
        at += 4;
        REQUIRE(projections::keys::get_str16(v, at));
      }
      CHECK(n >= 1);
      CHECK(n <= projections::pending::kDueChunk);
      CHECK(k.substr(16) <= first);
    }
    return d.at("pending_due").size();
  };
  CHECK(check() == 6);  // 32 + 32 + 6 per event

  // Retries of e1 to two shared times, in a random order over several batches; some succeed,
  // some are dead.
  for (int round = 0; round < 3; ++round) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (std::size_t i = 0; i < shuffled.size(); ++i) {
      const auto& id = shuffled[i];
      auto it = due_of.find({e1, id});
      if (it == due_of.end()) continue;
      const std::uint32_t n = model[{it->second, e1, id}];
      model.erase({it->second, e1, id});
      const int pick = static_cast<int>(rng() % 10);
      if (pick == 0) {
        f.append(at(attempt("t", id, e1, n, true, std::nullopt), T + 100 + round));
        due_of.erase(it);
      } else if (pick == 1) {
        f.append(at(attempt("t", id, e1, n, false, std::nullopt, true), T + 100 + round));
        due_of.erase(it);
      } else {
        const std::int64_t next = T + (rng() % 4 == 0 ? 2000 : 1000);
        f.append(at(attempt("t", id, e1, n, false, next), T + 100 + round));
        model[{next, e1, id}] = n + 1;
        it->second = next;
      }
      if (i % 9 == 0) check();
    }
    const auto keys = check();
    std::size_t shared = 0;  // items of e1 due at T + 1000: past 32, a second key
    for (const auto& [k, a] : model) shared += std::get<0>(k) == T + 1000;
    INFO("round " << round << ": " << shared << " items share (T + 1000, e1), " << keys << " keys");
    if (round == 0) CHECK(shared > projections::pending::kDueChunk);
  }
  // Parking and un-parking move entries out of and into shared keys.
  for (const auto& id : {eps[3], eps[40], eps[69]}) {
    f.append(at(endpoint_record(record_kind::endpoint_disabled, "t", id, {{"reason", "x"}}), T + 500));
    for (auto it = model.begin(); it != model.end();)
      it = std::get<2>(it->first) == id ? model.erase(it) : std::next(it);
  }
  check();
  for (const auto& id : {eps[3], eps[40], eps[69]})
    f.append(at(endpoint_record(record_kind::endpoint_enabled, "t", id, json::object()), T + 1000));
  f.sync();
  for (const auto& id : {eps[3], eps[40], eps[69]})
    for (std::uint64_t seq : {e1, e2})
      if (auto d = due_of.find({seq, id}); d != due_of.end()) {
        auto p = find(f, id, seq);
        REQUIRE(p);
        CHECK(p->due_us == std::max(d->second, T + 1000));
        model[{p->due_us, seq, id}] = p->attempt;
      }
  check();
  const auto dbs = all_state_dbs(*f.runner);
  const auto incremental = dump_state(*f.runner, dbs);
  for (std::size_t batch : {1, 1000}) {
    f.ropts.batch_records = batch;
    f.open_runner();
    REQUIRE(f.runner->rebuild("pending"));
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
}
