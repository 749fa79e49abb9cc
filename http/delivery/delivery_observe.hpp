#pragma once
// What the dispatcher reports about each recorded attempt, to the metrics and the logs:
//   metrics: hooklog_delivery_attempts_total{outcome}, the latency histogram, dead letters,
//            disables (metrics.hpp);
//   logs:    "delivery.failed" (warn; at most 10 lines a second per outcome, the next line
//            saying how many were left out), "delivery.dead_letter" (error; same sampling),
//            "endpoint.disabled" (warn; every one).
// Fields: endpoint_id, tenant, event_id, attempt, outcome, status (0 = no answer), reason
// (the attempt record's error), latency_ms, replay_id (when a replay scheduled it), detail
// (operator-only context, e.g. where an SSRF-refused host resolved to; never recorded).
//
// Thread safety: any thread.
#include <cstdint>
#include <string>
#include <string_view>

namespace hooklog::http {

class metrics;

struct attempt_report {
  std::string_view endpoint_id, tenant;
  std::uint64_t event_seq = 0;
  std::uint32_t attempt = 0;
  std::string_view outcome;  // success | failure | a delivery_errc name
  int status = 0;
  std::int64_t latency_us = -1;  // < 0: nothing was sent
  std::string_view reason;       // the record's error text
  std::string_view replay_id;
  std::string_view detail;
  bool dead_letter = false;
  std::string_view disable_reason;  // not empty: this attempt disabled the endpoint
};

void observe_attempt(metrics* m, const attempt_report& r);

}  // namespace hooklog::http
