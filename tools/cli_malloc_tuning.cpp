#include "tools/cli_malloc_tuning.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace hooklog::cli {

bool keep_freed_memory() {
  if (const char* t = std::getenv("GLIBC_TUNABLES");
      t != nullptr && std::strstr(t, "glibc.malloc.") != nullptr)
    return false;
  constexpr int kMiB = 1 << 20;
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 * kMiB) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, 16 * kMiB) == 1 && ok;
  ok = mallopt(M_TOP_PAD, 1 * kMiB) == 1 && ok;
  return ok;
}

}  // namespace hooklog::cli
