// Objects handed back from other threads and taken again (http/delivery/handback_pool.hpp): the
// same objects by address, as they were left, no more made than were out at once.
#include <catch2/catch.hpp>

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

TEST_CASE("handback pool: given back from other threads, never more made than were out", "[handback_pool]") {
  handback_pool<thing> pool;
  constexpr int kOut = 16, kRounds = 2000;
  std::vector<thing*> out;
  for (int r = 0; r < kRounds; ++r) {
    out.clear();
    for (int i = 0; i < kOut; ++i) {
      out.push_back(pool.take());
      out.back()->n = r;
    }
    // Two threads give half each back, as the I/O threads do.
    std::thread t1([&] {
      for (int i = 0; i < kOut / 2; ++i) pool.give(out[static_cast<std::size_t>(i)]);
    });
    std::thread t2([&] {
      for (int i = kOut / 2; i < kOut; ++i) pool.give(out[static_cast<std::size_t>(i)]);
    });
    t1.join();
    t2.join();
  }
  CHECK(pool.made() == kOut);
  std::set<thing*> last;
  for (int i = 0; i < kOut; ++i) {
    thing* p = pool.take();
    CHECK(p->n == kRounds - 1);
    last.insert(p);
  }
  CHECK(last.size() == kOut);
  CHECK(pool.made() == kOut);
}
