#pragma once
// The materializer of a cell: one thread per node that consumes the cell's stream in order,
// from the local log's applied_seq() + 1, and appends every message to the local event_log with
// seq = stream sequence and recorded_at from the message (event_log::append_replicated), several
// messages per LMDB transaction. Every node applies the same messages with the same rule, so
// every node holds byte-identical records and the same chain hash (docs/CLUSTER.md).
//
// Consumption: an ordered push consumer (ephemeral, no acks; the client recreates it after a
// gap or missed heartbeats); the thread also resubscribes from applied_seq() + 1 when the stream
// is ahead and nothing arrived for a while (a consumer lost with its server).
// Messages that do not decode as records become gaps to 0 on every node (docs/FORMAT.md). A
// stream whose first message is beyond applied_seq() + 1 (aged out, --cluster-max-age) cannot
// be caught up from: the materializer stops with an error (last_error()); /readyz says so.
// Nor can a stream that is not the one this log was materialized from (deleted and created
// again, or restored from an older backup): its sequence went back below applied_seq(), or its
// message at applied_seq() is not the record the log holds there. Checked at start and about
// once a second; the materializer stops with cluster_errc::stream_mismatch.
//
// Thread safety: every accessor may be called from any thread. The listener runs on the
// materializer thread after each commit; it must not block.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/cluster/nats.hpp"
#include "engine/event_log.hpp"

namespace hooklog::cluster {

// cluster_errc::aged_out (naming --bootstrap-from) when the stream no longer holds the seqs
// after `applied`: its first message is beyond applied + 1, or it is empty past applied.
result<void> check_not_aged_out(const stream_state& st, std::uint64_t applied,
                                std::string_view cell);

// cluster_errc::stream_mismatch when the stream is not the one `log` was materialized from:
// its last seq is below log.applied_seq(), or its message at applied_seq() does not decode to
// the record the log holds there (same kind, tenant, source, type, entity, idempotency key and
// body; recorded_at not after the log's, which the materializer may raise). Nothing to compare (an
// empty log, a gap at applied_seq(), the message aged out) is no mismatch. `st` is the stream's
// state as just read; one JetStream request when the log is not empty (cluster_errc::timeout /
// nats_failure when the message cannot be read).
result<void> check_same_stream(const jetstream& js, std::string_view cell, const stream_state& st,
                               const event_log& log);

struct materializer_options {
  std::string cell;
  std::size_t max_batch = 1024;                       // messages per LMDB transaction
  std::chrono::milliseconds stall_resubscribe{3000};  // the stream is ahead, nothing arrives
};

class materializer {
 public:
  // Reads the stream's state (its last seq is the target of readiness), subscribes and starts
  // the thread. `conn` and `log` must outlive the materializer.
  static result<std::unique_ptr<materializer>> start(const connection& conn, event_log& log,
                                                     materializer_options opts);
  ~materializer();
  materializer(const materializer&) = delete;
  materializer& operator=(const materializer&) = delete;

  void stop();  // joins the thread; idempotent

  // The last stream sequence applied to the local log (records and gaps).
  std::uint64_t materialized_seq() const { return log_.applied_seq(); }
  // The stream's last sequence as last seen (messages pending behind the last one applied, or
  // the stream's state, read about once a second).
  std::uint64_t stream_last_seq() const { return stream_last_.load(std::memory_order_acquire); }
  // Asks the stream for its state now (a JetStream request, about a round trip; from any
  // thread), raises stream_last_seq() to it and returns its last sequence, or nullopt when the
  // request fails. The materializer's thread calls it about once a second.
  std::optional<std::uint64_t> fetch_stream_last_seq();
  std::uint64_t lag() const;
  // The stream's last seq when this node started: ready once materialized up to it.
  std::uint64_t start_target() const { return start_target_; }
  bool caught_up() const { return materialized_seq() >= start_target_; }
  // Blocks until the local log applied `seq` (or the timeout passes); true when it has.
  bool wait_materialized(std::uint64_t seq, std::chrono::milliseconds timeout) const;
  std::optional<error> last_error() const;
  // Called after each commit with the new materialized seq (one listener; set before writes).
  void set_listener(std::function<void(std::uint64_t)> fn);
  std::uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }

 private:
  materializer(const connection& conn, event_log& log, materializer_options opts);
  void run();
  result<void> subscribe();
  void unsubscribe();
  void set_error(std::optional<error> e);
  void raise_stream_last(std::uint64_t seq);

  const connection& conn_;
  event_log& log_;
  materializer_options opts_;
  std::unique_ptr<jetstream> js_;
  natsSubscription* sub_ = nullptr;
  std::uint64_t start_target_ = 0;
  std::atomic<std::uint64_t> stream_last_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::optional<error> error_;
  std::function<void(std::uint64_t)> listener_;
  std::thread thread_;
};

}  // namespace hooklog::cluster
