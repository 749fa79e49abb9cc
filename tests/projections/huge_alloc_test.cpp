// projections/huge_alloc.hpp: blocks of 1 MiB and more are 2 MiB-aligned mappings that keep
// their bytes, and, where transparent huge pages are enabled, filling one takes a page fault per
// 2 MiB (the point of it: the bulk rebuild's staging buffers). huge_reallocate is tested in
// huge_vector_test.cpp.
#include <catch2/catch.hpp>

#include <cstdint>

#include "huge_test_util.hpp"
#include "projections/huge_alloc.hpp"

using namespace hooklog::projections;
using hooklog::projections::test::minor_faults;
using hooklog::projections::test::thp_for_madvised;

TEST_CASE("huge_alloc: small blocks from operator new, large ones aligned to 2 MiB") {
  CHECK_FALSE(huge_mapped((std::size_t{1} << 20) - 1));
  CHECK(huge_mapped(std::size_t{1} << 20));  // 1 MiB and up: a 2 MiB mapping of its own
  CHECK(huge_mapped(kHugeBlock));
  for (std::size_t bytes :
       {std::size_t{1}, kHugeMin - 1, kHugeMin, kHugeMin + 4096 * 3 + 5, kHugeBlock - 1, kHugeBlock,
        kHugeBlock + 1, 3 * kHugeBlock + 4096, std::size_t{40} << 20}) {
    INFO(bytes);
    auto* p = static_cast<unsigned char*>(huge_allocate(bytes));
    REQUIRE(p != nullptr);
    if (huge_mapped(bytes)) CHECK(reinterpret_cast<std::uintptr_t>(p) % kHugeBlock == 0);
    for (std::size_t i = 0; i < bytes; i += 997) p[i] = static_cast<unsigned char>(i * 31);
    p[bytes - 1] = 0xA5;
    bool same = p[bytes - 1] == 0xA5;
    for (std::size_t i = 0; i + 1 < bytes; i += 997)
      same = same && p[i] == static_cast<unsigned char>(i * 31);
    CHECK(same);
    huge_deallocate(p, bytes);
  }
}

TEST_CASE("huge_alloc: filling 16 MiB takes a fault per 2 MiB where huge pages are enabled") {
  if (!thp_for_madvised()) {
    WARN("transparent huge pages are off here: the fault count is not checked");
    return;
  }
  const std::size_t bytes = std::size_t{16} << 20;
  auto* p = static_cast<char*>(huge_allocate(bytes));
  const long before = minor_faults();
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  const long faults = minor_faults() - before;
  huge_deallocate(p, bytes);
  INFO("minor faults: " << faults << " (4 KiB pages would take 4096)");
  // 8 huge pages; under AddressSanitizer the thread also faults in the shadow of what it
  // writes (an eighth of the bytes: 512 pages of 4 KiB, 520 in all was measured), so the bound
  // is a quarter of what 4 KiB pages alone would take.
  CHECK(faults < 1024);
}

TEST_CASE("huge_alloc: a block of 1.5 MiB (a doubling's last step below 2 MiB) is one huge page") {
  // 32,768 entries of 48 bytes: the capacity a vector of pending's staged entries reaches
  // between 0.75 MiB and 3 MiB.
  const std::size_t bytes = std::size_t{48} * 32'768;
  REQUIRE(huge_mapped(bytes));
  auto* p = static_cast<char*>(huge_allocate(bytes));
  CHECK(reinterpret_cast<std::uintptr_t>(p) % kHugeBlock == 0);
  const long before = minor_faults();
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = static_cast<char>(i >> 12);
  const long faults = minor_faults() - before;
  bool same = true;
  for (std::size_t i = 0; i < bytes; i += 4096) same = same && p[i] == static_cast<char>(i >> 12);
  CHECK(same);
  huge_deallocate(p, bytes);
  if (!thp_for_madvised()) {
    WARN("transparent huge pages are off here: the fault count is not checked");
    return;
  }
  INFO("minor faults: " << faults << " (4 KiB pages would take 384)");
  // One huge page; under AddressSanitizer also the shadow (an eighth: 48 pages of 4 KiB).
  CHECK(faults < 192);
}
