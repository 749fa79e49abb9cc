// The benchmarks' CPU by thread (tools/bench_threads.hpp), on this test process's own threads.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <time.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "engine/thread_name.hpp"
#include "tools/bench_threads.hpp"

using namespace hooklog;

TEST_CASE("thread_usage_between reports a named thread's CPU and sums threads of one name") {
  const auto before = bench::thread_snapshot(::getpid());
  REQUIRE(!before.empty());
  // Two threads of one name, started after the first snapshot, each on a CPU for about 60 ms
  // (their own clock), then idle until the second snapshot.
  std::atomic<int> done{0};
  std::atomic<bool> release{false};
  auto spin = [&] {
    set_thread_name("bench-spin");
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    volatile unsigned x = 0;
    for (;;) {
      for (int i = 0; i < 10000; ++i) x = x + static_cast<unsigned>(i);
      timespec ts{};
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      if (ts.tv_sec > 0 || ts.tv_nsec >= 60'000'000) break;
      if (std::chrono::steady_clock::now() > give_up) break;
    }
    ++done;
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::thread a(spin), b(spin);
  while (done.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto after = bench::thread_snapshot(::getpid());
  release = true;
  a.join();
  b.join();

  const auto u = bench::thread_usage_between(before, after);
  REQUIRE(u.cpu_s_by_name.count("bench-spin") == 1);
  const double spun = u.cpu_s_by_name.at("bench-spin");
  INFO("bench-spin: " << spun << " s on a CPU; all threads " << u.cpu_s << " s");
  CHECK(spun >= 0.11);  // two threads, at least 60 ms each (counted from zero: both are new)
  CHECK(spun < 5.0);
  CHECK(u.cpu_s >= spun);
  CHECK(u.max_wait_s >= 0);
  // A snapshot of a process that is not there is empty.
  CHECK(bench::thread_snapshot(0).empty());
}

TEST_CASE("us_per_unit_by_name lists names by CPU per unit, largest first, tiny ones left out") {
  const std::map<std::string, double> cpu = {
      {"http-io", 0.001}, {"log-writer", 0.0025}, {"idle", 1e-9}};
  CHECK(bench::us_per_unit_by_name(cpu, 1000) == "log-writer 2.5, http-io 1.0");
  CHECK(bench::us_per_unit_by_name(cpu, 0).empty());
  CHECK(bench::us_per_unit_by_name({}, 1000).empty());
}
