#pragma once
// What the huge_alloc and huge_vector tests read of the kernel: this thread's minor page faults,
// and whether memory advised MADV_HUGEPAGE gets transparent huge pages here.
#include <sys/resource.h>

#include <fstream>
#include <string>

namespace hooklog::projections::test {

inline long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

inline bool thp_for_madvised() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(f, s);
  return s.find("[always]") != std::string::npos || s.find("[madvise]") != std::string::npos;
}

}  // namespace hooklog::projections::test
