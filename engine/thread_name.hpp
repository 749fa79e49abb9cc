#pragma once
// Names the calling thread for top -H, ps -L, perf and /proc/<pid>/task/*/comm, so that CPU
// time can be told apart by what a thread does (the benchmarks' CPU per event by thread,
// docs/OPERATIONS.md "Threads"). Linux keeps at most 15 bytes of a name; a longer one is cut
// there. Failing to name a thread is not an error: it keeps the process's name.
//
// Thread safety: names only the calling thread; call it first thing in the thread's body.
#include <string_view>

namespace hooklog {

void set_thread_name(std::string_view name);

}  // namespace hooklog
