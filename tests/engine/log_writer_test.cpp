#include "engine/log_writer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/handoff_batch.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

record keyed(const std::string& key, int i) {
  record r = make_event("t", "type.a", "e" + std::to_string(i), 1000 + i);
  r.idempotency_key = key;
  return r;
}

std::vector<std::uint64_t> seqs(const event_log& log, scan_query q) {
  return test::scan_seqs(log, q);
}

std::optional<std::uint64_t> idem(const event_log& log, const std::string& key) {
  auto f = log.find_idempotent("t", "standard", key);
  if (!f) throw std::runtime_error(f.err().message);
  return *f;
}

}  // namespace

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

namespace {

// A lingering submission of one event, as a future.
std::future<log_writer::outcomes> submit_lingering(log_writer& w, int i,
                                                   std::chrono::microseconds linger) {
  auto p = std::make_shared<std::promise<log_writer::outcomes>>();
  auto f = p->get_future();
  std::vector<record> b{make_event("t", "linger", "e", i)};
  w.submit(
      std::move(b), [p](log_writer::outcomes&& o) { p->set_value(std::move(o)); }, linger);
  return f;
}

bool ready_within(std::future<log_writer::outcomes>& f, std::chrono::milliseconds d) {
  return f.wait_for(d) == std::future_status::ready;
}

}  // namespace

TEST_CASE("log writer: lingering submissions wait for their due time and share one commit",
          "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<log_writer::outcomes>> fs;
  for (int i = 0; i < 5; ++i)
    fs.push_back(submit_lingering(writer, i, std::chrono::milliseconds(300)));
  std::uint64_t expect = 1;
  for (auto& f : fs) {
    REQUIRE(ready_within(f, std::chrono::seconds(30)));
    auto o = f.get();
    REQUIRE(o.size() == 1);
    REQUIRE(o[0].ok());
    CHECK(o[0]->seq == expect++);
  }
  // Not committed before the first one's due time, and all five in one group.
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(290));
  CHECK(writer.stats().groups == 1);
  CHECK(writer.stats().max_group == 5);
  CHECK(log->committed_seq() == 5);
}

TEST_CASE("log writer: a submission without a linger commits the lingering ones with it",
          "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  auto lingering = submit_lingering(writer, 1, std::chrono::seconds(60));
  CHECK_FALSE(ready_within(lingering, std::chrono::milliseconds(50)));  // held
  auto urgent = writer.append(make_event("t", "x", "e", 2));
  REQUIRE(urgent.ok());
  CHECK(urgent->seq == 2);
  REQUIRE(ready_within(lingering, std::chrono::seconds(10)));
  auto o = lingering.get();
  REQUIRE(o[0].ok());
  CHECK(o[0]->seq == 1);
  CHECK(writer.stats().groups == 1);
}

TEST_CASE("log writer: linger_records queued, or stop(), end the wait", "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  SECTION("linger_records") {
    log_writer writer(*log, writer_options{.linger_records = 3});
    auto a = submit_lingering(writer, 1, std::chrono::seconds(60));
    auto b = submit_lingering(writer, 2, std::chrono::seconds(60));
    CHECK_FALSE(ready_within(a, std::chrono::milliseconds(50)));
    auto c = submit_lingering(writer, 3, std::chrono::seconds(60));  // the third record
    REQUIRE(ready_within(c, std::chrono::seconds(10)));
    REQUIRE(ready_within(a, std::chrono::seconds(1)));
    REQUIRE(ready_within(b, std::chrono::seconds(1)));
    CHECK(c.get()[0]->seq == 3);
    CHECK(writer.stats().groups == 1);
  }
  SECTION("stop") {
    log_writer writer(*log);
    auto a = submit_lingering(writer, 1, std::chrono::seconds(60));
    CHECK_FALSE(ready_within(a, std::chrono::milliseconds(50)));
    const auto t0 = std::chrono::steady_clock::now();
    writer.stop();  // drains what is queued, at once
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    REQUIRE(ready_within(a, std::chrono::seconds(1)));
    auto o = a.get();
    REQUIRE(o[0].ok());
    CHECK(o[0]->seq == 1);
    CHECK(log->committed_seq() == 1);
  }
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

TEST_CASE("log writer: an answered event is in every query, and a repeat of its key answers "
          "its seq",
          "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  constexpr int kThreads = 8, kPerThread = 150;
  std::mutex m;
  std::map<std::string, std::uint64_t> first;  // key -> seq
  std::vector<std::pair<std::string, std::uint64_t>> last(kThreads);  // per thread
  std::vector<std::string> problems;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        const std::string key = "k" + std::to_string(n);
        auto o = writer.append(keyed(key, n));
        std::string bad;
        if (!o || o->duplicate) {
          bad = key + ": not stored";
        } else {
          // Right after the answer: the head, the indexes and the key all have it.
          scan_query by_entity;
          by_entity.entity_kind = "order";
          by_entity.entity_id = "e" + std::to_string(n);
          scan_query by_type;
          by_type.type = "type.a";
          by_type.from_seq = by_type.to_seq = o->seq;
          if (log->head().seq < o->seq) bad = key + ": beyond the head";
          if (seqs(*log, by_entity) != std::vector<std::uint64_t>{o->seq})
            bad = key + ": not found by entity";
          if (seqs(*log, by_type) != std::vector<std::uint64_t>{o->seq})
            bad = key + ": not found by type";
          if (idem(*log, key) != std::optional<std::uint64_t>{o->seq})
            bad = key + ": key not found";
          // A repeat of the key another thread was last answered for.
          std::pair<std::string, std::uint64_t> other;
          {
            std::lock_guard g(m);
            other = last[(t + 1) % kThreads];
          }
          if (!other.first.empty()) {
            auto r = writer.append(keyed(other.first, n));
            if (!r || !r->duplicate || r->seq != other.second)
              bad = other.first + ": the repeat did not answer the first seq";
          }
        }
        std::lock_guard g(m);
        if (!bad.empty()) problems.push_back(bad);
        if (o && !o->duplicate) {
          first.emplace(key, o->seq);
          last[t] = {key, o->seq};
        }
      }
    });
  for (auto& p : producers) p.join();
  writer.stop();
  INFO((problems.empty() ? std::string() : problems.front()));
  CHECK(problems.empty());
  CHECK(first.size() == kThreads * kPerThread);
  // Every stored event exactly once: the repeats were answered, never stored.
  CHECK(log->head().seq == kThreads * kPerThread);
  CHECK(log->index().indexed_through() == kThreads * kPerThread);
  CHECK(log->verify()->ok);
}

TEST_CASE("log writer: callbacks run in commit order when small groups (answered by the writer) "
          "and large ones (by the completion thread) are mixed",
          "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  constexpr int kSubmissions = 400;
  const std::size_t big = log_writer::kInlineAnswerRecords + 36;
  std::mutex m;
  std::vector<std::uint64_t> order;  // each submission's first seq, as its callback ran
  std::uint64_t total = 0;
  for (int i = 0; i < kSubmissions; ++i) {
    const std::size_t n = i % 7 == 0 ? big : 1;
    std::vector<record> b;
    for (std::size_t k = 0; k < n; ++k) b.push_back(make_event("t", "x", "e", i));
    total += n;
    writer.submit(std::move(b), [&m, &order, n](log_writer::outcomes&& out) {
      const std::uint64_t first = out.size() == n && out[0] ? out[0]->seq : 0;
      std::lock_guard g(m);
      order.push_back(first);
    });
  }
  writer.stop();  // drains: every callback has run
  REQUIRE(order.size() == kSubmissions);
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(std::adjacent_find(order.begin(), order.end()) == order.end());  // no repeat
  CHECK(order.front() == 1);
  CHECK(log->head().seq == total);
}

TEST_CASE("log writer: a small group committed while a large group's callbacks run is answered "
          "after them",
          "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  const std::size_t big = log_writer::kInlineAnswerRecords + 36;
  std::mutex m;
  std::condition_variable cv;
  bool big_started = false, small_ran = false;
  std::vector<std::string> order;
  std::vector<record> b;
  for (std::size_t k = 0; k < big; ++k) b.push_back(make_event("t", "x", "e", 1));
  writer.submit(std::move(b), [&](log_writer::outcomes&&) {
    std::unique_lock g(m);
    big_started = true;
    cv.notify_all();
    // Until the small group below is committed (and a moment more, in which a writer that
    // answered it out of turn would have).
    while (log->committed_seq() <= big) cv.wait_for(g, std::chrono::milliseconds(1));
    cv.wait_for(g, std::chrono::milliseconds(300), [&] { return small_ran; });
    order.push_back("big");
    cv.notify_all();
  });
  {
    std::unique_lock g(m);
    cv.wait(g, [&] { return big_started; });
  }
  std::vector<record> one{make_event("t", "x", "e", 2)};
  writer.submit(std::move(one), [&](log_writer::outcomes&& out) {
    std::lock_guard g(m);
    small_ran = true;
    order.push_back(out[0] ? "small " + std::to_string(out[0]->seq) : "small failed");
    cv.notify_all();
  });
  {
    std::unique_lock g(m);
    cv.wait(g, [&] { return order.size() == 2; });
  }
  writer.stop();
  CHECK(order == std::vector<std::string>{"big", "small " + std::to_string(big + 1)});
}

// A group's callbacks run inside one handoff_batch: what they defer (the HTTP server's wake-up of
// its I/O threads) runs once the group's last callback returned, on the same thread.
TEST_CASE("log writer: a group's callbacks run inside one handoff_batch", "[writer]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  constexpr int kSubmissions = 300;
  std::mutex mu;
  int answered = 0;
  int deferred = 0;
  std::vector<int> answered_at_flush;  // `answered` when each deferred function ran
  std::promise<void> all;
  for (int i = 0; i < kSubmissions; ++i) {
    std::vector<record> b{make_event("t", "x", "e", i)};
    if (i % 7 == 0)  // some larger submissions: groups past kInlineAnswerRecords go to the completion thread
      for (int k = 0; k < 30; ++k) b.push_back(make_event("t", "x", "e", i));
    writer.submit(std::move(b), [&](log_writer::outcomes&& o) {
      CHECK(!o.empty());
      std::lock_guard lk(mu);
      ++answered;
      const bool held = handoff_batch::defer([&] {
        std::lock_guard lk2(mu);
        answered_at_flush.push_back(answered);
        if (static_cast<int>(answered_at_flush.size()) == kSubmissions) all.set_value();
      });
      CHECK(held);
      if (held) ++deferred;
    });
  }
  REQUIRE(all.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  writer.stop();
  CHECK(deferred == kSubmissions);
  // Every deferred function of a group saw all of the group's callbacks answered: the values
  // seen are the running totals at the groups' ends, one distinct value per group.
  std::set<int> distinct(answered_at_flush.begin(), answered_at_flush.end());
  CHECK(distinct.size() == writer.stats().groups);
  CHECK(*distinct.rbegin() == kSubmissions);
  CHECK(std::is_sorted(answered_at_flush.begin(), answered_at_flush.end()));
}

TEST_CASE("handoff_batch: defers to the outermost batch's close, in order, and with none open leaves the call to the caller", "[writer]") {
  std::vector<std::string> ran;
  CHECK_FALSE(handoff_batch::defer([&] { ran.push_back("none"); }));  // no batch: left to the caller
  CHECK(ran.empty());
  {
    handoff_batch outer;
    CHECK(handoff_batch::defer([&] { ran.push_back("a"); }));
    {
      handoff_batch inner;
      CHECK(handoff_batch::defer([&] {
        ran.push_back("b");
        CHECK_FALSE(handoff_batch::defer([] {}));  // while the deferred run, no batch is open
      }));
    }
    CHECK(ran.empty());  // the inner batch's close ran nothing
    std::thread other([&] { CHECK_FALSE(handoff_batch::defer([] {})); });  // per thread
    other.join();
  }
  CHECK(ran == std::vector<std::string>{"a", "b"});
}
