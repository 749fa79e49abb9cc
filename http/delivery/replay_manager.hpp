#pragma once
// Replays: sending a range of the log again to one endpoint, as a resumable job
// recorded in the log itself.
//
// Records (entity = ("replay", id), tenant = the endpoint's tenant; every record
// after the request has ref_seq = the replay_requested seq):
//   replay_requested  body = the spec (replay_spec_to_json) + "replay_id".
//   replay_progressed body {"replay_id","endpoint_id","scheduled":[event seqs],
//                     "scanned_to","scanned","scheduled_count","delivered","failed",
//                     "counted_to"}: a checkpoint. The pending projection queues one
//                     item per scheduled seq with the replay marker.
//   replay_finished   body {"replay_id","state":"finished"|"failed","error",...counters}.
//   replay_cancelled  body {"replay_id","reason",...counters}; the pending projection
//                     drops the replay's still-queued items.
//
// A replay scans events with seq in [1, to_seq] (to_seq = the log head when it was
// asked for) in sequence order through the log's indexes (tenant, exact type or
// entity; recorded-time ranges are narrowed to a seq range by binary search), keeps
// those that match the request (time range, types, entity), the endpoint's own
// filters (type patterns, payload filter, live/test mode) and the mode:
//   all      every matching event;
//   missing  events this endpoint has no successful attempt for (never sent included);
//   failed   events whose last attempt to this endpoint failed (dead letters and
//            deliveries still being retried).
// Scheduled events are delivered with their own webhook-id (the event id), or with
// fresh_webhook_id(replay id, seq) when the spec asks for "fresh" ids (webhook_id()); the
// attempts carry the replay id.
//
// Throttling (live deliveries go first): a token bucket per replay (rate_limit
// events/s) and one over all replays (global_rate); no chunk is scheduled while the
// endpoint has max_queued or more items queued or parked; chunks hold at most
// chunk events. Restart: load() rebuilds every replay from its records; a running
// replay resumes after its last checkpoint (what was queued is in the pending
// projection already, so only in-flight deliveries are repeated).
//
// Counters: scanned (events examined), scheduled, delivered (successful attempts
// carrying the replay id), failed (dead-lettered ones); outstanding: the queued items that
// serve the replay (queued by it, or already queued and relied on: pending.hpp), which reaches
// 0 however they end (delivered, dead-lettered, dropped with the endpoint, or by a cancel). An event that was already
// queued for the endpoint when the replay reached it is served by that delivery and
// is not counted as delivered by the replay.
//
// Cluster mode (replay_options::ownership, work_ownership.hpp): every node follows the replay
// records of the log (its own and those other nodes appended: requests, checkpoints, ends,
// cancellations), so any node answers for and cancels any replay; only the node that owns the
// replay's endpoint scans and appends checkpoints, resuming after the last checkpoint it has
// materialized when it takes the endpoint over. The webhook-id of a replayed delivery depends
// only on the log (the request record's webhook_ids and the replay id), so it is the same on
// every node. Without an ownership object the node runs every replay (single node).
//
// Thread safety: every public member may be called from any thread. One worker
// thread (start/stop) scans, appends the progress records and the cancellations.
// Lifetimes: log, writer and runner must outlive the manager (stop() it first).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/event_log.hpp"
#include "engine/record_sink.hpp"
#include "http/delivery/replay_spec.hpp"
#include "http/delivery/work_ownership.hpp"
#include "projections/endpoint.hpp"

namespace hooklog::projections {
class projection_runner;
}

namespace hooklog::http {

// One bounded step of a scan.
struct replay_chunk {
  std::vector<std::uint64_t> scheduled;  // event seqs, ascending
  std::uint64_t scanned_to = 0;          // every seq up to here has been looked at
  std::uint64_t examined = 0;            // events looked at (in the range, of the tenant)
  bool done = false;                     // scanned_to reached spec.to_seq
};

// Scans events with seq in [from_seq, spec.to_seq]: stops after max_schedule events
// were kept or max_examine looked at. Safe on any thread (read transactions only).
// Used by the manager and by the benchmark.
result<replay_chunk> scan_replay_chunk(const event_log& log, const replay_spec& spec,
                                       const projections::endpoint& ep, std::uint64_t from_seq,
                                       std::size_t max_schedule, std::size_t max_examine);

struct replay_info {
  std::string id;
  std::uint64_t request_seq = 0;
  replay_spec spec;
  std::string state = "running";  // running | finished | cancelled | failed
  std::string error;
  std::int64_t created_at = 0, finished_at = 0;  // µs
  std::uint64_t scanned_to = 0;   // checkpoint: every seq up to here was looked at
  std::uint64_t scanned = 0, scheduled = 0, delivered = 0, failed = 0;
  std::uint64_t counted_to = 0;   // attempts up to this seq are in delivered/failed
  std::uint64_t outstanding = 0;  // queued or parked items that serve it (pending::replay_items;
                                  // set by get() and list())
  std::uint64_t last_record_seq = 0;
  double scan_rate = 0;           // events examined per second while running (estimate)
  bool duplicate = false;         // create(): the record's idempotency key was known; this is
                                  // the replay of the original record (request_seq)
};
// The API answer: id, state, endpoint_id, the spec, the counters and "left"
// (estimates of events still to scan, deliveries still queued, seconds to go).
nlohmann::json to_json(const replay_info& r);

struct replay_options {
  std::int64_t default_rate = 1000;   // events/s per replay when the request names none
  std::int64_t max_rate = 100'000;    // the most a request may ask for
  std::int64_t global_rate = 5000;    // events/s over all running replays
  std::size_t chunk = 1000;           // events per progress record at most
  std::size_t max_examine = 50'000;   // events looked at per step at most
  std::uint64_t max_queued = 200;     // the endpoint's queued+parked items that pause a replay
  std::chrono::milliseconds tick{100};
  std::chrono::milliseconds checkpoint_interval{1000};  // checkpoint scans that scheduled nothing
  // Cluster mode: run only the replays of owned endpoints and follow the others' records
  // (null = run every replay; must outlive stop()).
  work_ownership* ownership = nullptr;
};

class replay_manager {
 public:
  replay_manager(const event_log& log, record_sink& writer, projections::projection_runner& runner,
                 replay_options opts = {});
  ~replay_manager();
  replay_manager(const replay_manager&) = delete;
  replay_manager& operator=(const replay_manager&) = delete;

  // Reads every replay from the log (before start()).
  result<void> load();
  void start();
  void stop();

  using done_fn = std::function<void(result<replay_info>)>;
  // Appends replay_requested (spec.tenant and spec.to_seq must be set; to_seq = 0 means
  // the current head); `done` runs on the writer thread once it is durable.
  // `stamp` may set the record's idempotency fields (http/idempotency.hpp); when the key was
  // known nothing is stored and `done` gets the original replay with duplicate set.
  void create(replay_spec spec, done_fn done, std::function<void(record&)> stamp = {});
  // Cancels a running or finished replay: the worker appends replay_cancelled, then
  // calls `done` (on the worker thread). An unknown id, or a replay already cancelled
  // or failed, is an errc::invalid_record error whose message says which.
  void cancel(const std::string& id, std::string reason, done_fn done);

  std::optional<replay_info> get(std::string_view id) const;
  // The webhook-id for this replay's delivery of the event `event_seq`: fresh_webhook_id when
  // the replay asked for "fresh" ids; empty (the event id) otherwise or for an unknown replay.
  std::string webhook_id(std::string_view replay_id, std::uint64_t event_seq) const;
  // Replays of `tenant` ("" = all) in creation order (request seq; newest first when
  // `descending`), after the replay `after` (an id; "" = from the start; an unknown id gives
  // nothing); endpoint_id and state filter when not empty.
  std::vector<replay_info> list(std::string_view tenant, std::string_view endpoint_id,
                                std::string_view state, std::string_view after, std::size_t limit,
                                bool descending = false) const;
  const replay_options& options() const { return opts_; }

  static std::string new_id();

 private:
  struct job;
  void run();
  void follow_attempts();
  // Cluster mode: a replay record another node appended (seq after what this node knows).
  void apply_foreign(const record_view& v);
  // Shared by load() and apply_foreign(). The job a replay_requested record describes (null when
  // its spec does not parse; `body` loses its replay_id); and the scan progress a later replay
  // record states (scanned_to, scanned, scheduled_count), which is also what is persisted.
  static std::shared_ptr<job> job_from_request(const record_view& v, nlohmann::json& body);
  static void apply_scan_progress(const nlohmann::json& body, job& j);
  // A replay_finished (state, error, time) or replay_cancelled record ends `r`; other kinds
  // leave it alone.
  static void apply_end(const record_view& v, const nlohmann::json& body, replay_info& r);
  void step(job& j, std::int64_t now_us);
  void finish(job& j, const std::string& state, const std::string& error);
  nlohmann::json counters_json(const replay_info& r) const;
  // The pending items that still serve replay `id` (0 when the state cannot be read).
  std::uint64_t queued_items(std::string_view id) const;
  record make_record(record_kind kind, const replay_info& r, nlohmann::json body) const;

  const event_log& log_;
  record_sink& writer_;
  projections::projection_runner& runner_;
  replay_options opts_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<job>, std::less<>> jobs_;
  struct cancel_request {
    std::string id, reason;
    done_fn done;
  };
  std::deque<cancel_request> cancels_;
  bool stopping_ = false;
  std::uint64_t follow_from_ = 0;  // worker: attempts after this seq are not counted yet
  double global_tokens_ = 0;
  std::int64_t global_refill_us_ = 0;
  std::thread thread_;
};

}  // namespace hooklog::http
