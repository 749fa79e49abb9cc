// projections/huge_alloc.hpp's huge_reallocate and projections/huge_vector.hpp: a mapped block
// grows by moving its pages (in place, or onto a new 2 MiB-aligned range when the addresses after
// it are taken) and keeps every byte; huge_vector keeps its elements through growth, inserts and
// moves, and filling it touches each page of its final size once.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "huge_test_util.hpp"
#include "projections/huge_vector.hpp"

using namespace hooklog::projections;
using hooklog::projections::test::minor_faults;

namespace {
void fill(char* p, std::size_t n, unsigned salt) {
  for (std::size_t i = 0; i < n; i += 509) p[i] = static_cast<char>(i * 7 + salt);
}
std::size_t mismatches(const char* p, std::size_t n, unsigned salt) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; i += 509) bad += p[i] != static_cast<char>(i * 7 + salt);
  return bad;
}
bool aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kHugeBlock == 0;
}
}  // namespace

TEST_CASE("huge_reallocate: every size change keeps the bytes in use") {
  // small -> small, small -> mapped, mapped -> larger mapped (twice), mapped -> smaller mapped,
  // mapped -> small: each copies or moves the first `used` bytes.
  const std::size_t sizes[] = {100,
                               4000,
                               std::size_t{3} << 20,
                               std::size_t{7} << 20,
                               std::size_t{40} << 20,
                               std::size_t{5} << 20,
                               2000};
  std::size_t have = 0;
  char* p = nullptr;
  for (std::size_t next : sizes) {
    INFO(have << " -> " << next);
    const std::size_t used = std::min(have, next);
    p = static_cast<char*>(huge_reallocate(p, have, next, used));
    REQUIRE(p != nullptr);
    if (huge_mapped(next)) CHECK(aligned(p));
    CHECK(mismatches(p, used, 3) == 0);
    fill(p, next, 3);  // the whole block is writable
    p[next - 1] = static_cast<char>((next - 1) * 7 + 3);
    have = next;
  }
  huge_deallocate(p, have);
}

TEST_CASE("huge_reallocate: a block whose next addresses are taken moves to an aligned range") {
  const std::size_t size = kHugeBlock, grown = 4 * kHugeBlock;
  char* p = static_cast<char*>(huge_allocate(size));
  fill(p, size, 9);
  // Take the 2 MiB right after the block (or find it taken already): it cannot grow in place.
  void* wall = ::mmap(p + size, kHugeBlock, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  const bool ours = wall != MAP_FAILED;
  if (ours && wall != p + size) {  // a kernel that took the address as a hint only
    ::munmap(wall, kHugeBlock);
    huge_deallocate(p, size);
    WARN("MAP_FIXED_NOREPLACE is not honoured here: the move is not checked");
    return;
  }
  char* q = static_cast<char*>(huge_reallocate(p, size, grown, size));
  CHECK(q != p);
  CHECK(aligned(q));
  CHECK(mismatches(q, size, 9) == 0);
  fill(q, grown, 11);
  CHECK(mismatches(q, grown, 11) == 0);
  huge_deallocate(q, grown);
  if (ours) ::munmap(wall, kHugeBlock);
}

TEST_CASE("huge_vector: push_back, extend, insert and moves keep every element") {
  struct item {
    std::uint64_t seq;
    std::uint32_t n;
    bool live;
  };
  huge_vector<item> v;
  const std::uint64_t n = 200'000;  // 3.2 MB: grown across the 1 MiB bound
  for (std::uint64_t i = 0; i < n; ++i) v.push_back({2 * i, static_cast<std::uint32_t>(i), true});
  REQUIRE(v.size() == n);
  CHECK(aligned(v.data()));
  // Odd seqs in the middle, in order (what pending does for a retry of an earlier event).
  for (std::uint64_t s : {std::uint64_t{1001}, std::uint64_t{1003}, 2 * n - 3}) {
    auto* at = std::lower_bound(v.begin(), v.end(), s,
                                [](const item& a, std::uint64_t q) { return a.seq < q; });
    CHECK(v.insert(at, {s, 0, false})->seq == s);
  }
  REQUIRE(v.size() == n + 3);
  bool sorted = true;
  for (std::size_t i = 1; i < v.size(); ++i) sorted = sorted && v[i - 1].seq < v[i].seq;
  CHECK(sorted);
  CHECK(v.back().seq == 2 * (n - 1));
  item* more = v.extend(2);
  more[0] = {2 * n, 7, true};
  more[1] = {2 * n + 2, 8, true};
  CHECK(v.back().n == 8);

  huge_vector<item> w(std::move(v));
  CHECK(v.empty());
  CHECK(v.data() == nullptr);
  CHECK(w.size() == n + 5);
  CHECK(w[500].seq == 1000);
  CHECK(w[501].seq == 1001);
  v = std::move(w);
  CHECK(v.size() == n + 5);
  const std::size_t cap = v.capacity();
  v.clear();
  CHECK(v.empty());
  CHECK(v.capacity() == cap);  // kept for the next fill
  v.release();
  CHECK(v.capacity() == 0);
  CHECK(v.data() == nullptr);
}

TEST_CASE("huge_vector: a char arena appended past 32 MiB keeps its bytes") {
  huge_vector<char> a;
  std::string piece;
  for (int i = 0; i < 97; ++i) piece.push_back(static_cast<char>('a' + i % 26));
  std::size_t total = 0;
  while (total < (std::size_t{33} << 20)) {
    a.append(piece.data(), piece.size());
    total += piece.size();
  }
  REQUIRE(a.size() == total);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < total; i += 4093) bad += a[i] != piece[i % piece.size()];
  CHECK(bad == 0);
}

TEST_CASE("huge_vector: growing 2 MiB to 32 MiB faults in each new page once, none copied") {
  // With 4 KiB pages (transparent huge pages off for this process meanwhile, so that the count
  // does not depend on the machine's THP settings or fragmentation): growing by moving pages
  // faults in the 30 MiB added, 7,680 pages; a copying growth faults in each new block whole,
  // 4 + 8 + 16 + 32 MiB, 15,360 pages. Under AddressSanitizer the reads of the shadow add an
  // eighth. The bound lies between.
  struct thp_off {
    int was = ::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    thp_off() { ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); }
    ~thp_off() { ::prctl(PR_SET_THP_DISABLE, was > 0 ? 1 : 0, 0, 0, 0); }
  } off;
  REQUIRE(::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1);
  const std::size_t step = std::size_t{64} << 10;
  auto fill_to = [&](auto& v, std::size_t bytes) {
    while (v.size() < bytes) std::memset(v.extend(step), 1, step);
  };
  huge_vector<char> a;
  fill_to(a, kHugeBlock);  // below 1 MiB the blocks come from operator new: counted from 2 MiB
  const long before = minor_faults();
  fill_to(a, std::size_t{32} << 20);
  const long moved = minor_faults() - before;

  // The same growth, copying (what std::vector does): the control.
  struct copying {
    char* p = nullptr;
    std::size_t n = 0, cap = 0;
    std::size_t size() const { return n; }
    char* extend(std::size_t k) {
      if (n + k > cap) {
        const std::size_t c = std::max(n + k, cap * 2);
        char* q = static_cast<char*>(huge_allocate(c));
        if (n > 0) std::memcpy(q, p, n);
        huge_deallocate(p, cap);
        p = q;
        cap = c;
      }
      n += k;
      return p + n - k;
    }
    ~copying() { huge_deallocate(p, cap); }
  } b;
  fill_to(b, kHugeBlock);
  const long before_b = minor_faults();
  fill_to(b, std::size_t{32} << 20);
  const long copied = minor_faults() - before_b;
  INFO("minor faults: " << moved << " moving pages, " << copied << " copying");
  CHECK(moved >= 7680);  // every added page faults in once
  CHECK(moved < 11000);
  CHECK(copied >= 15360);
}
