// scan_replay_chunk: one step examines at most max_examine records of the walk, whatever filters
// them out (here an occurred-time range, filtered inside event_log::scan).
#include <catch2/catch.hpp>

#include "engine/event_log.hpp"
#include "http/delivery/replay_manager.hpp"
#include "projections/filter.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using namespace hooklog::test;

TEST_CASE("replay scan: an occurred-time range over many events outside it takes several steps",
          "[delivery][replay]") {
  temp_dir d;
  auto l = event_log::open({.dir = (d / "log").string(), .sync = false});
  REQUIRE(l);
  auto& log = **l;
  std::vector<record> rs;
  for (int i = 0; i < 100; ++i) {
    record r;
    r.kind = record_kind::event_received;
    r.tenant = "acme";
    r.source = "standard";
    r.type = "order.updated";
    r.occurred_at = (i < 95 ? 1'000'000 : 5'000'000) + i;  // the last 5 in the range
    r.body = "{}";
    rs.push_back(std::move(r));
  }
  std::vector<std::uint64_t> seqs;
  for (auto& o : log.append(rs)) {
    REQUIRE(o);
    seqs.push_back(o->seq);
  }
  projections::endpoint ep;
  ep.id = "ep";
  ep.tenant = "acme";
  ep.events = {*projections::parse_type_pattern("*", "events")};
  http::replay_spec spec;
  spec.endpoint_id = "ep";
  spec.tenant = "acme";
  spec.occurred = true;
  spec.from = 4'000'000;
  spec.to_seq = log.committed_seq();
  std::vector<std::uint64_t> scheduled, stops;
  std::uint64_t next = 1;
  for (int steps = 0; steps < 100; ++steps) {
    auto c = http::scan_replay_chunk(log, spec, ep, next, 1000, 30);
    REQUIRE(c);
    CHECK(c->scanned_to >= next);
    scheduled.insert(scheduled.end(), c->scheduled.begin(), c->scheduled.end());
    stops.push_back(c->scanned_to);
    next = c->scanned_to + 1;
    if (c->done) break;
  }
  // 30 records a step: stops at the 30th, 60th, 90th, then the end (before: one step to the end,
  // every record walked in one read transaction).
  CHECK(stops == std::vector<std::uint64_t>{seqs[29], seqs[59], seqs[89], spec.to_seq});
  CHECK(scheduled == std::vector<std::uint64_t>(seqs.begin() + 95, seqs.end()));
}
