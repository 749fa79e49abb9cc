#include "http/delivery/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace hooklog::http {

const std::vector<double> kRequestSecondsBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kDeliverySecondsBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10,  30};

namespace {
constexpr const char* kOutcomes[] = {
    "success", "failure",  "timeout", "refused", "dns",
    "tls",     "protocol", "ssrf",    "bad_url", "invalid_request", "unrecorded"};

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

void metric_help(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void metric_line(std::string& out, const std::string& name, const std::string& labels,
                 double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " ";
  out += number(value);
  out += "\n";
}

void metric_single(std::string& out, const std::string& name, const char* type, const char* help,
                   double value) {
  metric_help(out, name, type, help);
  metric_line(out, name, "", value);
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string_view method_label(std::string_view m) {
  for (std::string_view k : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    if (m == k) return k;
  return "other";
}

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void histogram::observe(double seconds) {
  const auto i = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  std::lock_guard g(mu_);
  ++counts_[i];
  sum_ += seconds;
  ++count_;
}

void histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::lock_guard g(mu_);
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cum += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    metric_line(out, name + "_bucket", labels + sep + "le=\"" + le + "\"",
                static_cast<double>(cum));
  }
  metric_line(out, name + "_sum", labels, sum_);
  metric_line(out, name + "_count", labels, static_cast<double>(count_));
}

metrics::metrics() : delivery_seconds_(kDeliverySecondsBounds) {
  for (const char* o : kOutcomes) attempts_.emplace(o, 0);
}

void metrics::observe_request(const std::string& route, std::string_view method, unsigned code,
                              double seconds) {
  const std::string m(method_label(method));
  std::lock_guard g(mutex_);
  ++requests_[{route, m, code}];
  auto it = request_seconds_.find({route, m});
  if (it == request_seconds_.end())
    it = request_seconds_
             .emplace(std::piecewise_construct, std::forward_as_tuple(route, m),
                      std::forward_as_tuple(kRequestSecondsBounds))
             .first;
  it->second.observe(seconds);
}

void metrics::count_server_refusal(unsigned code) {
  std::lock_guard g(mutex_);
  ++server_refusals_[code];
}

void metrics::count_ingested(std::uint64_t stored, std::uint64_t duplicates) {
  stored_ += stored;
  duplicates_ += duplicates;
}

void metrics::count_attempt(std::string_view outcome, double latency_seconds, bool dead_letter,
                            bool disabled) {
  if (latency_seconds >= 0) delivery_seconds_.observe(latency_seconds);
  if (dead_letter) ++dead_;
  if (disabled) ++disabled_;
  std::lock_guard g(mutex_);
  auto it = attempts_.find(outcome);
  if (it == attempts_.end()) it = attempts_.emplace(std::string(outcome), 0).first;  // bounded enum
  ++it->second;
}

void metrics::render(std::string& out) const {
  metric_help(out, "hooklog_http_requests_total", "counter",
              "HTTP requests answered by the API, by route pattern, method and status code");
  {
    std::lock_guard g(mutex_);
    for (const auto& [k, v] : requests_)
      metric_line(out, "hooklog_http_requests_total",
                  "route=\"" + label_value(std::get<0>(k)) + "\",method=\"" + std::get<1>(k) +
                      "\",code=\"" + std::to_string(std::get<2>(k)) + "\"",
                  static_cast<double>(v));
    metric_help(out, "hooklog_http_server_refusals_total", "counter",
                "answers the server gave before routing (malformed 400, 413, 431; 503 and 429 at "
                "accept), by code");
    for (const auto& [code, v] : server_refusals_)
      metric_line(out, "hooklog_http_server_refusals_total",
                  "code=\"" + std::to_string(code) + "\"", static_cast<double>(v));
    metric_help(out, "hooklog_http_request_duration_seconds", "histogram",
                "time from routing a request to handing its answer to the server");
    for (const auto& [k, h] : request_seconds_)
      h.render(out, "hooklog_http_request_duration_seconds",
               "route=\"" + label_value(k.first) + "\",method=\"" + k.second + "\"");
    metric_help(out, "hooklog_delivery_attempts_total", "counter",
                "delivery attempts recorded, by outcome (success, failure = a non-2xx answer, "
                "or the transport error; unrecorded = its record could not be written)");
    for (const auto& [o, v] : attempts_)
      metric_line(out, "hooklog_delivery_attempts_total", "outcome=\"" + label_value(o) + "\"",
                  static_cast<double>(v));
  }
  metric_help(out, "hooklog_delivery_duration_seconds", "histogram",
              "latency of delivery requests that were sent");
  delivery_seconds_.render(out, "hooklog_delivery_duration_seconds", "");
  metric_single(out, "hooklog_deliveries_in_flight", "gauge", "delivery requests being sent now",
                static_cast<double>(std::max<std::int64_t>(0, in_flight_.load())));
  metric_single(out, "hooklog_delivery_dead_letters_total", "counter",
                "deliveries that ended in the dead letters since the start",
                static_cast<double>(dead_.load()));
  metric_single(out, "hooklog_endpoint_disables_total", "counter",
                "endpoints disabled by the dispatcher since the start (410 Gone, failing too long)",
                static_cast<double>(disabled_.load()));
  metric_help(out, "hooklog_events_ingested_total", "counter", "events by ingest outcome");
  metric_line(out, "hooklog_events_ingested_total", "outcome=\"stored\"",
              static_cast<double>(stored_.load()));
  metric_line(out, "hooklog_events_ingested_total", "outcome=\"duplicate\"",
              static_cast<double>(duplicates_.load()));
  metric_line(out, "hooklog_events_ingested_total", "outcome=\"refused\"",
              static_cast<double>(refused_.load()));
}

}  // namespace hooklog::http
