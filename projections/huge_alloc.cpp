#include "projections/huge_alloc.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace hooklog::projections {

namespace {
std::size_t mapped_size(std::size_t bytes) { return (bytes + kHugeBlock - 1) & ~(kHugeBlock - 1); }
}  // namespace

bool huge_mapped(std::size_t bytes) noexcept { return bytes >= kHugeMin; }

void* huge_allocate(std::size_t bytes) {
  if (!huge_mapped(bytes)) return ::operator new(bytes);
  const std::size_t size = mapped_size(bytes);
  // Map one block more than needed, then unmap the head and the tail around the aligned part.
  const std::size_t span = size + kHugeBlock;
  void* m = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<std::uintptr_t>(m);
  const std::uintptr_t at = (base + kHugeBlock - 1) & ~(std::uintptr_t{kHugeBlock} - 1);
  if (at > base) ::munmap(m, at - base);
  if (const std::size_t tail = base + span - (at + size); tail > 0)
    ::munmap(reinterpret_cast<void*>(at + size), tail);
  void* p = reinterpret_cast<void*>(at);
  (void)::madvise(p, size, MADV_HUGEPAGE);  // advice only: plain pages where THP is off
  return p;
}

void huge_deallocate(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  if (!huge_mapped(bytes)) {
    ::operator delete(p);
    return;
  }
  ::munmap(p, mapped_size(bytes));
}

}  // namespace hooklog::projections
