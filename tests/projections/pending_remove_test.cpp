// The pending queue after a long mix of events, deliveries, retries, dead letters, disables and
// enables applied in batches of varying size: every listing equals what a model of the queue
// predicts, and a rebuild writes the same state key for key. The removes of a batch go through
// cursors kept open across the batch (projections/pending.cpp), among puts and deletes of the
// same databases by other paths, and items both staged in the batch and written by earlier ones.
// And the due order's appends fill LMDB's pages as MDB_APPEND alone does (pending::append_due).
#include <lmdb.h>
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

record at(record r, std::int64_t recorded_at) {
  r.recorded_at = recorded_at;
  return r;
}

struct model_item {
  std::int64_t due = 0;
  std::uint32_t attempt = 1;
  bool parked = false;
};
using model = std::map<std::pair<std::string, std::uint64_t>, model_item>;
// (due, seq, endpoint, attempt, parked)
using row = std::tuple<std::int64_t, std::uint64_t, std::string, std::uint32_t, bool>;

const std::vector<std::string> kEps = {"ep-a", "ep-ab", "ep-b"};

void check_against(fixture& f, const model& m, const std::map<std::string, std::uint64_t>& dead) {
  auto t = f.read();
  auto& q = f.runner->queue();
  std::vector<row> want_due;
  for (const auto& ep : kEps) {
    std::vector<row> want, got;
    projections::pending_counts c;
    for (const auto& [k, it] : m) {
      if (k.first != ep) continue;
      want.emplace_back(it.due, k.second, ep, it.attempt, it.parked);
      ++(it.parked ? c.parked : c.queued);
      if (!it.parked) want_due.emplace_back(it.due, k.second, ep, it.attempt, false);
    }
    auto items = q.items_for(t, ep, 0, 100'000);
    REQUIRE(items);
    for (const auto& it : *items)
      got.emplace_back(it.due_us, it.event_seq, it.endpoint_id, it.attempt, it.parked);
    CHECK(got == want);
    auto n = q.counts(t, ep);
    REQUIRE(n);
    CHECK(n->queued == c.queued);
    CHECK(n->parked == c.parked);
    auto d = dead.find(ep);
    CHECK(n->dead == (d == dead.end() ? 0 : d->second));
  }
  std::sort(want_due.begin(), want_due.end());
  auto due = q.due_items(t, INT64_MAX, 100'000);
  REQUIRE(due);
  std::vector<row> got_due;
  for (const auto& it : *due)
    got_due.emplace_back(it.due_us, it.event_seq, it.endpoint_id, it.attempt, it.parked);
  CHECK(got_due == want_due);
  auto next = q.next_due(t);
  REQUIRE(next);
  if (want_due.empty())
    CHECK_FALSE(*next);
  else
    CHECK(**next == std::get<0>(want_due.front()));
}

}  // namespace

TEST_CASE(
    "pending: removes in batches of every size leave the listings a model of the queue predicts") {
  constexpr std::int64_t T = 1'707'500'000'000'000;
  fixture f;
  for (const auto& ep : kEps) f.append(at(create_endpoint("t", ep, {"*"}), T));
  f.sync();
  std::mt19937_64 rng(17);
  model m;
  std::map<std::string, std::uint64_t> dead;
  std::set<std::string> disabled;
  std::int64_t now = T;
  std::size_t unsynced = 0, removes = 0, retries = 0, toggles = 0;
  for (int step = 0; step < 1500; ++step) {
    now += 10;
    const auto r = rng() % 100;
    if (r < 35 || m.empty()) {
      const auto seq = f.append(at(event("t", "order_new"), now));
      for (const auto& ep : kEps)
        if (!disabled.count(ep)) m[{ep, seq}] = {now, 1, false};
    } else if (r < 95) {
      auto it = m.begin();
      // Mostly the oldest items, as the dispatcher delivers them; sometimes any.
      std::advance(it,
                   rng() % 4 == 0 ? rng() % m.size() : rng() % std::min<std::size_t>(m.size(), 4));
      const auto [ep, seq] = it->first;
      const auto item = it->second;
      const auto o = rng() % 20;
      if (o < 11) {  // delivered
        f.append(at(attempt("t", ep, seq, item.attempt, true, std::nullopt), now));
        m.erase(it);
      } else if (o < 17) {  // failed, retried later (sometimes at a due time already used)
        const std::int64_t next = now + 10 * static_cast<std::int64_t>(rng() % 50);
        f.append(at(attempt("t", ep, seq, item.attempt, false, next), now));
        it->second = {next, item.attempt + 1, disabled.count(ep) > 0};
        ++retries;
      } else {  // dead-lettered
        f.append(at(attempt("t", ep, seq, item.attempt, false, std::nullopt, true), now));
        m.erase(it);
        ++dead[ep];
      }
      ++removes;
    } else {
      const auto& ep = kEps[rng() % kEps.size()];
      const bool disable = !disabled.count(ep);
      f.append(at(
          endpoint_record(disable ? record_kind::endpoint_disabled : record_kind::endpoint_enabled,
                          "t", ep, json::object()),
          now));
      for (auto& [k, it] : m) {
        if (k.first != ep) continue;
        it.parked = disable;
        if (!disable) it.due = std::max(it.due, now);
      }
      if (disable)
        disabled.insert(ep);
      else
        disabled.erase(ep);
      ++toggles;
    }
    if (++unsynced >= 1 + rng() % 40) {  // batches of 1 to 40 records
      f.sync();
      unsynced = 0;
      if (step % 50 < 2) check_against(f, m, dead);
    }
  }
  f.sync();
  check_against(f, m, dead);
  CHECK(removes > 800);
  CHECK(retries > 200);
  CHECK(toggles > 40);

  // The same state, key for key, when rebuilt in batches of one record and in one batch.
  const auto dbs = all_state_dbs(*f.runner);
  const auto incremental = dump_state(*f.runner, dbs);
  for (std::size_t batch : {1, 100'000}) {
    f.ropts.batch_records = batch;
    f.open_runner();
    REQUIRE(f.runner->rebuild("pending"));
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
}

TEST_CASE("pending: the due order's appends fill every leaf page as MDB_APPEND alone does") {
  constexpr std::int64_t T = 1'707'500'000'000'000;
  fixture f;
  // Events matched by one, two or three endpoints: due values of three sizes.
  f.append(at(create_endpoint("t", "ep-a", {"*"}), T));
  f.append(at(create_endpoint("t", "ep-b", {"b.*", "c.*"}), T));
  f.append(at(create_endpoint("t", "ep-c-with-a-longer-id", {"c.*"}), T));
  std::mt19937_64 rng(4);
  std::vector<record> events;
  for (int i = 0; i < 6000; ++i)
    events.push_back(at(event("t", std::string(1, "abc"[rng() % 3]) + ".x"), T + 10 * i));
  f.append_all(std::move(events));
  for (std::size_t batch : {100'000, 1, 777}) {
    f.ropts.batch_records = batch;
    f.open_runner();
    REQUIRE(f.runner->rebuild("pending"));
    const auto dump = dump_state(*f.runner, {"pending_due"}).at("pending_due");
    REQUIRE(dump.size() == 6000);
    auto t = f.read();
    auto db = f.runner->store().db("pending_due");
    REQUIRE(db);
    MDB_stat st{};
    REQUIRE(mdb_stat(t.handle(), db->handle(), &st) == 0);
    // Appends that start a new page only when the node does not fit the last one: each leaf
    // as full as it gets.
    const std::size_t room = st.ms_psize - 16;
    std::size_t pages = 0, free = 0;
    for (const auto& [k, v] : dump) {
      const std::size_t node = ((8 + k.size() + v.size() + 1) & ~std::size_t{1}) + 2;
      if (pages == 0 || node > free) ++pages, free = room;
      free -= node;
    }
    CHECK(st.ms_leaf_pages == pages);
    CHECK(st.ms_overflow_pages == 0);
  }
}
