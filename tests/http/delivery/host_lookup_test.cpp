// http/delivery/host_lookup.hpp: lookups on threads of their own, a name looked up once at a
// time, a name that hangs holding one thread only, and stop() not waiting for it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/delivery/host_lookup.hpp"
#include "http/delivery/lookup_gate.hpp"

using namespace hooklog;
using std::chrono::milliseconds;
using std::chrono::seconds;
using hooklog::test::lookup_gate;

namespace {

// One lookup's answer, waited for.
struct asked {
  std::promise<http::host_addresses> p;
  std::future<http::host_addresses> f = p.get_future();
  http::host_lookup::callback done() {
    return [this](const http::host_addresses& a) { p.set_value(a); };
  }
};

}  // namespace

TEST_CASE("host_lookup: a name that hangs holds one thread, other names are answered past it, "
          "and its repeats share its one call",
          "[host_lookup]") {
  auto gate = std::make_shared<lookup_gate>();
  http::host_lookup lookups(2, gate->fn());
  asked hang1, hang2, hang3, fast, missing;
  lookups.lookup("hang.test", hang1.done());
  lookups.lookup("hang.test", hang2.done());
  lookups.lookup("fast.test", fast.done());
  lookups.lookup("missing.test", missing.done());
  lookups.lookup("hang.test", hang3.done());

  REQUIRE(fast.f.wait_for(seconds(10)) == std::future_status::ready);
  const auto a = fast.f.get();
  CHECK(a.error.empty());
  CHECK(a.addresses == std::vector<std::string>{"127.0.0.1"});
  REQUIRE(missing.f.wait_for(seconds(10)) == std::future_status::ready);
  const auto m = missing.f.get();
  CHECK(m.addresses.empty());
  CHECK(m.error == "no such name");

  REQUIRE(gate->wait_entered("hang.test", 1, seconds(10)));
  CHECK(hang1.f.wait_for(milliseconds(0)) == std::future_status::timeout);
  CHECK(gate->calls("hang.test") == 1);  // three asked, one call

  gate->open();
  for (auto* h : {&hang1, &hang2, &hang3}) {
    REQUIRE(h->f.wait_for(seconds(10)) == std::future_status::ready);
    CHECK(h->f.get().addresses == std::vector<std::string>{"127.0.0.1"});
  }
  CHECK(gate->calls("hang.test") == 1);
  // Nothing is cached: asked again after its answer, the name is looked up again.
  asked again;
  lookups.lookup("hang.test", again.done());
  REQUIRE(again.f.wait_for(seconds(10)) == std::future_status::ready);
  CHECK(gate->calls("hang.test") == 2);
}

TEST_CASE("host_lookup: with one thread, a name waits behind the one that hangs", "[host_lookup]") {
  auto gate = std::make_shared<lookup_gate>();
  http::host_lookup lookups(1, gate->fn());
  asked hang, fast;
  lookups.lookup("hang.test", hang.done());
  REQUIRE(gate->wait_entered("hang.test", 1, seconds(10)));
  lookups.lookup("fast.test", fast.done());
  CHECK(fast.f.wait_for(milliseconds(300)) == std::future_status::timeout);
  CHECK(gate->calls("fast.test") == 0);
  gate->open();
  REQUIRE(hang.f.wait_for(seconds(10)) == std::future_status::ready);
  REQUIRE(fast.f.wait_for(seconds(10)) == std::future_status::ready);
  CHECK(fast.f.get().addresses == std::vector<std::string>{"127.0.0.1"});
}

TEST_CASE("host_lookup: stop() returns while a lookup hangs, and never calls its waiters",
          "[host_lookup]") {
  auto gate = std::make_shared<lookup_gate>();
  auto called = std::make_shared<std::atomic<int>>(0);
  {
    http::host_lookup lookups(2, gate->fn());
    lookups.lookup("hang.test", [called](const http::host_addresses&) { ++*called; });
    REQUIRE(gate->wait_entered("hang.test", 1, seconds(10)));
    const auto t0 = std::chrono::steady_clock::now();
    lookups.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < seconds(2));
    lookups.lookup("fast.test", [called](const http::host_addresses&) { ++*called; });
  }  // destroyed with the call still inside the lookup function
  gate->open();
  REQUIRE(gate->wait_returned("hang.test", 1, seconds(10)));
  CHECK(gate->calls("fast.test") == 0);
  // The thread has left the lookup function; give it the moment to reach the stopped check.
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(called->load() == 0);
}

TEST_CASE("host_lookup: the system lookup answers localhost and address literals from this host",
          "[host_lookup]") {
  // Both are answered without a name server (/etc/hosts, or no lookup at all for a literal).
  const auto local = http::system_lookup("localhost");
  INFO(local.error);
  REQUIRE(local.error.empty());
  REQUIRE_FALSE(local.addresses.empty());
  for (const auto& a : local.addresses) CHECK((a == "127.0.0.1" || a == "::1"));
  const auto literal = http::system_lookup("127.0.0.1");
  CHECK(literal.addresses == std::vector<std::string>{"127.0.0.1"});
  http::host_lookup lookups(1);
  asked via_thread;
  lookups.lookup("127.0.0.1", via_thread.done());
  REQUIRE(via_thread.f.wait_for(seconds(10)) == std::future_status::ready);
  CHECK(via_thread.f.get().addresses == std::vector<std::string>{"127.0.0.1"});
}
