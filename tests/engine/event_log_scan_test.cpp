// event_log::scan with an examine bound (scan_query::examine_limit, scan_stop): every driving
// index, both directions, over a log where the matches are sparse.
#include <algorithm>

#include <catch2/catch.hpp>

#include "engine/event_log.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::append_one;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

constexpr int kEvents = 400;

// Tenant "rare" every 37th event (else "bulk"), type "rare.t" every 41st (else a.x / a.y),
// entities E0..E9, occurred times descending; then 60 delivery attempts of event 5, on two
// endpoints, tenant "rare" every 13th.
void fill(event_log& log) {
  std::vector<record> batch;
  for (int i = 0; i < kEvents; ++i) {
    batch.push_back(make_event(i % 37 == 0 ? "rare" : "bulk",
                               i % 41 == 0 ? "rare.t" : (i % 2 ? "a.x" : "a.y"),
                               "E" + std::to_string(i % 10), 1'000'000 - i * 1000));
    if (batch.size() == 9) {
      log.append(batch);
      batch.clear();
    }
  }
  log.append(batch);
  for (int i = 0; i < 60; ++i) {
    record a;
    a.kind = record_kind::delivery_attempt;
    a.tenant = i % 13 == 0 ? "rare" : "bulk";
    a.entity_kind = "endpoint";
    a.entity_id = i % 2 ? "ep_1" : "ep_2";
    a.ref_seq = 5;
    a.body = "{}";
    append_one(log, a);
  }
}

std::vector<std::uint64_t> all_matches(const event_log& log, const scan_query& q) {
  scan_stop stop;
  auto out = test::scan_seqs(log, q, &stop);
  CHECK_FALSE(stop.bounded);
  return out;
}

struct bounded_walk {
  std::vector<std::uint64_t> seqs;  // the matches of every call, in order
  std::size_t calls = 0;
};

// Follows the resume positions of scans bounded to `limit` until one is not stopped by it.
bounded_walk walk_bounded(const event_log& log, scan_query q, std::uint64_t limit) {
  bounded_walk w;
  q.examine_limit = limit;
  for (;;) {
    REQUIRE(w.calls < 10 * kEvents);  // each call moves on
    ++w.calls;
    std::size_t matched = 0;
    scan_stop stop;
    stop.resume = "stale";  // reset by the scan
    auto n = log.scan(
        q,
        [&](const record_view& v, std::string_view) {
          w.seqs.push_back(v.seq);
          ++matched;
          return true;
        },
        &stop);
    REQUIRE(n.ok());
    CHECK(*n == matched);
    CHECK(matched <= limit);  // a match is a record examined
    if (!stop.bounded) {
      CHECK(stop.resume.empty());
      return w;
    }
    REQUIRE_FALSE(stop.resume.empty());
    CHECK(stop.resume != q.after);
    q.after = stop.resume;
  }
}

}  // namespace

TEST_CASE("a bounded scan examines at most N records a call and resumes to every match once",
          "[log][scan]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  fill(*log);
  REQUIRE(log->head().seq == kEvents + 60);

  scan_query ev;
  ev.kind = record_kind::event_received;
  // name, query, and the query of its driving walk alone (every record the walk examines).
  struct named {
    const char* name;
    scan_query q, walk;
  };
  std::vector<named> cases;
  {  // records in seq order (no kind), by tenant
    scan_query q;
    q.tenant = "rare";
    cases.push_back({"seq order by tenant", q, scan_query{}});
  }
  {  // the tenant index, by type glob
    auto q = ev, w = ev;
    q.tenant = w.tenant = "bulk";
    q.type = "rare.*";
    cases.push_back({"tenant index by type", q, w});
  }
  {  // the type index, by tenant
    auto q = ev, w = ev;
    q.type = w.type = "a.x";
    q.tenant = "rare";
    cases.push_back({"type index by tenant", q, w});
  }
  {  // one entity's records, by type
    auto q = ev, w = ev;
    q.entity_kind = w.entity_kind = "order";
    q.entity_id = w.entity_id = "E4";
    q.type = "rare.t";
    cases.push_back({"entity index (one entity) by type", q, w});
  }
  {  // every entity of a kind (GET /v1/attempts without endpoint_id), by tenant
    scan_query q, w;
    q.kind = w.kind = record_kind::delivery_attempt;
    q.entity_kind = w.entity_kind = "endpoint";
    q.tenant = "rare";
    cases.push_back({"entity index (every endpoint) by tenant", q, w});
  }
  {  // occurred time, by type glob
    auto q = ev, w = ev;
    q.occurred_from = w.occurred_from = 1'000'000 - 350 * 1000;
    q.occurred_to = w.occurred_to = 1'000'000 - 20 * 1000;
    q.type = "rare*";
    cases.push_back({"occurred index by type", q, w});
  }
  {  // the attempts of one event, by tenant
    scan_query q, w;
    q.ref_seq = w.ref_seq = 5;
    q.tenant = "rare";
    cases.push_back({"ref index by tenant", q, w});
  }

  std::vector<std::vector<std::uint64_t>> ascending(cases.size());
  for (bool desc : {false, true}) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      auto& c = cases[i];
      c.q.descending = c.walk.descending = desc;
      const auto expected = all_matches(*log, c.q);
      const auto walked = all_matches(*log, c.walk).size();
      INFO(c.name << (desc ? ", descending" : ", ascending") << ": " << expected.size()
                  << " matches in a walk of " << walked);
      REQUIRE(!expected.empty());
      REQUIRE(expected.size() * 4 < walked);  // sparse
      if (!desc) ascending[i] = expected;  // the index's order: seq, entity or occurred time
      else CHECK(std::equal(expected.begin(), expected.end(), ascending[i].rbegin(),
                            ascending[i].rend()));
      for (std::uint64_t limit : {1, 7, 50, 100000}) {
        INFO("examine_limit " << limit);
        const auto w = walk_bounded(*log, c.q, limit);
        CHECK(w.seqs == expected);
        // Exactly the walk's length over the calls: each call examined `limit` records
        // (the last one the rest), never more.
        CHECK(w.calls == std::max<std::size_t>(1, (walked + limit - 1) / limit));
      }
    }
  }
}

TEST_CASE("a bounded scan stops only for the bound, and not without one", "[log][scan]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  fill(*log);
  scan_query q;
  q.kind = record_kind::event_received;
  q.tenant = "bulk";  // the tenant index: every entry matches

  SECTION("the callback ending the scan is not the bound") {
    q.examine_limit = 10;
    scan_stop stop;
    int seen = 0;
    auto n = log->scan(q, [&](const record_view&, std::string_view) { return ++seen < 3; }, &stop);
    REQUIRE(n.ok());
    CHECK(*n == 3);
    CHECK_FALSE(stop.bounded);
  }
  SECTION("the bound stops after exactly N matches and resumes at the Nth") {
    q.examine_limit = 10;
    scan_stop stop;
    std::vector<std::string> positions;
    auto n = log->scan(
        q,
        [&](const record_view&, std::string_view pos) {
          positions.emplace_back(pos);
          return true;
        },
        &stop);
    REQUIRE(n.ok());
    CHECK(*n == 10);
    CHECK(stop.bounded);
    CHECK(stop.resume == positions.back());
  }
  SECTION("a walk of exactly N records ends unbounded") {
    q.to_seq = 12;  // seq 1 is event 0 (rare): 11 bulk events
    q.examine_limit = 11;
    scan_stop stop;
    auto n = log->scan(q, [](const record_view&, std::string_view) { return true; }, &stop);
    REQUIRE(n.ok());
    CHECK(*n == 11);
    CHECK_FALSE(stop.bounded);
  }
  SECTION("no bound: the whole walk") {
    scan_stop stop;
    auto n = log->scan(q, [](const record_view&, std::string_view) { return true; }, &stop);
    REQUIRE(n.ok());
    CHECK(*n == kEvents - (kEvents + 36) / 37);
    CHECK_FALSE(stop.bounded);
  }
}
