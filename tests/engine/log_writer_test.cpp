#include "engine/log_writer.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

TEST_CASE("many producers, grouped commits, every append answered once", "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  constexpr int kThreads = 8, kPerThread = 500;
  std::atomic<int> answered{0};
  std::mutex m;
  std::set<std::uint64_t> seqs;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto o = writer.append(make_event("t" + std::to_string(t), "x", "e", i));
        REQUIRE(o.ok());
        std::lock_guard g(m);
        seqs.insert(o->seq);
        answered++;
      }
    });
  for (auto& p : producers) p.join();
  CHECK(answered == kThreads * kPerThread);
  CHECK(seqs.size() == kThreads * kPerThread);
  CHECK(*seqs.rbegin() == kThreads * kPerThread);
  const auto st = writer.stats();
  CHECK(st.records == kThreads * kPerThread);
  CHECK(st.groups <= st.records);
  CHECK(log->verify()->ok);
}

TEST_CASE("asynchronous submissions are grouped and answered in order", "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  std::vector<std::future<log_writer::outcomes>> futures;
  for (int i = 0; i < 1000; ++i) {
    std::vector<record> b{make_event("t", "x", "e", i), make_event("t", "y", "e", i)};
    futures.push_back(writer.submit(std::move(b)));
  }
  std::uint64_t expect = 1;
  for (auto& f : futures) {
    auto o = f.get();
    REQUIRE(o.size() == 2);
    CHECK(o[0]->seq == expect);
    CHECK(o[1]->seq == expect + 1);
    expect += 2;
  }
  const auto st = writer.stats();
  CHECK(st.groups < 1000);  // some grouping happened
  CHECK(st.max_group > 2);
}

TEST_CASE("after stop, submissions fail with writer_stopped", "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  REQUIRE(writer.append(make_event("t", "x", "e", 1)).ok());
  writer.stop();
  auto o = writer.append(make_event("t", "x", "e", 2));
  REQUIRE_FALSE(o.ok());
  CHECK(o.code() == make_error_code(errc::writer_stopped));
}
