// The catch-up gate of slot_ownership (http/delivery/cluster/slot_ownership.hpp) over real slot
// leases against a real nats-server: a slot a node takes is worked only once the sequence the
// gate reads as "applied" reaches the stream's last sequence as of the taking; the dispatcher's
// listener runs when it opens. The two sequences are plain values the test sets (in `hooklog
// serve` they are the stream's state and the projection runner's applied seq, exercised end to
// end by tests/cluster/work_ownership_serve_test.cpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/cluster/nats.hpp"
#include "http/delivery/cluster/slot_ownership.hpp"
#include "support/eventually.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog;
using namespace hooklog::cluster;
using std::chrono::milliseconds;
using hooklog::test::eventually;

namespace {

std::unique_ptr<connection> connect(const test::nats_cluster& nats) {
  auto urls = parse_urls(nats.urls());
  REQUIRE(urls);
  connect_options co;
  co.urls = *urls;
  co.name = "gate-test";
  auto c = connection::connect(co);
  REQUIRE(c);
  return std::move(*c);
}

slot_lease_options fast() {
  slot_lease_options o;
  o.cell = "gate-test";
  o.node_id = "a";
  o.slots = 8;
  o.ttl = milliseconds(1500);
  o.heartbeat = milliseconds(250);
  o.fence_margin = milliseconds(500);
  return o;
}

}  // namespace

TEST_CASE("slot ownership: a taken slot is worked once the projections caught up",
          "[cluster][leases]") {
  test::nats_cluster nats(1);
  auto conn = connect(nats);
  auto l = slot_leases::open(conn->handle(), fast());
  REQUIRE(l);
  auto& leases = **l;
  std::atomic<std::uint64_t> applied{40};
  std::atomic<int> asked{0};
  std::atomic<bool> stream_up{false};  // the first asks fail: the slot waits until one answers
  http::catch_up_gate gate;
  gate.stream_last_seq = [&]() -> std::optional<std::uint64_t> {
    ++asked;
    if (!stream_up) return std::nullopt;
    return 100;
  };
  gate.applied_seq = [&] { return applied.load(); };
  http::slot_ownership own(leases, std::move(gate));
  std::atomic<int> changes{0};
  own.on_change([&] { ++changes; });
  leases.start();
  REQUIRE(eventually([&] { return leases.held().size() == 8; }, milliseconds(5000)));
  // Held but gated: the projections are at 40 and the stream could not be asked yet.
  CHECK_FALSE(own.owns("ep_1"));
  CHECK(own.gated() == 8);
  // The change itself is told (a round finds nothing owned yet), on the leases' thread just after
  // the held set changed: wait for it rather than read at once (0 once under ASan in CI).
  CHECK(eventually([&] { return changes.load() >= 1; }, milliseconds(2000)));
  const int changes_held = changes.load();
  stream_up = true;
  REQUIRE(eventually([&] { return asked.load() >= 2; }, milliseconds(2000)));
  std::this_thread::sleep_for(milliseconds(100));
  CHECK_FALSE(own.owns("ep_1"));  // the stream is at 100, the projections at 40
  CHECK(own.gated() == 8);
  applied = 99;
  std::this_thread::sleep_for(milliseconds(100));
  CHECK_FALSE(own.owns("ep_1"));
  applied = 100;
  REQUIRE(eventually([&] { return own.owns("ep_1"); }, milliseconds(2000)));
  CHECK(own.gated() == 0);
  CHECK(eventually([&] { return changes.load() > changes_held; }, milliseconds(2000)));
  own.stop();
  leases.stop(true);
}

TEST_CASE("slot ownership: without a gate a held slot is owned at once", "[cluster][leases]") {
  test::nats_cluster nats(1);
  auto conn = connect(nats);
  auto l = slot_leases::open(conn->handle(), fast());
  REQUIRE(l);
  http::slot_ownership own(**l);
  std::atomic<int> changes{0};
  own.on_change([&] { ++changes; });
  (*l)->start();
  REQUIRE(eventually([&] { return own.owns("ep_1"); }, milliseconds(5000)));
  CHECK(own.gated() == 0);
  CHECK(changes.load() >= 1);
  (*l)->stop(true);
  CHECK_FALSE(own.owns("ep_1"));
}
