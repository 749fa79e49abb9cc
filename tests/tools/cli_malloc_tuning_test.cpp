// tools/cli_malloc_tuning.hpp: what `hooklog serve` asks of glibc's malloc. Each case runs in a
// forked child, so the settings never reach this test process.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "tools/cli_malloc_tuning.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcMalloc = false;  // ASan's allocator replaces glibc's: mallopt does nothing
#else
constexpr bool kGlibcMalloc = true;
#endif

// Runs `f` in a child; its exit status (0 = every check in it held).
int in_child(const std::function<int()>& f) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(f());
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// Page faults taken by rounds 2..10 of: three 2 MiB blocks allocated, written, freed. Memory
// kept by malloc after round 1 is written again without a fault; memory given back (munmap of
// an mmap'd block, a trimmed arena top) is faulted in again every round.
long faults_of_repeated_blocks() {
  constexpr std::size_t kBlock = 2u << 20;
  long faults = 0;
  for (int round = 1; round <= 10; ++round) {
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    void* p[3];
    for (auto& b : p) {
      b = std::malloc(kBlock);
      if (b == nullptr) _exit(99);
      std::memset(b, round, kBlock);
    }
    for (auto* b : p) std::free(b);
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    if (round > 1) faults += after.ru_minflt - before.ru_minflt;
  }
  return faults;
}

}  // namespace

TEST_CASE("serve's malloc settings keep freed blocks in the process instead of faulting them "
          "in again",
          "[cli][malloc]") {
  if (!kGlibcMalloc) {
    WARN("SKIPPED: built with AddressSanitizer, whose allocator replaces glibc's");
    return;
  }
  // The control: glibc's starting thresholds held fixed (128 KiB), so every 2 MiB block is
  // mmap'd and unmapped again: each round faults (at least once per block, even in huge pages).
  const int control = in_child([] {
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
    return static_cast<int>(std::min(faults_of_repeated_blocks(), 250L));
  });
  CHECK(control >= 27);
  const int kept = in_child([] {
    unsetenv("GLIBC_TUNABLES");
    if (!hooklog::cli::keep_freed_memory()) return 250;
    return static_cast<int>(std::min(faults_of_repeated_blocks(), 250L));
  });
  CHECK(kept <= 3);
}

TEST_CASE("serve leaves malloc alone when GLIBC_TUNABLES sets a malloc tunable", "[cli][malloc]") {
  CHECK(in_child([] {
          setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", 1);
          return hooklog::cli::keep_freed_memory() ? 1 : 0;
        }) == 0);
  CHECK(in_child([] {
          setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);  // not malloc's: the settings apply
          return kGlibcMalloc && !hooklog::cli::keep_freed_memory() ? 1 : 0;
        }) == 0);
}
