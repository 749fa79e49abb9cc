// A child process appends through the group-commit writer and reports every
// acknowledged sequence number over a pipe (engine/acking_writer.hpp); it is killed
// with SIGKILL at a random moment. After reopening, every acknowledged record must be there and
// the chain must verify. Several cycles on the same data directory.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <thread>

#include "engine/acking_writer.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::temp_dir;

TEST_CASE("every acknowledged append survives SIGKILL, and the chain verifies", "[crash]") {
  temp_dir dir;
  std::mt19937 rng(20261123);
  std::vector<std::uint64_t> acked;
  std::uint64_t total_checked = 0;
  constexpr int kCycles = 6;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    log_options wo;
    wo.dir = dir.path();
    wo.sync = true;  // the real durability path
    test::acking_writer child(wo, [](int i) {
      const int t = i % test::acking_writer::kProducers;
      return make_event("t" + std::to_string(t), "crash.test", "e",
                        i / test::acking_writer::kProducers, std::string(512, 'c'));
    });
    std::vector<std::uint64_t> this_cycle;
    auto take = [&](std::uint64_t, std::uint64_t seq) {
      this_cycle.push_back(seq);
      return true;
    };
    // The kill timer starts at the first acknowledgement (a slow or loaded machine
    // may take a while to open the log), so every cycle kills mid-stream.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (this_cycle.empty() && std::chrono::steady_clock::now() < give_up) {
      child.drain(0, take);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE_FALSE(this_cycle.empty());
    const auto kill_at =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(rng));
    while (std::chrono::steady_clock::now() < kill_at) {
      child.drain(0, take);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(::kill(child.pid(), SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child.pid(), &status, 0) == child.pid());
    CHECK(WIFSIGNALED(status));
    child.drain(2000, take);
    acked.insert(acked.end(), this_cycle.begin(), this_cycle.end());

    log_options o;
    o.dir = dir.path();
    auto log = event_log::open(o);
    REQUIRE(log.ok());
    const std::uint64_t head = (*log)->head().seq;
    for (std::uint64_t s : acked) {
      REQUIRE(s <= head);
      auto r = (*log)->get(s);
      REQUIRE(r.ok());
      REQUIRE(r->has_value());
      CHECK((*r)->type == "crash.test");
    }
    auto rep = (*log)->verify();
    REQUIRE(rep.ok());
    CHECK(rep->ok);
    CHECK(rep->checked == head);
    total_checked += rep->checked;
    INFO("cycle " << cycle << ": " << this_cycle.size() << " acknowledged, head " << head);
  }
  CHECK(acked.size() > 0);
  WARN("crash test: " << kCycles << " SIGKILL cycles, " << acked.size()
                      << " acknowledged appends all found, " << total_checked
                      << " record checks in chain verification");
}
