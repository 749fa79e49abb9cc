#include "http/metrics_state.hpp"

#include <algorithm>
#include <map>

#include "http/delivery/metrics.hpp"
#include "http/delivery/replay_manager.hpp"
#include "projections/endpoint.hpp"
#include "projections/runner.hpp"

namespace hooklog::http {

void render_state_metrics(std::string& out, projections::projection_runner& runner,
                          const replay_manager* replays, std::int64_t now_us) {
  if (auto txn = runner.store().begin_read()) {
    if (auto t = runner.queue().totals(*txn)) {
      metric_help(out, "hooklog_delivery_queue_items", "gauge",
                  "deliveries waiting: queued for enabled endpoints, parked for disabled ones");
      metric_line(out, "hooklog_delivery_queue_items", "endpoints=\"enabled\"",
                  static_cast<double>(t->queued));
      metric_line(out, "hooklog_delivery_queue_items", "endpoints=\"disabled\"",
                  static_cast<double>(t->parked));
      metric_single(out, "hooklog_dead_letters", "gauge", "dead letters kept in the state",
                    static_cast<double>(t->dead));
    }
    if (auto due = runner.queue().next_due(*txn)) {
      const double age = *due && **due < now_us ? static_cast<double>(now_us - **due) / 1e6 : 0;
      metric_single(out, "hooklog_delivery_queue_oldest_due_age_seconds", "gauge",
                    "how long the earliest due delivery has been due (0 when none is)", age);
    }
    if (auto dbi = runner.store().db("sub_endpoints")) {
      if (auto c = lmdb::cursor::open(*txn, *dbi)) {
        double enabled = 0, disabled = 0;
        bool ok = true;
        for (auto kv = c->first();; kv = c->next()) {
          if (!kv) {
            ok = false;
            break;
          }
          if (!*kv) break;
          auto e = projections::endpoint_from_state((**kv).second);
          if (!e) continue;
          (e->disabled ? disabled : enabled) += 1;
        }
        if (ok) {
          metric_help(out, "hooklog_endpoints", "gauge", "endpoints by state");
          metric_line(out, "hooklog_endpoints", "state=\"enabled\"", enabled);
          metric_line(out, "hooklog_endpoints", "state=\"disabled\"", disabled);
        }
      }
    }
  }
  if (!replays) return;
  std::map<std::string, double> states = {
      {"running", 0}, {"finished", 0}, {"cancelled", 0}, {"failed", 0}};
  double scanned = 0, scheduled = 0, delivered = 0;
  for (const auto& r : replays->list("", "", "", "", SIZE_MAX)) {
    if (auto it = states.find(r.state); it != states.end()) it->second += 1;
    if (r.state != "running") continue;
    scanned += static_cast<double>(r.scanned);
    scheduled += static_cast<double>(r.scheduled);
    delivered += static_cast<double>(r.delivered);
  }
  metric_help(out, "hooklog_replays", "gauge", "replays by state");
  for (const auto& [s, n] : states) metric_line(out, "hooklog_replays", "state=\"" + s + "\"", n);
  metric_single(out, "hooklog_replay_events_scanned", "gauge",
                "events examined by the running replays", scanned);
  metric_single(out, "hooklog_replay_events_scheduled", "gauge",
                "events scheduled by the running replays", scheduled);
  metric_single(out, "hooklog_replay_events_delivered", "gauge",
                "events delivered by the running replays", delivered);
}

}  // namespace hooklog::http
