#pragma once
// Shared helpers for the fuzz targets (libFuzzer entry points, see tests/fuzz/README.md).
#include <cstdio>
#include <cstdlib>

// An oracle violation: print what and abort, so libFuzzer (and corpus_runner) report it.
#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
