#pragma once
// The load tool the HTTP benchmarks set their figures beside: wrk 4.x, run as a child process,
// and its printed summary read back into numbers (bench_ingest, bench_delivery).
//
// parse_wrk() reads the text `wrk [--latency] ...` prints: the "N requests in D" line, the
// "Requests/sec:" line, the optional "Non-2xx or 3xx responses" and "Socket errors" lines and,
// with --latency, the "Latency Distribution" percentiles. A line it does not know is skipped;
// an output without a request count or a rate (wrk failed to start, a script error) gives
// ok == false. Everything here is a pure function of its arguments except run_command(), which
// blocks until the command exits. Header-only: each benchmark is one executable.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

namespace hooklog::bench {

struct wrk_output {
  bool ok = false;  // wrk printed both the request count and the rate
  std::uint64_t requests = 0, non2xx = 0;
  std::uint64_t err_connect = 0, err_read = 0, err_write = 0, err_timeout = 0;
  double duration_s = 0, rps = 0;
  std::map<int, double> pct_us;  // 50, 75, 90, 99 -> microseconds (only with --latency)
  std::string raw;               // wrk's whole output, for a failure's message

  std::uint64_t answered_ok() const { return requests >= non2xx ? requests - non2xx : 0; }
  std::uint64_t socket_errors() const { return err_connect + err_read + err_write + err_timeout; }
};

// "661.00us", "1.05ms", "2.00s", "1.00m", "1.00h" -> microseconds; any other unit: NaN.
inline double parse_time_us(const std::string& t) {
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  const std::string unit(end ? end : "");
  if (unit == "us") return v;
  if (unit == "ms") return v * 1e3;
  if (unit == "s") return v * 1e6;
  if (unit == "m") return v * 60e6;
  if (unit == "h") return v * 3600e6;
  return NAN;
}

inline wrk_output parse_wrk(const std::string& out) {
  wrk_output r;
  r.raw = out;
  std::istringstream in(out);
  bool in_dist = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string first;
    ls >> first;
    if (first == "Latency" && line.find("Distribution") != std::string::npos) {
      in_dist = true;
      continue;
    }
    if (in_dist && !first.empty() && first.back() == '%') {
      std::string t;
      ls >> t;
      r.pct_us[static_cast<int>(std::atof(first.c_str()))] = parse_time_us(t);
      continue;
    }
    in_dist = false;
    unsigned long long a, b, c, d;
    char dur[32];
    if (std::sscanf(line.c_str(), " %llu requests in %31[^,],", &a, dur) == 2) {
      r.requests = a;
      r.duration_s = parse_time_us(dur) / 1e6;
    } else if (std::sscanf(line.c_str(),
                           " Socket errors: connect %llu, read %llu, write %llu, timeout %llu", &a,
                           &b, &c, &d) == 4) {
      r.err_connect = a, r.err_read = b, r.err_write = c, r.err_timeout = d;
    } else if (std::sscanf(line.c_str(), " Non-2xx or 3xx responses: %llu", &a) == 1) {
      r.non2xx = a;
    } else if (first == "Requests/sec:") {
      ls >> r.rps;
      r.ok = r.requests > 0;
    }
  }
  return r;
}

// `s` as one word for /bin/sh: single-quoted, each ' written as '\''.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// Runs `command` through /bin/sh and returns what it printed on stdout (append " 2>&1" to the
// command for stderr too); "" when the shell could not be started.
inline std::string run_command(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

}  // namespace hooklog::bench
