#pragma once
// Where a process's CPU went, thread by thread: a snapshot of /proc/<pid>/task/*/schedstat
// (nanoseconds on a CPU, nanoseconds runnable but waiting for one) with each thread's name
// (/proc/<pid>/task/*/comm; hooklog names its threads, engine/thread_name.hpp), and the
// difference of two snapshots taken around a run (bench_ingest). A thread that started between
// the two counts from zero; one that ended is left out. Threads of one name are summed.
//
// Everything here is a pure function of its arguments except thread_snapshot(), which reads
// /proc and returns an empty snapshot for a process that is gone. Header-only: each benchmark
// is one executable.
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hooklog::bench {

struct thread_sched {
  double run_ns = 0;   // on a CPU
  double wait_ns = 0;  // runnable, waiting for a CPU
  std::string name;
};

// tid -> its schedstat and name, now.
using thread_snapshot_t = std::map<std::string, thread_sched>;

inline thread_snapshot_t thread_snapshot(pid_t pid) {
  thread_snapshot_t out;
  std::error_code ec;
  const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(e.path() / "schedstat");
    thread_sched t;
    if (!(in >> t.run_ns >> t.wait_ns)) continue;
    std::ifstream comm(e.path() / "comm");
    std::getline(comm, t.name);
    out[e.path().filename().string()] = std::move(t);
  }
  return out;
}

struct thread_usage {
  double cpu_s = 0;       // every thread's time on a CPU, summed
  double max_wait_s = 0;  // the longest one thread waited for a CPU
  std::map<std::string, double> cpu_s_by_name;
};

// What happened between two snapshots of one process.
inline thread_usage thread_usage_between(const thread_snapshot_t& before,
                                         const thread_snapshot_t& after) {
  thread_usage u;
  for (const auto& [tid, t] : after) {
    auto it = before.find(tid);
    const thread_sched b = it == before.end() ? thread_sched{} : it->second;
    const double run = (t.run_ns - b.run_ns) / 1e9;
    u.cpu_s += run;
    u.max_wait_s = std::max(u.max_wait_s, (t.wait_ns - b.wait_ns) / 1e9);
    u.cpu_s_by_name[t.name] += run;
  }
  return u;
}

// "name µs, name µs, ..." : each name's CPU per unit of work (an event, a delivery) in
// microseconds, largest first, names below 0.05 µs left out; empty when `units` is 0.
inline std::string us_per_unit_by_name(const std::map<std::string, double>& cpu_s_by_name,
                                       double units) {
  std::vector<std::pair<double, std::string>> by;
  if (units > 0)
    for (const auto& [name, s] : cpu_s_by_name) by.emplace_back(s * 1e6 / units, name);
  std::sort(by.rbegin(), by.rend());
  std::string line;
  for (const auto& [us, name] : by) {
    if (us < 0.05) continue;
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1f", us);
    line += (line.empty() ? "" : ", ") + name + buf;
  }
  return line;
}

}  // namespace hooklog::bench
