#pragma once
// Machine-readable lines the benchmarks print beside their human output, read by
// tools/bench/run.sh (awk, tab-separated, one record per line):
//
//   RESULT <id> <what> <figure> <unit> <limit> <limit: what> <ratio> <goal> <met>
//   SWEEP  <series> <connections> <rate> <limit rate>
//
// An absent value is "-". `met` is yes, no or "-" (no goal). Only tabs separate fields, so the
// texts may hold spaces.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace hooklog::bench {

struct result {
  std::string id;    // short and stable: ingest_single, delivery_rate, ...
  std::string what;  // a human label for the table
  double figure = 0;
  std::string unit;             // events/s, ms, MiB, ...
  std::optional<double> limit;  // measured in the same run, same unit
  std::string limit_what;
  std::string goal;
  std::optional<bool> met;  // none: no goal

  result(std::string id, std::string what, double figure, std::string unit,
         std::optional<double> limit = std::nullopt, std::string limit_what = "-",
         std::string goal = "-", std::optional<bool> met = std::nullopt)
      : id(std::move(id)),
        what(std::move(what)),
        figure(figure),
        unit(std::move(unit)),
        limit(limit),
        limit_what(std::move(limit_what)),
        goal(std::move(goal)),
        met(met) {}
};

// 12345.6 -> "12346", 0.4321 -> "0.432": integers for large figures, 3 significant digits below.
inline std::string number(double v) {
  char buf[64];
  if (std::isnan(v)) return "-";
  if (std::fabs(v) >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

inline void print(const result& r) {
  const std::string limit = r.limit ? number(*r.limit) : "-";
  const std::string ratio = r.limit && *r.limit > 0 ? number(r.figure / *r.limit) : "-";
  std::printf("RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.id.c_str(), r.what.c_str(),
              number(r.figure).c_str(), r.unit.c_str(), limit.c_str(), r.limit_what.c_str(),
              ratio.c_str(), r.goal.c_str(), r.met ? (*r.met ? "yes" : "no") : "-");
  std::fflush(stdout);
}

// One point of a rate against connections; limit: the load tool's rate at the same count.
inline void print_sweep(const std::string& series, int connections, double rate, double limit) {
  std::printf("SWEEP\t%s\t%d\t%.0f\t%.0f\n", series.c_str(), connections, rate, limit);
  std::fflush(stdout);
}

// The fields of a /proc stat file (/proc/<pid>/stat, /proc/<pid>/task/<tid>/stat) after the
// command name, which may hold spaces and parentheses: [0] is field 3 (the state), [k] is field
// k + 3 (proc(5)). Empty when the file cannot be read.
inline std::vector<std::string> proc_stat_fields(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// CPU seconds (user + system) from a /proc stat file's own accounting (utime and stime, fields
// 14 and 15); NAN when unreadable.
inline double stat_cpu_seconds(const std::string& path) {
  const auto f = proc_stat_fields(path);
  if (f.size() < 13) return NAN;
  return (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat;
// NAN when unreadable. The figure of a server's CPU per event is the difference around a load
// divided by the events.
inline double process_cpu_seconds(long pid) {
  return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat");
}

// "0.52 0.61 0.70" from /proc/loadavg.
inline std::string load_avg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace hooklog::bench
