// min_seq_waiter (http/min_seq_waiter.hpp): requests waiting for a seq are answered when the log
// applies it, at their deadline, or at stop(), on the waiter's thread; past max_waiters at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/log_test_util.hpp"
#include "http/min_seq_waiter.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using namespace std::chrono_literals;
using hooklog::http::min_seq_waiter;
using hooklog::test::append_one;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

TEST_CASE("min_seq_waiter: answered when the seq is applied, at the deadline, or at stop",
          "[api][min_seq]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  min_seq_waiter w(*log, 3);
  const auto caller = std::this_thread::get_id();
  std::atomic<std::uint64_t> got_at{0};
  std::atomic<bool> on_other_thread{false}, expired{false};
  std::atomic<std::uint64_t> expired_at{UINT64_MAX};
  w.wait(2, min_seq_waiter::clock::now() + 10s, [&](std::uint64_t applied) {
    on_other_thread = std::this_thread::get_id() != caller;
    got_at = applied;
  });
  CHECK(w.waiting() == 1);
  std::this_thread::sleep_for(50ms);
  CHECK(got_at == 0);  // nothing applied yet
  append_one(*log, make_event("t", "a", "o1", 1));
  append_one(*log, make_event("t", "a", "o2", 2));
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (got_at == 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  CHECK(got_at >= 2);
  CHECK(on_other_thread);
  // A seq that does not come: answered at its deadline, with the seq applied then.
  const auto registered = std::chrono::steady_clock::now();
  w.wait(1000, min_seq_waiter::clock::now() + 200ms, [&](std::uint64_t applied) {
    expired_at = applied;
    expired = true;
  });
  while (!expired && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  CHECK(expired_at == 2);
  CHECK(std::chrono::steady_clock::now() - registered >= 200ms);

  // Past max_waiters (3), at once on the caller's thread.
  std::atomic<int> stopped{0};
  for (int i = 0; i < 3; ++i)
    w.wait(5000, min_seq_waiter::clock::now() + 60s, [&](std::uint64_t) { ++stopped; });
  bool inline_call = false;
  w.wait(5000, min_seq_waiter::clock::now() + 60s, [&](std::uint64_t applied) {
    inline_call = std::this_thread::get_id() == caller && applied == 2;
  });
  CHECK(inline_call);
  // stop() answers the three still waiting, long before their deadline.
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  CHECK(stopped == 3);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  bool after_stop = false;
  w.wait(1, min_seq_waiter::clock::now() + 60s, [&](std::uint64_t) { after_stop = true; });
  CHECK(after_stop);
}
