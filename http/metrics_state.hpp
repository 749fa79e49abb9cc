#pragma once
// The /metrics families read from the projections and the replay manager at scrape time
// (one read transaction of the state):
//   hooklog_delivery_queue_items{endpoints="enabled|disabled"}   queued items (enabled
//       endpoints) and parked ones (disabled endpoints)
//   hooklog_delivery_queue_oldest_due_age_seconds   now - the earliest due time of a queued
//       item when it is past (0 when nothing is due)
//   hooklog_dead_letters                      dead letters kept in the state
//   hooklog_endpoints{state="enabled|disabled"}
//   hooklog_replays{state="running|finished|cancelled|failed"}
//   hooklog_replay_events_scanned / _scheduled / _delivered   summed over running replays
// A family whose read fails is left out (the scrape still answers).
#include <cstdint>
#include <string>

namespace hooklog::projections {
class projection_runner;
}

namespace hooklog::http {

class replay_manager;

void render_state_metrics(std::string& out, projections::projection_runner& runner,
                          const replay_manager* replays, std::int64_t now_us);

}  // namespace hooklog::http
