#pragma once
// Memory for the bulk rebuild's large staging buffers (sorted_runs' arena and index, pending's
// staged pending_ix entries: hundreds of MB at 1M events, grown by doubling).
//
// huge_allocate(n) serves a block of at least kHugeMin (1 MiB) from its own anonymous mapping,
// 2 MiB-aligned and its length rounded up to kHugeBlock (2 MiB), advised MADV_HUGEPAGE: where
// transparent huge pages are enabled ("always" or "madvise" in
// /sys/kernel/mm/transparent_hugepage/enabled) the kernel backs it with 2 MiB pages, so that
// filling it takes one page fault per 2 MiB instead of one per 4 KiB (a fault is a kernel entry:
// dear under page-table isolation). Where they are not, or the advice fails, the block is plain
// anonymous memory, as malloc would map it. A block of 1-2 MiB (a container's last step below
// 2 MiB, e.g. 1.5 MiB of a vector of 48-byte entries doubling) takes a whole 2 MiB (at most twice
// its size) for one fault instead of hundreds. Smaller blocks come from operator new. The memory is
// zero-filled by the kernel as any fresh anonymous memory; nothing else differs for the user.
//
// huge_deallocate(p, n) takes the n given to huge_allocate.
//
// huge_reallocate(p, n, m, used) is the block of m bytes that keeps the first `used` bytes of p
// (a block of n bytes from huge_allocate; null with n == 0), and frees p. Between two mapped blocks
// the pages move (mremap: grown in place where the addresses after it are free, else moved to a
// new 2 MiB-aligned range), so that growing a block does not copy its bytes or zero pages that
// were already filled: a buffer doubled up to N bytes touches N bytes once, where a copying
// growth touches about 2N (each size it passed through, zero-filled by the kernel, then copied).
// Otherwise (a small block on either side, or a refused mremap) it copies. The moved bytes keep
// their values; pointers into p are invalid afterwards. huge_vector (huge_vector.hpp) grows
// through it.
#include <cstddef>

namespace hooklog::projections {

inline constexpr std::size_t kHugeBlock = std::size_t{2} << 20;
inline constexpr std::size_t kHugeMin = kHugeBlock / 2;  // the smallest block mapped

void* huge_allocate(std::size_t bytes);  // throws std::bad_alloc
void huge_deallocate(void* p, std::size_t bytes) noexcept;
void* huge_reallocate(void* p, std::size_t bytes, std::size_t new_bytes,
                      std::size_t used);  // throws std::bad_alloc (p then stays valid)
// true when a block of `bytes` gets a mapping of its own (not operator new).
bool huge_mapped(std::size_t bytes) noexcept;

}  // namespace hooklog::projections
