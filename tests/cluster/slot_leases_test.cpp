// Slot leases (http/delivery/cluster/slot_leases.hpp) against a real nats-server with JetStream:
// two or three lease tables in one process, each on its own connection.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "engine/cluster/nats.hpp"
#include "http/delivery/cluster/slot_leases.hpp"
#include "support/eventually.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog;
using namespace hooklog::cluster;
using std::chrono::milliseconds;
using hooklog::test::eventually;

namespace {

constexpr std::uint32_t kSlots = 12;

slot_lease_options fast(const std::string& node) {
  slot_lease_options o;
  o.cell = "lease-test";
  o.node_id = node;
  o.slots = kSlots;
  o.ttl = milliseconds(1500);
  o.heartbeat = milliseconds(250);
  o.fence_margin = milliseconds(500);
  return o;
}

struct node {
  std::unique_ptr<connection> conn;
  std::unique_ptr<slot_leases> leases;
  node(const test::nats_cluster& nats, slot_lease_options o) {
    auto urls = parse_urls(nats.urls());
    REQUIRE(urls);
    connect_options co;
    co.urls = *urls;
    co.name = o.node_id;
    auto c = connection::connect(co);
    REQUIRE(c);
    conn = std::move(*c);
    auto l = slot_leases::open(conn->handle(), std::move(o));
    INFO((l ? std::string() : l.err().message));
    REQUIRE(l);
    leases = std::move(*l);
  }
  ~node() {
    leases.reset();  // before its connection
  }
  std::set<std::uint32_t> held() const {
    auto h = leases->held();
    return {h.begin(), h.end()};
  }
};

// A connection of its own to `nats` (the opens a test expects to be refused).
std::unique_ptr<connection> connect_to(const test::nats_cluster& nats) {
  auto urls = parse_urls(nats.urls());
  REQUIRE(urls);
  connect_options co;
  co.urls = *urls;
  auto c = connection::connect(co);
  REQUIRE(c);
  return std::move(*c);
}

// Every slot held by exactly one of the nodes.
bool partition(const std::vector<node*>& nodes) {
  std::set<std::uint32_t> all;
  std::size_t n = 0;
  for (auto* x : nodes) {
    auto h = x->held();
    n += h.size();
    all.insert(h.begin(), h.end());
  }
  return n == kSlots && all.size() == kSlots;
}

bool overlap(const node& a, const node& b) {
  for (std::uint32_t s = 0; s < kSlots; ++s)
    if (a.leases->holds(s) && b.leases->holds(s)) return true;
  return false;
}

}  // namespace

TEST_CASE("leases: slot_of is a stable FNV-1a hash", "[cluster][leases]") {
  CHECK(slot_leases::slot_of("ep_1", 64) == 36);
  CHECK(slot_leases::slot_of("ep_2", 64) == 61);
  CHECK(slot_leases::slot_of("orders-prod", 64) == 58);
  CHECK(slot_leases::slot_of("", 64) == 37);
}

TEST_CASE("leases: bad options and another slot count are refused", "[cluster][leases]") {
  test::nats_cluster nats(1);
  auto c = connect_to(nats);
  auto o = fast("a.b");
  auto bad = slot_leases::open(c->handle(), o);
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == make_error_code(lease_errc::bad_config));
  CHECK(bad.err().message == "node id 'a.b': use 1 to 64 letters, digits, '-' or '_'");
  o = fast("n1");
  o.ttl = milliseconds(600);
  bad = slot_leases::open(c->handle(), o);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message ==
        "lease ttl (600 ms) must exceed heartbeat (250 ms) + fence margin (500 ms)");
  {
    auto ok = slot_leases::open(c->handle(), fast("n1"));
    REQUIRE(ok);
  }
  o = fast("n2");
  o.slots = 32;
  bad = slot_leases::open(c->handle(), o);
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == make_error_code(lease_errc::bad_config));
  CHECK(bad.err().message ==
        "cell 'lease-test' splits delivery work into 12 slots, this node was started with 32");
}

TEST_CASE("leases: another lease TTL, another secret key or a node id in use is refused",
          "[cluster][leases]") {
  // A node with a longer TTL kept its slots after one with a shorter TTL took them (both
  // delivered, measured 3 s); two nodes with one id both held every slot, for good.
  test::nats_cluster nats(1);
  auto keyed = [](const std::string& id, const std::string& key) {
    auto o = fast(id);
    o.key_check = key;
    return o;
  };
  node n1(nats, keyed("n1", "check-1"));
  n1.leases->start();
  auto c = connect_to(nats);
  auto o = keyed("n2", "check-1");
  o.ttl = milliseconds(2000);
  auto bad = slot_leases::open(c->handle(), o);
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == make_error_code(lease_errc::bad_config));
  CHECK(bad.err().message ==
        "cell 'lease-test' runs with a lease TTL of 1500 ms, this node was started with 2000 ms "
        "(--lease-ttl-ms): every node must use the same");
  bad = slot_leases::open(c->handle(), keyed("n2", "check-2"));
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message ==
        "cell 'lease-test' was started with another --secret-key than this node: its endpoint "
        "secrets and tree heads would not open or verify here");
  // Once n1 heartbeats (it has taken slots), a second process under its id is refused.
  REQUIRE(eventually([&] { return !n1.held().empty(); }));
  bad = slot_leases::open(c->handle(), keyed("n1", "check-1"));
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == make_error_code(lease_errc::bad_config));
  CHECK(bad.err().message.rfind("node id 'n1' is in use by a live node of cell 'lease-test'", 0) ==
        0);
  CHECK(eventually([&] { return n1.held().size() == kSlots; }));  // the live one keeps them
  // Stopped cleanly, its id is free at once; a node with the cell's settings joins.
  n1.leases.reset();
  auto again = slot_leases::open(c->handle(), keyed("n1", "check-1"));
  REQUIRE(again);
  node n2(nats, keyed("n2", "check-1"));
}

TEST_CASE("leases: three nodes split the slots evenly, a dead one's are taken over",
          "[cluster][leases]") {
  test::nats_cluster nats(1);
  node a(nats, fast("a")), b(nats, fast("b")), c(nats, fast("c"));
  a.leases->start();
  b.leases->start();
  c.leases->start();
  REQUIRE(eventually(
      [&] {
        return partition({&a, &b, &c}) && a.held().size() == 4 && b.held().size() == 4;
      },
      milliseconds(15000)));
  CHECK(c.held().size() == 4);

  // c stops heart-beating without releasing (a crash, as far as the bucket can tell).
  const auto c_slots = c.held();
  const auto t0 = std::chrono::steady_clock::now();
  c.leases->stop(false);
  REQUIRE(eventually([&] { return partition({&a, &b}); }, milliseconds(1500 + 5000)));
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  WARN("takeover of a dead node's slots: " << took.count()
                                           << " ms (ttl 1500 ms, heartbeat 250 ms)");
  CHECK(a.held().size() == 6);
  CHECK(b.held().size() == 6);
  CHECK(c.held().empty());  // fenced by its own clock
  CHECK(a.leases->stats().taken_over + b.leases->stats().taken_over == c_slots.size());
  CHECK(a.leases->stats().live_nodes == 2);
}

TEST_CASE("leases: a joining node gets its share, a clean stop hands over at once",
          "[cluster][leases]") {
  test::nats_cluster nats(1);
  node a(nats, fast("a"));
  a.leases->start();
  REQUIRE(eventually([&] { return a.held().size() == kSlots; }, milliseconds(5000)));
  node b(nats, fast("b"));
  b.leases->start();
  REQUIRE(eventually(
      [&] {
        return partition({&a, &b}) && a.held().size() == 6;
      },
      milliseconds(10000)));
  CHECK(b.held().size() == 6);
  CHECK(a.leases->stats().released >= 6);

  b.leases->stop(true);  // releases its slots and its heartbeat key
  REQUIRE(eventually([&] { return a.held().size() == kSlots; }, milliseconds(5000)));
  CHECK(a.leases->stats().taken_over == 0);  // freed slots, not taken from a dead holder
}

TEST_CASE("leases: two nodes taking at once never both hold a slot", "[cluster][leases]") {
  test::nats_cluster nats(1);
  node a(nats, fast("a")), b(nats, fast("b"));
  // Both tick at the same moment before either saw the other: both want every slot; the
  // compare-and-set lets one win each.
  std::thread ta([&] { (void)a.leases->tick(); });
  std::thread tb([&] { (void)b.leases->tick(); });
  ta.join();
  tb.join();
  CHECK_FALSE(overlap(a, b));
  CHECK(a.held().size() + b.held().size() == kSlots);
  WARN("CAS conflicts: " << a.leases->stats().cas_conflicts + b.leases->stats().cas_conflicts);
  for (int i = 0; i < 40 && !(a.held().size() == 6 && b.held().size() == 6); ++i) {
    (void)a.leases->tick();
    CHECK_FALSE(overlap(a, b));
    (void)b.leases->tick();
    CHECK_FALSE(overlap(a, b));
    std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(a.held().size() == 6);
  CHECK(b.held().size() == 6);
}

TEST_CASE("leases: a paused holder fences itself before the other takes over, then shares again",
          "[cluster][leases]") {
  test::nats_cluster nats(1);
  node a(nats, fast("a")), b(nats, fast("b"));
  // Driven by hand: one heartbeat every 250 ms for each, a's stop while it is "paused".
  auto beat = [&](bool a_beats) {
    if (a_beats) {
      (void)a.leases->tick();
      REQUIRE_FALSE(overlap(a, b));
    }
    (void)b.leases->tick();
    REQUIRE_FALSE(overlap(a, b));
  };
  for (int i = 0; i < 40 && !(a.held().size() == 6 && b.held().size() == 6); ++i) {
    beat(true);
    std::this_thread::sleep_for(milliseconds(250));
  }
  REQUIRE(a.held().size() == 6);
  const auto a_slots = a.held();

  // a pauses (no heartbeat): its slots must read as not held before b may hold any of them.
  std::int64_t fenced_at = -1, taken_at = -1;
  const auto t0 = std::chrono::steady_clock::now();
  auto ms = [&] {
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int i = 0; i < 400 && b.held().size() < kSlots; ++i) {
    if (i % 25 == 0) beat(false);
    if (fenced_at < 0 && a.held().empty()) fenced_at = ms();
    if (taken_at < 0)
      for (auto s : a_slots)
        if (b.leases->holds(s)) taken_at = ms();
    REQUIRE_FALSE(overlap(a, b));
    std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE(b.held().size() == kSlots);
  REQUIRE(fenced_at >= 0);
  CHECK(fenced_at < taken_at);
  WARN("paused holder: fenced after " << fenced_at << " ms, taken over after " << taken_at
                                      << " ms (ttl 1500, margin 500)");

  // a comes back: its first heartbeat is late, so it drops everything and takes its share again
  // only from what b releases.
  for (int i = 0; i < 40 && !(a.held().size() == 6 && b.held().size() == 6); ++i) {
    beat(true);
    std::this_thread::sleep_for(milliseconds(250));
  }
  CHECK(a.held().size() == 6);
  CHECK(b.held().size() == 6);
  CHECK(a.leases->stats().fenced == 1);
}
