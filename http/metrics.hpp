#pragma once
// Counters for /metrics (Prometheus text format 0.0.4).
//
// Thread safety: every member may be called from any thread.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace hooklog::http {

class metrics {
 public:
  void count_request(const std::string& route, unsigned status);
  void count_ingested(std::uint64_t stored, std::uint64_t duplicates);
  void count_refused(std::uint64_t n) { refused_ += n; }

  // Appends the request and ingest families to `out`.
  void render(std::string& out) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, refused_{0};
};

// Appends one sample line: name{labels} value
void metric_line(std::string& out, const std::string& name, const std::string& labels,
                 double value);
void metric_help(std::string& out, const std::string& name, const char* type, const char* help);

}  // namespace hooklog::http
