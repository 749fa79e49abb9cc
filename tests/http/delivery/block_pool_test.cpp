// The blocks the outbound client makes its jobs from (http/delivery/block_pool.hpp): a block
// given back is taken again, by any thread; one size per pool; at most `keep` kept.
#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/delivery/block_pool.hpp"

using namespace hooklog;

namespace {
struct job {
  std::string text;
  std::uint64_t n = 0;
};
}  // namespace

TEST_CASE("block pool: a block given back is taken again, one size, at most keep", "[delivery]") {
  http::block_pool pool(2);
  void* a = pool.take(64);
  void* b = pool.take(64);
  void* c = pool.take(64);
  CHECK(pool.kept() == 0);
  pool.give(a, 64);
  pool.give(b, 64);
  pool.give(c, 64);  // beyond keep: deleted
  CHECK(pool.kept() == 2);
  void* d = pool.take(64);
  CHECK((d == a || d == b));
  CHECK(pool.kept() == 1);
  void* e = pool.take(32);  // another size: not from the kept ones
  CHECK(e != a);
  CHECK(e != b);
  CHECK(pool.kept() == 1);
  pool.give(e, 32);  // another size: deleted, not kept
  CHECK(pool.kept() == 1);
  pool.give(d, 64);
  CHECK(pool.kept() == 2);
}

TEST_CASE("block pool: shared objects made on one thread, released on another, reuse their blocks",
          "[delivery]") {
  http::block_pool pool;
  http::block_allocator<job> alloc(pool);
  std::set<const void*> addresses;
  // 100 rounds of 16: made here, the last reference dropped on another thread; after the first
  // round every block comes back from the pool.
  for (int round = 0; round < 100; ++round) {
    std::vector<std::shared_ptr<job>> out;
    for (int i = 0; i < 16; ++i) {
      out.push_back(std::allocate_shared<job>(alloc));
      out.back()->n = static_cast<std::uint64_t>(round * 16 + i);
      addresses.insert(out.back().get());
    }
    CHECK(out.back()->n == static_cast<std::uint64_t>(round * 16 + 15));
    std::thread([v = std::move(out)]() mutable { v.clear(); }).join();
    CHECK(pool.kept() == 16);
  }
  CHECK(addresses.size() == 16);
}
