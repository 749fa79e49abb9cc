// Objects handed back from other threads and taken again (http/delivery/handback_pool.hpp): the
// same objects by address, as they were left, no more made than were out at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/delivery/handback_pool.hpp"

using hooklog::http::handback_pool;

namespace {
struct thing {
  std::string text;
  int n = 0;
};
}  // namespace

TEST_CASE("handback pool: an object given back is taken again, as it was left", "[handback_pool]") {
  handback_pool<thing> pool;
  thing* a = pool.take();
  thing* b = pool.take();
  CHECK(a != b);
  CHECK(a->n == 0);
  CHECK(a->text.empty());
  CHECK(pool.made() == 2);
  a->text = "a string longer than the small-string buffer";
  a->n = 7;
  const char* buffer = a->text.data();
  pool.give(a);
  thing* c = pool.take();
  CHECK(c == a);
  CHECK(c->n == 7);
  CHECK(c->text.data() == buffer);  // its buffer kept
  CHECK(pool.made() == 2);
  // Nothing given back: a new one.
  thing* d = pool.take();
  CHECK(d != a);
  CHECK(d != b);
  CHECK(pool.made() == 3);
  pool.give(b);
  pool.give(c);
  pool.give(d);
  std::set<thing*> again{pool.take(), pool.take(), pool.take()};
  CHECK(again == std::set<thing*>{b, c, d});
  CHECK(pool.made() == 3);
}

TEST_CASE("handback pool: given back from other threads while the taker takes, never more made than "
          "were out", "[handback_pool]") {
  // The taker hands each object to one of two giver threads (as the dispatcher hands attempts to
  // the I/O threads) and goes on taking while they give back, so take()'s swap races give().
  // An object taken while still out, or more made than were ever out at once, fails the test.
  handback_pool<thing> pool;
  constexpr int kOut = 16, kTotal = 40000;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<thing*> queues[2];
  bool done = false;
  std::atomic<int> outstanding{0};
  std::atomic<int> twice{0};
  std::set<thing*> in_use;  // under mu
  auto giver = [&](int k) {
    for (;;) {
      thing* p;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return done || !queues[k].empty(); });
        if (queues[k].empty()) return;
        p = queues[k].front();
        queues[k].pop_front();
        in_use.erase(p);
      }
      ++p->n;
      pool.give(p);
      outstanding.fetch_sub(1);
    }
  };
  std::thread g0(giver, 0), g1(giver, 1);
  for (int i = 0; i < kTotal; ++i) {
    while (outstanding.load() >= kOut) std::this_thread::yield();
    thing* p = pool.take();
    outstanding.fetch_add(1);
    {
      std::lock_guard lk(mu);
      if (!in_use.insert(p).second) twice.fetch_add(1);
      queues[i % 2].push_back(p);
    }
    cv.notify_all();
  }
  {
    std::lock_guard lk(mu);
    done = true;
  }
  cv.notify_all();
  g0.join();
  g1.join();
  CHECK(twice.load() == 0);
  CHECK(pool.made() <= kOut);
  CHECK(pool.made() >= 1);
  // Every object is back: taking made() of them gives each once, and their counts add up.
  std::set<thing*> all;
  long sum = 0;
  const std::size_t made = pool.made();
  for (std::size_t i = 0; i < made; ++i) {
    thing* p = pool.take();
    all.insert(p);
    sum += p->n;
  }
  CHECK(all.size() == made);
  CHECK(sum == kTotal);
  CHECK(pool.made() == made);
}
