#include "projections/huge_alloc.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hooklog::projections {

namespace {
std::size_t mapped_size(std::size_t bytes) {
  return (bytes + kHugeBlock - 1) & ~(kHugeBlock - 1);
}
// `size` bytes (a multiple of kHugeBlock) of fresh anonymous address space, 2 MiB-aligned;
// nullptr when the kernel refuses. `reserve`: only the addresses (no access, no commit charge),
// for mremap to move a block onto.
void* map_aligned(std::size_t size, bool reserve = false) {
  // Map one block more than needed, then unmap the head and the tail around the aligned part.
  const std::size_t span = size + kHugeBlock;
  void* m =
      reserve ? ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
              : ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  const auto base = reinterpret_cast<std::uintptr_t>(m);
  const std::uintptr_t at = (base + kHugeBlock - 1) & ~(std::uintptr_t{kHugeBlock} - 1);
  if (at > base) ::munmap(m, at - base);
  if (const std::size_t tail = base + span - (at + size); tail > 0)
    ::munmap(reinterpret_cast<void*>(at + size), tail);
  return reinterpret_cast<void*>(at);
}

// The mapped block p of `size` bytes grown to `new_size` without copying: in place, else moved
// onto a fresh aligned range. nullptr when the kernel refuses both (p is unchanged then).
void* remap(void* p, std::size_t size, std::size_t new_size) {
  if (::mremap(p, size, new_size, 0) != MAP_FAILED) return p;  // the addresses after p were free
  void* dest = map_aligned(new_size, true);
  if (!dest) return nullptr;
  // MREMAP_FIXED replaces the range reserved at dest; p's mapping (its protection, its advice)
  // and pages (huge ones whole: both ends are 2 MiB-aligned) move there, and p's range is
  // unmapped.
  void* q = ::mremap(p, size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
  if (q == MAP_FAILED) {
    // The kernel may have unmapped the reservation already: another thread's mapping could
    // have taken its place only in that window, and only on this failure path.
    ::munmap(dest, new_size);
    return nullptr;
  }
  return q;
}
}  // namespace

bool huge_mapped(std::size_t bytes) noexcept {
  return bytes >= kHugeMin;
}

void* huge_allocate(std::size_t bytes) {
  if (!huge_mapped(bytes)) return ::operator new(bytes);
  const std::size_t size = mapped_size(bytes);
  void* p = map_aligned(size);
  if (!p) throw std::bad_alloc();
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

void* huge_reallocate(void* p, std::size_t bytes, std::size_t new_bytes, std::size_t used) {
  if (p && huge_mapped(bytes) && huge_mapped(new_bytes)) {
    const std::size_t size = mapped_size(bytes), new_size = mapped_size(new_bytes);
    if (new_size == size) return p;
    if (new_size < size) {  // shrinking: the tail goes
      ::munmap(static_cast<char*>(p) + new_size, size - new_size);
      return p;
    }
    if (void* q = remap(p, size, new_size)) {
      (void)::madvise(q, new_size, MADV_HUGEPAGE);  // the grown part too
      return q;
    }
  }
  void* q = huge_allocate(new_bytes);
  if (used > 0) std::memcpy(q, p, std::min(used, new_bytes));
  huge_deallocate(p, bytes);
  return q;
}

}  // namespace hooklog::projections
