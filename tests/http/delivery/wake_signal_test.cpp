// The dispatcher thread's wake-up (http/delivery/wake_signal.hpp): take() reports a notify()
// once; a wait returns at once when one is pending and keeps it pending; a wait with nothing
// pending lasts its limit; and no notify() is lost between a take() and the next wait, with
// notifiers on other threads (the waiter would sleep the full minute and the test time out).
#include "http/delivery/wake_signal.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using hooklog::http::wake_signal;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

TEST_CASE("wake signal: take reports a notify once", "[wake_signal]") {
  wake_signal w;
  CHECK_FALSE(w.take());
  w.notify();
  w.notify();  // two notifies before a take are one wake-up
  CHECK(w.take());
  CHECK_FALSE(w.take());
}

TEST_CASE("wake signal: a pending notify ends the wait at once and stays pending",
          "[wake_signal]") {
  wake_signal w;
  w.notify();
  auto t0 = steady::now();
  w.wait_for(std::chrono::microseconds(std::chrono::seconds(60)));
  CHECK(steady::now() - t0 < 5s);
  CHECK(w.take());  // the wait did not consume it
}

TEST_CASE("wake signal: with nothing pending a wait lasts about its limit", "[wake_signal]") {
  wake_signal w;
  auto t0 = steady::now();
  // Early returns are allowed; the waiter loops until its limit, as the dispatcher does.
  while (steady::now() - t0 < 30ms) w.wait_for(std::chrono::microseconds(30'000));
  auto took = steady::now() - t0;
  CHECK(took >= 30ms);
  CHECK(took < 5s);
  CHECK_FALSE(w.take());
}

TEST_CASE("wake signal: a notify from another thread wakes a sleeping waiter", "[wake_signal]") {
  wake_signal w;
  std::thread n([&] {
    std::this_thread::sleep_for(20ms);
    w.notify();
  });
  auto t0 = steady::now();
  while (!w.take()) w.wait_for(std::chrono::microseconds(std::chrono::seconds(60)));
  CHECK(steady::now() - t0 < 30s);
  n.join();
}

TEST_CASE("wake signal: no notify lost between take and wait (3 notifiers)", "[wake_signal]") {
  // Each notifier bumps its counter, then notifies; the waiter, after each take(), reads the
  // counters; it only waits when it has seen everything. A lost wake-up leaves it asleep with
  // a count unseen: the 60 s wait would show as the run's time.
  wake_signal w;
  constexpr int kThreads = 3, kEach = 20'000;
  std::atomic<int> done{0};
  std::vector<std::atomic<int>> counts(kThreads);
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i)
    ts.emplace_back([&, i] {
      for (int k = 0; k < kEach; ++k) {
        counts[i].fetch_add(1, std::memory_order_release);
        w.notify();
        if (k % 64 == 0) std::this_thread::yield();
      }
      done.fetch_add(1);
    });
  auto t0 = steady::now();
  int seen = 0, wakes = 0;
  while (seen < kThreads * kEach) {
    if (w.take()) ++wakes;
    int total = 0;
    for (auto& c : counts) total += c.load(std::memory_order_acquire);
    if (total > seen) {
      seen = total;
      continue;
    }
    w.wait_for(std::chrono::microseconds(std::chrono::seconds(60)));
  }
  for (auto& t : ts) t.join();
  CHECK(seen == kThreads * kEach);
  CHECK(wakes >= 1);
  CHECK(steady::now() - t0 < 30s);
}
