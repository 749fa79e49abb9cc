#pragma once
// How `hooklog serve` has glibc's malloc keep memory it freed (mallopt), so that a request's
// buffers are not given back to the kernel after each request and faulted in again by the next.
//
// Measured (docs/PERFORMANCE.md, "Ingest, seventeenth pass"): with glibc's defaults, freeing a
// batch request's ~500 KB body and records raised the dynamic mmap threshold to that size and
// the trim threshold to twice it, so each I/O thread's arena shrank after nearly every batch and
// grew again for the next: 0.26 page faults per batched event; with these settings, 0.11.
//
// keep_freed_memory() sets, process-wide:
//   M_MMAP_THRESHOLD  32 MiB  blocks below it (every body up to --batch-body-limit's 16 MiB
//                             default) come from the arenas, not from mmap/munmap per request;
//   M_TRIM_THRESHOLD  16 MiB  an arena's free top is given back only beyond 16 MiB;
//   M_TOP_PAD          1 MiB  an arena grows by at least 1 MiB more than it needs.
// So an arena may hold up to ~17 MiB it does not use after a burst (glibc makes at most 8
// arenas per core; the server's few threads use a handful). Left alone, and false returned,
// when GLIBC_TUNABLES names a glibc.malloc tunable: the operator's choice stands.
// Call once, early in main, before other threads start (mallopt is not meant to race
// allocations).
namespace hooklog::cli {

bool keep_freed_memory();

}  // namespace hooklog::cli
