#pragma once
// The dispatcher: takes due work from the pending-deliveries projection, sends it (signed,
// Standard Webhooks) with the outbound client, and appends one delivery_attempt record per
// attempt through the log writer. Nothing about a delivery lives outside the log: the claim
// it keeps in memory only stops an item from being sent twice at the same time.
//
// Scheduling (one dispatcher thread): a round reads, in one read transaction of the state,
// every enabled endpoint and its queued items in event order (at most scan_per_endpoint per
// endpoint; each endpoint goes on where its last cut walk stopped and wraps at the end, so
// items past the bound, new events behind a backlog of retries included, are looked at within
// about items / scan_per_endpoint rounds of rescan_interval), and starts the due ones the
// endpoint may take now:
//   * per endpoint at most max_in_flight requests (no more than max_connections_per_origin:
//     requests beyond the connections waited in the pool's queue, signed, with a timestamp
//     aging behind a slow receiver), and a token bucket of rate_limit/s
//     (burst = max(1, rate_limit)); endpoints are served round-robin, so one slow or dead
//     endpoint only ever occupies its own slots and its own origin's connections;
//   * ordering "entity": an item waits while an earlier queued item of the same entity
//     (in flight, awaiting a retry) exists for the endpoint: delivered or dead-lettered first.
//     A walk that goes on from the middle knows the entities of the items before it from the
//     walks since the last one from the first item (endpoint_state::entity_first), so one
//     entity's backlog past the bound holds back that entity alone; an entity whose earlier
//     item ended since waits for the next walk from the first item (the wrap). Walks start
//     from the first item again when the endpoint changed (a PATCH turning ordering on, an
//     enable un-parking items) and when items may have been queued behind them (a replay's:
//     pending::reorders());
//   * a 429/503 with Retry-After pauses the whole endpoint until then.
// Endpoints are parsed once per change of their stored state (the round compares the stored
// bytes with the cached ones); their secrets are opened and decoded once, and each secret keeps
// a keyed HMAC context. An endpoint whose slots are all taken is not scanned: it is marked
// starved, and a completion that frees an eighth of its slots (at least one) wakes a new round
// without waiting for the attempt record to be applied.
// Hand-offs are batched: the requests started for one endpoint in a round are read from the log
// together (round_events.hpp; an event several endpoints send in the round is read once) and
// posted to the I/O threads at once (outbound_client::deliver(batch)); the attempt records of
// the answers read in one pass of the I/O loop go to the writer as one submission
// (attempt_batch.hpp), each attempt still settled by its own outcome. A request's buffers are
// handed back by the I/O thread once it is answered and filled again for a later attempt
// (request_pool.hpp), so the two threads do not allocate and free each other's blocks per request.
// No polling: the thread sleeps (wake_signal.hpp) until the runner applied records that may
// change what is due, or while claims wait for their records (the runner's applied hook:
// an event no endpoint takes wakes nothing), a starved endpoint got free slots, the earliest
// future due time or token, or stop(); rounds where nothing changed are skipped. When a scan
// was cut at its bound the next round comes at most `rescan_interval` later.
//
// An attempt: POST of the event's original body, content-type application/json, webhook-id =
// event_id_for(seq) (the same on every retry, replay and after a restart), webhook-timestamp =
// the attempt's time (s), webhook-signature = "v1,<sig>" for the current secret and every
// previous secret still valid (space separated), webhook-event-type, webhook-replay = the
// replay id when a replay scheduled the item, the endpoint's headers
// and auth (delivery_request.hpp). Secrets and credentials sealed with the secret_box
// ("enc:v1:...") are opened first. An endpoint whose request cannot be made safely (a secret
// that does not decode, a control character in a header value or credential) is never sent
// to: each attempt is a failure "invalid_request: not sent: <why>". Requests of different
// tenants never share a connection (outbound pool key = the endpoint's tenant). SSRF refusals
// are recorded as "ssrf: the delivery target is not allowed"; the guard's detail (the resolved
// address) goes to the operator's log only ("delivery.failed", field detail).
// Outcome: 2xx success; anything else (3xx with its Location, 4xx, 5xx, transport failures)
// a failure with its reason; next_attempt_at from the endpoint's retry policy (jitter drawn
// here, written to the log), later of that and Retry-After for 429/503; none left: dead letter.
// 410 Gone also appends endpoint_disabled; so does a failure when the endpoint has had no
// success for `disable_after`. The record keeps status, latency, the answer's headers and the
// first 4 KiB of its body. A change of the endpoint's stored state (its updated_at: an enable, a
// PATCH) ends a Retry-After pause and the disable the dispatcher wrote, and the failing period
// is taken again from the endpoint's health (an enable resets its failures).
// The claim is released once the runner applied the attempt record (so the next round sees the
// item removed or rescheduled). An attempt whose record cannot be written (the log is full, the
// writer stopped) is released at once, still due: the dispatcher then starts no new attempt for
// a hold of 1 s doubling to 60 s, and after each hold one attempt (the probe), then a window
// that widens by one per written record; 63 written records end the holds (record_hold.hpp).
// Attempts are counted (stats, the metrics' outcome) once their record is written; those whose
// record failed as "unrecorded".
// Work ownership (cluster mode, work_ownership.hpp): with an `ownership` object the dispatcher
// serves only the endpoints it owns() (asked per endpoint per round and again before each
// attempt starts, so a fenced lease stops new attempts at once); a change notification starts a
// round, which picks up the due items of newly owned endpoints from the pending projection.
// Attempts in flight when an endpoint was lost finish and are recorded (counted in
// dispatcher_stats::finished_unowned). Without one (single node) every endpoint is served. Failures
// of the outbound client's shutdown write no record: the item is sent again after the restart
// (at-least-once).
//
// Thread safety: start()/stop() from one controlling thread; stats() from any thread.
// Lifetimes: log, writer and runner must outlive the dispatcher (stop() it first). One running
// dispatcher per runner: start() sets the runner's applied hook, stop() removes it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/event_log.hpp"
#include "engine/record_sink.hpp"
#include "engine/secret_box.hpp"
#include "http/delivery/work_ownership.hpp"

namespace hooklog::projections {
class projection_runner;
}

namespace hooklog::http {

struct dispatcher_options {
  bool allow_private_targets = false;
  std::string ca_file;
  std::size_t max_connections_per_origin = 16;
  unsigned io_threads = 1;
  std::chrono::milliseconds idle_connection_timeout{30'000};
  std::int64_t disable_after_us = 5LL * 24 * 3600 * 1'000'000;  // no success for this long
  std::size_t scan_per_endpoint = 2000;       // items looked at per endpoint per round
  std::chrono::milliseconds rescan_interval{1000};
  std::chrono::milliseconds stop_check{200};  // how long stop() may wait for the thread
  std::size_t excerpt_limit = 4096;
  // How long the log writer may hold a pass's attempt records for later ones to share their
  // commit (record_sink.hpp): fewer commits per delivery; the records' durability, and so the
  // claims' release and the /metrics counts, trail the answers by up to this much more.
  std::chrono::microseconds attempt_linger{2000};
  std::optional<secret_box> box;              // opens "enc:v1:" secrets
  std::function<std::int64_t()> clock;        // µs since the epoch; default now_micros
  std::uint64_t rng_seed = 0;                 // 0: random_device
  // The webhook-id of a replayed delivery (replay id, event seq); empty answer or no function:
  // the event id, as for live deliveries. Set to the replay manager's choice (replay_spec.hpp).
  std::function<std::string(std::string_view replay_id, std::uint64_t event_seq)> replay_webhook_id;
  // Counts attempts, latencies and in-flight requests for /metrics (null = none); failures,
  // dead letters and disables are logged either way (delivery_observe.hpp).
  class metrics* counters = nullptr;
  // Cluster mode: serve only the endpoints this node owns (null = all; must outlive stop()).
  work_ownership* ownership = nullptr;
};

struct dispatcher_stats {
  std::uint64_t sent = 0, succeeded = 0, failed = 0, dead_lettered = 0, disabled = 0;
  // succeeded, failed, dead_lettered, disabled: attempts whose record was written;
  // record_errors: attempts whose record failed (sent again later).
  std::uint64_t rounds = 0, in_flight = 0, claims = 0, record_errors = 0;
  // Ownership: endpoints skipped in the last round because another node owns them; attempts
  // that completed after their endpoint was no longer owned (started before the loss).
  std::uint64_t unowned_endpoints = 0, finished_unowned = 0;
};

class dispatcher {
 public:
  dispatcher(event_log& log, record_sink& writer, projections::projection_runner& runner,
             dispatcher_options options = {});
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  void start();
  // Stops taking work, stops the outbound client (in-flight sends end without a record),
  // waits for the attempt records already handed to the writer, joins.
  void stop();
  dispatcher_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hooklog::http
