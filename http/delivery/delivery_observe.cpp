#include "http/delivery/delivery_observe.hpp"

#include <nlohmann/json.hpp>

#include "engine/logger.hpp"
#include "engine/record.hpp"
#include "http/delivery/metrics.hpp"

namespace hooklog::http {

void observe_attempt(metrics* m, const attempt_report& r) {
  const bool success = r.outcome == "success";
  if (m)
    m->count_attempt(r.outcome, r.latency_us >= 0 ? static_cast<double>(r.latency_us) / 1e6 : -1.0,
                     r.dead_letter, !r.disable_reason.empty());
  if (success) return;
  auto fields = [&] {
    nlohmann::json f = {{"endpoint_id", r.endpoint_id},
                        {"tenant", r.tenant},
                        {"event_id", event_id_for(r.event_seq)},
                        {"attempt", r.attempt},
                        {"outcome", r.outcome},
                        {"status", r.status},
                        {"reason", r.reason}};
    if (r.latency_us >= 0) f["latency_ms"] = static_cast<double>(r.latency_us) / 1000.0;
    if (!r.replay_id.empty()) f["replay_id"] = r.replay_id;
    if (!r.detail.empty()) f["detail"] = r.detail;
    return f;
  };
  static logging::log_sampler failures(10), dead(10);
  failures.write(logging::level::warn, r.outcome, "delivery.failed", "a delivery attempt failed",
                 fields);
  if (r.dead_letter)
    dead.write(logging::level::error, r.outcome, "delivery.dead_letter",
               "a delivery has no attempt left: moved to the dead letters", fields);
  if (!r.disable_reason.empty()) {
    auto f = fields();
    f["disable_reason"] = r.disable_reason;
    logging::warn("endpoint.disabled", "the dispatcher disabled an endpoint", f);
  }
}

}  // namespace hooklog::http
