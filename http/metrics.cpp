#include "http/metrics.hpp"

#include <cstdio>

namespace hooklog::http {

void metric_help(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void metric_line(std::string& out, const std::string& name, const std::string& labels,
                 double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " ";
  out += buf;
  out += "\n";
}

void metrics::count_request(const std::string& route, unsigned status) {
  std::lock_guard g(mutex_);
  ++requests_[{route, status}];
}

void metrics::count_ingested(std::uint64_t stored, std::uint64_t duplicates) {
  stored_ += stored;
  duplicates_ += duplicates;
}

void metrics::render(std::string& out) const {
  metric_help(out, "hooklog_http_requests_total", "counter", "HTTP requests by route and status");
  {
    std::lock_guard g(mutex_);
    for (const auto& [k, v] : requests_)
      metric_line(out, "hooklog_http_requests_total",
                  "route=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"",
                  static_cast<double>(v));
  }
  metric_help(out, "hooklog_events_ingested_total", "counter", "events by ingest outcome");
  metric_line(out, "hooklog_events_ingested_total", "outcome=\"stored\"", static_cast<double>(stored_.load()));
  metric_line(out, "hooklog_events_ingested_total", "outcome=\"duplicate\"",
              static_cast<double>(duplicates_.load()));
  metric_line(out, "hooklog_events_ingested_total", "outcome=\"refused\"", static_cast<double>(refused_.load()));
}

}  // namespace hooklog::http
