// The process_* families of /metrics, read from /proc (Linux).
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "http/delivery/metrics.hpp"

namespace hooklog::http {

namespace {

std::string read_all(const char* path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

void render_process_metrics(std::string& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // /proc/self/stat: fields after the ")" that ends the command name; utime is field 14,
  // stime 15, starttime 22, vsize 23, rss 24 (1-based, proc(5)).
  const std::string stat = read_all("/proc/self/stat");
  const auto close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    // f[0] is field 3 (state).
    if (f.size() > 21) {
      const double utime = std::stod(f[11]), stime = std::stod(f[12]);
      const double start_ticks = std::stod(f[19]);
      const double vsize = std::stod(f[20]), rss = std::stod(f[21]);
      metric_single(out, "process_cpu_seconds_total", "counter",
                    "Total user and system CPU time spent in seconds.", (utime + stime) / ticks);
      metric_single(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                    rss * page);
      metric_single(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                    vsize);
      // Start time: boot time (btime in /proc/stat) + starttime ticks.
      std::istringstream ps(read_all("/proc/stat"));
      for (std::string line; std::getline(ps, line);) {
        if (line.rfind("btime ", 0) != 0) continue;
        const double btime = std::stod(line.substr(6));
        metric_single(out, "process_start_time_seconds", "gauge",
                      "Start time of the process since unix epoch in seconds.",
                      btime + start_ticks / ticks);
        break;
      }
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    double n = 0;
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    metric_single(out, "process_open_fds", "gauge", "Number of open file descriptors.",
                  n - 1);  // less the one opendir holds
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    metric_help(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    metric_line(out, "process_max_fds", "", static_cast<double>(rl.rlim_cur));
  }
}

}  // namespace hooklog::http
