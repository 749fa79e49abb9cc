// The rule that matters: rebuilding any projection from the log gives byte for
// byte the state the incremental path built; and a catch-up interrupted at any
// point resumes from its checkpoint without double counting.
#include <catch2/catch.hpp>
#include <algorithm>
#include <random>
#include <tuple>

#include "engine/tree_head.hpp"
#include "projections/retry_policy.hpp"
#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

constexpr std::int64_t kT0 = 1'707'500'000'000'000;

// The due order as the dispatcher reads it (due_items, next_due) holds exactly the queued,
// unparked items of the per-endpoint index (items_for), ordered by (due, event seq, endpoint),
// with the same attempt and replay id: what one key per item gave before layout 2.
void check_due_order(fixture& f) {
  auto t = f.read();
  const auto& q = f.runner->queue();
  auto d = q.due_items(t, INT64_MAX, SIZE_MAX);
  REQUIRE(d);
  std::vector<projections::pending_item> expect;
  for (std::size_t i = 0; i < 20; ++i) {
    auto items = q.items_for(t, "ep-" + std::to_string(i), 0, SIZE_MAX);
    REQUIRE(items);
    for (auto& it : *items)
      if (!it.parked) expect.push_back(std::move(it));
  }
  std::sort(expect.begin(), expect.end(), [](const auto& a, const auto& b) {
    return std::tie(a.due_us, a.event_seq, a.endpoint_id) <
           std::tie(b.due_us, b.event_seq, b.endpoint_id);
  });
  REQUIRE(d->size() == expect.size());
  for (std::size_t i = 0; i < expect.size(); ++i) {
    INFO("due item " << i);
    CHECK((*d)[i].due_us == expect[i].due_us);
    CHECK((*d)[i].event_seq == expect[i].event_seq);
    CHECK((*d)[i].endpoint_id == expect[i].endpoint_id);
    CHECK((*d)[i].attempt == expect[i].attempt);
    CHECK((*d)[i].replay_id == expect[i].replay_id);
  }
  auto next = q.next_due(t);
  REQUIRE(next);
  CHECK(*next == (expect.empty() ? std::nullopt : std::optional<std::int64_t>(expect[0].due_us)));
}

// Appends a log with every record kind, thousands of events over 5 tenants and
// 20 endpoints, in many small commits. When `follow` is set the runner thread is
// running and attempts are written for items read from the pending queue (like
// the dispatcher); otherwise attempts target pseudo-random (endpoint, event) pairs.
std::uint64_t build_log(fixture& f, bool follow, int rounds = 400) {
  std::mt19937_64 rng(2024);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> tenants = {"jelp-co", "oms-eu", "lynxo-1", "cs-live", "eudr-int"};
  const std::vector<std::string> types = {"order_new", "order_update:assign_driver", "order_update:complete_order",
                                          "job.created", "job.pickup.updated", "package.status.shipped",
                                          "dds.status_changed", "statusUpdated", "folio_update"};
  const std::vector<std::string> statuses = {"PENDING", "TRANSIT", "COMPLETED", "CANCELLED", "DRAFT", "SUBMITTED"};
  const std::vector<json> patterns = {
      {"*"}, {"order_new"}, {"order_update:*"}, {"job.*", "order_new"}, {"dds.*", "statusUpdated"},
      {"package.*"}};
  const std::vector<json> retries = {
      json(nullptr),
      projections::to_json(projections::retry_policy{projections::retry_strategy::fixed, 1000, 60'000, 3}),
      projections::to_json(projections::retry_policy{projections::retry_strategy::exponential, 500, 8000, 4}),
      projections::to_json(projections::retry_policy{projections::retry_strategy::random, 200, 5000, 2})};

  std::vector<record> batch;
  std::vector<std::uint64_t> events;
  std::vector<bool> alive(20, false);
  std::uint64_t last = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    auto seqs = f.append_all(std::move(batch));
    batch.clear();
    last = seqs.back();
  };
  auto ep_id = [](std::size_t i) { return "ep-" + std::to_string(i); };
  auto ep_tenant = [&](std::size_t i) { return tenants[i % 5]; };
  auto create = [&](std::size_t i) {
    json extra = {{"retry", retries[i % retries.size()]}};
    if (i % 7 == 3) extra["filter"] = {{"all", {{{"path", "/status"}, {"op", "neq"}, {"value", "CANCELLED"}}}}};
    if (i % 9 == 4) extra["mode"] = "test";
    batch.push_back(create_endpoint(ep_tenant(i), ep_id(i), patterns[i % patterns.size()], extra));
    alive[i] = true;
  };
  for (std::size_t i = 0; i < 20; ++i) create(i);
  flush();

  std::mt19937_64 jitter(99);
  for (int round = 0; round < rounds; ++round) {
    // A small commit of events.
    std::size_t n = 1 + pick(20);
    for (std::size_t k = 0; k < n; ++k) {
      const auto& tenant = tenants[pick(tenants.size())];
      const auto& type = types[pick(types.size())];
      std::string entity = "E" + std::to_string(pick(60));
      std::int64_t occurred = kT0 + round * 60'000'000LL + static_cast<std::int64_t>(k) * 1000;
      if (pick(10) == 0) occurred -= 30 * 60'000'000LL;  // late arrival
      std::uint16_t flags = 0;
      if (pick(15) == 0) flags |= record_flags::kTestMode;
      if (pick(25) == 0) flags |= record_flags::kNoDelivery;
      const auto& to = statuses[pick(statuses.size())];
      std::string from = pick(3) == 0 ? statuses[pick(statuses.size())] : "";
      batch.push_back(event(tenant, type, {{"status", to}, {"n", round}}, pick(8) == 0 ? "" : "order", entity,
                            from, to, occurred, flags));
    }
    flush();
    for (std::uint64_t s = last - n + 1; s <= last; ++s) events.push_back(s);

    // Endpoint lifecycle, replays and keys now and then.
    if (round % 7 == 3) {
      std::size_t i = pick(20);
      switch (pick(6)) {
        case 0:
          if (alive[i])
            batch.push_back(endpoint_record(record_kind::endpoint_updated, ep_tenant(i), ep_id(i),
                                            {{"id", ep_id(i)}, {"url", "https://u.example/" + std::to_string(round)},
                                             {"events", patterns[pick(patterns.size())]}}));
          break;
        case 1:
          batch.push_back(endpoint_record(record_kind::endpoint_disabled, ep_tenant(i), ep_id(i),
                                          {{"reason", "consecutive failures"}}));
          break;
        case 2: batch.push_back(endpoint_record(record_kind::endpoint_enabled, ep_tenant(i), ep_id(i), json::object())); break;
        case 3:
          batch.push_back(endpoint_record(record_kind::secret_rotated, ep_tenant(i), ep_id(i),
                                          {{"secret", "whsec_cm90" + std::to_string(round)},
                                           {"previous_valid_until", kT0 * 2}}));
          break;
        case 4:
          if (alive[i]) {
            batch.push_back(endpoint_record(record_kind::endpoint_deleted, ep_tenant(i), ep_id(i), {{"reason", "test"}}));
            alive[i] = false;
          } else {
            create(i);
          }
          break;
        default: {
          std::string rid = "rp_" + std::to_string(round);
          auto rr = [&](record_kind k, json body) {
            record r;
            r.kind = k;
            r.tenant = ep_tenant(i);
            r.entity_kind = "replay";
            r.entity_id = rid;
            r.body = body.dump();
            batch.push_back(std::move(r));
          };
          rr(record_kind::replay_requested, {{"replay_id", rid}, {"endpoint_id", ep_id(i)}});
          json sched = json::array();
          for (int k = 0; k < 12; ++k) sched.push_back(events[pick(events.size())]);
          rr(record_kind::replay_progressed, {{"replay_id", rid}, {"endpoint_id", ep_id(i)}, {"scheduled", sched},
                                              {"scanned_to", last}});
          rr(pick(2) ? record_kind::replay_finished : record_kind::replay_cancelled, {{"replay_id", rid}});
          break;
        }
      }
      if (round % 21 == 3) {
        record k;
        k.kind = pick(2) ? record_kind::key_issued : record_kind::key_revoked;
        k.tenant = tenants[pick(5)];
        k.entity_kind = "key";
        k.entity_id = "key_" + std::to_string(round);
        k.body = json{{"scope", "tenant"}}.dump();
        batch.push_back(std::move(k));
      }
      if (round % 37 == 5) {  // a published signed tree head (issue 15): no projection uses it
        tree_head h;
        h.tree_size = static_cast<std::uint64_t>(round);
        batch.push_back(head_record(h));
      }
      flush();
    }

    // Delivery attempts like the dispatcher's.
    if (round % 3 == 1) {
      std::vector<projections::pending_item> work;
      if (follow) {
        REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
        auto t = f.read();
        auto d = f.runner->queue().due_items(t, INT64_MAX, 25);
        REQUIRE(d);
        work = *d;
        if (round % 30 == 1) check_due_order(f);
      } else {
        for (int k = 0; k < 10; ++k) {
          projections::pending_item it;
          it.endpoint_id = ep_id(pick(20));
          it.event_seq = events[pick(events.size())];
          it.attempt = 1 + static_cast<std::uint32_t>(pick(3));
          work.push_back(it);
        }
      }
      for (const auto& it : work) {
        bool ok = pick(3) == 0;
        projections::retry_policy p{projections::retry_strategy::fixed, 1000, 60'000, 3};
        auto next = ok ? std::nullopt : projections::next_attempt_at(p, it.attempt, kT0 + round, jitter);
        batch.push_back(attempt(tenants[pick(5)], it.endpoint_id, it.event_seq, it.attempt, ok, next, !ok && !next,
                                static_cast<std::int64_t>(pick(3'000'000)), it.replay_id));
      }
      flush();
    }
  }
  // A replay still in progress at the end, so its markers are part of the state.
  for (std::size_t i = 0; i < 20; ++i) {
    if (!alive[i]) continue;
    json sched = json::array();
    for (int k = 0; k < 12; ++k) sched.push_back(events[pick(events.size())]);
    record r;
    r.kind = record_kind::replay_progressed;
    r.tenant = ep_tenant(i);
    r.entity_kind = "replay";
    r.entity_id = "rp_final";
    r.body = json{{"replay_id", "rp_final"}, {"endpoint_id", ep_id(i)}, {"scheduled", sched}, {"scanned_to", last}}.dump();
    batch.push_back(std::move(r));
    break;
  }
  flush();
  return last;
}

}  // namespace

TEST_CASE("rebuilding any projection gives byte for byte the incremental state") {
  fixture f(/*batch=*/97);  // small batches: many batch boundaries on the incremental path
  f.runner->start();
  const auto last = build_log(f, /*follow=*/true);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(60)));
  CHECK(f.runner->lag() == 0);
  REQUIRE_FALSE(f.runner->last_error());
  const auto dbs = all_state_dbs(*f.runner);
  const auto incremental = dump_state(*f.runner, dbs);
  check_due_order(f);
  // Items that share a due key (several endpoints of one event) and keys of one item both occur.
  {
    auto t = f.read();
    auto d = f.runner->queue().due_items(t, INT64_MAX, SIZE_MAX);
    REQUIRE(d);
    std::size_t shared = 0;
    for (std::size_t i = 1; i < d->size(); ++i)
      shared += (*d)[i].due_us == (*d)[i - 1].due_us && (*d)[i].event_seq == (*d)[i - 1].event_seq;
    CHECK(shared > 0);
    CHECK(incremental.at("pending_due").size() == d->size() - shared);  // one key per (due, event)
  }

  // Sanity: the log exercised every projection.
  for (const auto& name : dbs) {
    INFO(name);
    CHECK(!incremental.at(name).empty());
  }
  std::uint64_t kinds = 0;
  REQUIRE(f.log->for_each(1, last, [&](const record_view& r) {
    kinds |= 1ull << static_cast<int>(r.kind);
    return true;
  }));
  for (int k = 1; k <= kMaxRecordKind; ++k) {
    INFO(k);
    CHECK((kinds & (1ull << k)) != 0);
  }

  // One rebuild with the runner thread following, the rest synchronous.
  REQUIRE(f.runner->rebuild("pending"));
  CHECK(dump_state(*f.runner, dbs) == incremental);
  f.runner->stop();
  for (const char* name : {"subscriptions", "timelines", "stats", "pending", "all"}) {
    INFO("rebuild " << name);
    REQUIRE(f.runner->rebuild(name));
    CHECK(f.runner->checkpoint("pending") == last);
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
  auto bad = f.runner->rebuild("nope");
  CHECK_FALSE(bad.ok());

  // A rebuild in one big batch gives the same bytes too.
  f.ropts.batch_records = 1'000'000;
  f.open_runner();
  REQUIRE(f.runner->rebuild("all"));
  CHECK(dump_state(*f.runner, dbs) == incremental);

  // And one whose staged pending_ix entries are written out mid-batch every 3 items.
  f.ropts.pending_staged_max = 3;
  f.open_runner();
  REQUIRE(f.runner->rebuild("all"));
  CHECK(dump_state(*f.runner, dbs) == incremental);

  // And one whose staged timeline transitions are written out mid-batch every 3 (and every 1).
  for (std::size_t max : {3, 1}) {
    INFO("timelines_staged_max " << max);
    f.ropts.timelines_staged_max = max;
    f.open_runner();
    REQUIRE(f.runner->rebuild("all"));
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
}

TEST_CASE("a catch-up killed midway resumes from its checkpoint without double counting") {
  fixture f(/*batch=*/50);
  const auto last = build_log(f, /*follow=*/false, 150);
  const auto dbs = all_state_dbs(*f.runner);

  // Reference: a fresh state env caught up in one go.
  projections::runner_options ref_opts = f.ropts;
  ref_opts.state_dir = f.dir.path() + "/state-ref";
  ref_opts.batch_records = 1'000'000;
  auto ref = projections::projection_runner::open(*f.log, ref_opts);
  REQUIRE(ref);
  REQUIRE((*ref)->catch_up());
  const auto expected = dump_state(**ref, dbs);
  ref->reset();

  // Three batches, then the process "dies" (the runner goes away between commits).
  auto n = f.runner->catch_up(UINT64_MAX, 3);
  REQUIRE(n);
  CHECK(*n == 150);
  CHECK(f.runner->applied_seq() == 150);
  f.open_runner();
  CHECK(f.runner->applied_seq() == 150);
  CHECK(f.runner->lag() == last - 150);

  // A batch that fails halfway is rolled back, memory included, and retried.
  f.runner->fail_next_batch_after(20);
  auto failed = f.runner->catch_up(UINT64_MAX, 1);
  CHECK_FALSE(failed.ok());
  CHECK(f.runner->applied_seq() == 150);
  CHECK(f.runner->last_error());

  REQUIRE(f.runner->catch_up());
  CHECK(f.runner->applied_seq() == last);
  CHECK(dump_state(*f.runner, dbs) == expected);
}

TEST_CASE("first_difference compares two states byte for byte and names the first difference") {
  fixture f(/*batch=*/40);
  const auto last = build_log(f, /*follow=*/false, 60);
  REQUIRE(f.runner->catch_up());
  projections::runner_options ref_opts = f.ropts;
  ref_opts.state_dir = f.dir.path() + "/state-ref";
  auto ref = projections::projection_runner::open(*f.log, ref_opts);
  REQUIRE(ref);
  REQUIRE((*ref)->catch_up());
  REQUIRE((*ref)->applied_seq() == last);

  projections::compare_totals n;
  auto same = projections::first_difference(*f.runner, **ref, &n, "live", "rebuilt");
  REQUIRE(same);
  CHECK_FALSE(*same);
  CHECK(n.databases == all_state_dbs(*f.runner).size());
  CHECK(n.keys > 1000);

  // A changed value, a missing key and an extra key are each named with their owner.
  auto edit = [&](const std::string& db, auto change) {
    auto t = (*ref)->store().begin_write();
    REQUIRE(t);
    auto d = (*ref)->store().db(db);
    REQUIRE(d);
    auto c = lmdb::cursor::open(*t, *d);
    REQUIRE(c);
    auto kv = c->first();
    REQUIRE((kv && *kv));
    const std::string key((*kv)->first), value((*kv)->second);
    *c = lmdb::cursor();
    change(*t, *d, key, value);
    REQUIRE(t->commit());
    return key;
  };
  auto key =
      edit("stats_type", [](lmdb::txn& t, lmdb::dbi& d, const std::string& k, std::string v) {
        v.back() ^= 1;
        REQUIRE(d.put(t, k, v));
      });
  auto diff = projections::first_difference(*f.runner, **ref, nullptr, "live", "rebuilt");
  REQUIRE(diff);
  REQUIRE(*diff);
  CHECK((*diff)->projection == "stats");
  CHECK((*diff)->database == "stats_type");
  CHECK((*diff)->key == key);
  CHECK((*diff)->what == "values differ");

  key = edit("pending_ix", [](lmdb::txn& t, lmdb::dbi& d, const std::string& k,
                              const std::string&) { REQUIRE(d.del(t, k)); });
  diff = projections::first_difference(*f.runner, **ref, nullptr, "live", "rebuilt");
  REQUIRE((diff && *diff));
  CHECK((*diff)->projection == "pending");
  CHECK((*diff)->database == "pending_ix");
  CHECK((*diff)->key == key);
  CHECK((*diff)->what == "only in live");
  CHECK(projections::printable_key(std::string("ep\0\x01", 4)) == "ep\\x00\\x01");

  edit("sub_endpoints", [](lmdb::txn& t, lmdb::dbi& d, const std::string&, const std::string&) {
    REQUIRE(d.put(t, std::string(1, '\0'), "x"));
  });
  diff = projections::first_difference(*f.runner, **ref, nullptr, "live", "rebuilt");
  REQUIRE((diff && *diff));
  CHECK((*diff)->projection == "subscriptions");
  CHECK((*diff)->key == std::string(1, '\0'));
  CHECK((*diff)->what == "only in rebuilt");
}

TEST_CASE("the runner follows commits, gives read-your-writes and reports lag") {
  fixture f;
  f.runner->start();
  auto s = f.append(create_endpoint("t", "ep", {"*"}));
  REQUIRE(f.runner->wait_applied(s, std::chrono::seconds(5)));
  {
    auto t = f.read();
    CHECK(f.runner->subs().get(t, "ep")->has_value());
  }
  // Idle for a while, then a commit is seen promptly.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  auto start = std::chrono::steady_clock::now();
  auto e = f.append(event("t", "order_new"));
  REQUIRE(f.runner->wait_applied(e, std::chrono::seconds(5)));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::milliseconds(50));
  CHECK(f.runner->lag() == 0);
  CHECK_FALSE(f.runner->wait_applied(e + 1, std::chrono::milliseconds(20)));
  f.runner->stop();
  // Stopped: new commits are not applied until catch_up()/start().
  auto e2 = f.append(event("t", "order_new"));
  CHECK(f.runner->lag() == 1);
  f.runner->start();
  REQUIRE(f.runner->wait_applied(e2, std::chrono::seconds(5)));
  // State survives a restart.
  f.open_runner();
  CHECK(f.runner->applied_seq() == e2);
  auto t = f.read();
  auto c = f.runner->queue().counts(t, "ep");
  REQUIRE(c);
  CHECK(c->queued == 2);
}
