#pragma once
// Counters and histograms for /metrics (Prometheus text format 0.0.4).
//
// Cardinality is bounded by construction: `route` is a route pattern of the API (or
// "unmatched"), `method` one of the HTTP methods below or "other", `code` an HTTP status,
// `outcome` one of success, failure (an answer that is not 2xx) or a delivery_errc name
// (timeout, refused, dns, tls, protocol, ssrf, bad_url, invalid_request). No label carries an
// endpoint, tenant or path.
//
// Thread safety: every member may be called from any thread.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace hooklog::http {

// A fixed-bucket histogram (upper bounds in seconds, +Inf implied).
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double seconds);
  // Appends name_bucket{labels,le=...} (cumulative), name_sum and name_count.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bucket, non-cumulative; last = +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Bucket bounds (seconds).
extern const std::vector<double> kRequestSecondsBounds;
extern const std::vector<double> kDeliverySecondsBounds;

class metrics {
 public:
  metrics();

  // One answered request: counted by (route, method, code), timed by (route, method).
  void observe_request(const std::string& route, std::string_view method, unsigned code,
                       double seconds);
  // An answer the server gave by itself, before routing (server_options::on_refused).
  void count_server_refusal(unsigned code);
  void count_ingested(std::uint64_t stored, std::uint64_t duplicates);
  void count_refused(std::uint64_t n) { refused_ += n; }

  // Deliveries (the dispatcher): a request sent / its answer or failure came back.
  void delivery_started() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void delivery_ended() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  // One recorded attempt: outcome as above; latency < 0 when nothing was sent.
  void count_attempt(std::string_view outcome, double latency_seconds, bool dead_letter,
                     bool disabled);

  // Appends every family above to `out`.
  void render(std::string& out) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, histogram> request_seconds_;
  std::map<std::string, std::uint64_t, std::less<>> attempts_;  // by outcome
  std::map<unsigned, std::uint64_t> server_refusals_;           // by code
  histogram delivery_seconds_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, refused_{0}, dead_{0}, disabled_{0};
};

// The method as a label value: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, else "other".
std::string_view method_label(std::string_view method);

// Appends one sample line: name{labels} value
void metric_line(std::string& out, const std::string& name, const std::string& labels,
                 double value);
void metric_help(std::string& out, const std::string& name, const char* type, const char* help);
// A family of one sample without labels: its HELP and TYPE lines, then `name value`.
void metric_single(std::string& out, const std::string& name, const char* type, const char* help,
                   double value);
// A label value escaped for the text format (backslash, quote, newline).
std::string label_value(std::string_view v);

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds, from /proc/self (Linux);
// a family whose source cannot be read is left out.
void render_process_metrics(std::string& out);

}  // namespace hooklog::http
