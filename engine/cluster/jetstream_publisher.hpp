#pragma once
// The second implementation of record_sink (engine/record_sink.hpp): records are published to
// the cell's JetStream stream instead of being appended locally; the materializer of this node
// (materializer.hpp) appends them to the local log with the stream's sequence.
//
// Contract, as record_sink's, on every node:
// - `done` reports success only after JetStream acknowledged the message (stored by a quorum of
//   the stream's replicas) AND this node's materializer applied that stream seq to the local
//   log, so the local log holds the record when a client is answered (read-your-writes). A
//   record not materialized within `materialize_timeout` fails with not_materialized (it is in
//   the stream and will be applied; the client may retry with its idempotency key).
// - A record with an idempotency key already in the local log is answered with the original
//   seq (duplicate) without publishing. Its message id (header Nats-Msg-Id) is a hash of
//   tenant\0source\0key, so JetStream's duplicate window catches concurrent repeats through
//   other nodes: a PubAck with duplicate=true answers the original seq as a duplicate. A repeat
//   that reaches the stream after the window is a gap on every node and is answered with the
//   original seq too.
// - Other records get a unique message id, so a publish retried after a lost acknowledgement
//   is stored once.
// - Publishing is asynchronous, up to `max_in_flight` messages awaiting their PubAck; a publish
//   without an answer (server killed, leader election) is sent again with the same message id
//   until `give_up_after`, then fails with cluster_errc::timeout. A record larger than the
//   servers' max_payload fails at once (cluster_errc::bad_config, naming both sizes).
// - A new message (not a duplicate) acknowledged at a seq this node had already materialized
//   when it first sent it can only come from another stream (deleted and created again, or
//   restored): it fails with cluster_errc::stream_mismatch rather than being answered with the
//   seq of a record that is not it; the materializer stops on the same evidence.
// - Order: one publishing thread sends in submit() order on one connection; a retried message
//   may be stored after later ones.
//
// Message format (docs/FORMAT.md, "Cluster stream messages"): the record encoded as in the log
// (record_codec) with seq 0, zero hashes and its checksum; recorded_at set here from this
// node's clock; headers Nats-Msg-Id and Hooklog-Node.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "engine/cluster/materializer.hpp"
#include "engine/cluster/nats.hpp"
#include "engine/record_sink.hpp"

namespace hooklog::cluster {

struct publisher_options {
  std::string cell;
  std::string node_id;
  std::size_t max_in_flight = 4096;
  std::chrono::milliseconds ack_timeout{4000};           // one attempt without a PubAck
  std::chrono::milliseconds give_up_after{30000};        // retried until then
  std::chrono::milliseconds materialize_timeout{10000};  // PubAck to applied on this node
};

// How long a publish may be sent again with its message id: no longer than JetStream's
// duplicate window still covers the first send (less a second for transit), else a resend
// after a lost acknowledgement is stored a second time; at most `give_up_after`. With a window
// of a few seconds (--cluster-max-age under ~31 s shrinks it) nothing is resent: the publish
// fails as timed out (the caller answers "may have been stored").
std::chrono::milliseconds resend_window(std::chrono::milliseconds duplicate_window,
                                        std::chrono::milliseconds give_up_after);

// The message id of a record with an idempotency key: "i-" + 32 hex digits of
// SHA-256(tenant \0 source \0 key).
std::string idempotent_msg_id(std::string_view tenant, std::string_view source,
                              std::string_view key);

class jetstream_publisher final : public record_sink {
 public:
  // `conn`, `log` and `mat` must outlive the publisher.
  static result<std::unique_ptr<jetstream_publisher>> open(const connection& conn, event_log& log,
                                                           materializer& mat,
                                                           publisher_options opts);
  ~jetstream_publisher() override;
  jetstream_publisher(const jetstream_publisher&) = delete;
  jetstream_publisher& operator=(const jetstream_publisher&) = delete;

  void submit(std::vector<record> records, callback done) override;
  using record_sink::submit;
  writer_stats stats() const override;
  // Waits (bounded by give_up_after) for what is in flight, fails the rest with
  // errc::writer_stopped, joins the threads. Later submissions fail at once.
  void stop();

  std::uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }
  std::size_t in_flight() const;

 private:
  struct submission;
  struct entry {
    std::uint64_t token = 0;
    std::shared_ptr<submission> sub;
    std::size_t index = 0;
    std::string msg_id;
    std::string data;
    bool has_key = false;
    int attempts = 0;
    std::chrono::steady_clock::time_point sent_at, first_sent, acked_at;
    std::uint64_t seq = 0;
    bool duplicate = false;
    bool own_retry_duplicate = false;  // a duplicate PubAck to a resent keyed record: ours?
    std::int64_t recorded_at = 0;      // as published (tells our record from another node's)
    std::uint64_t floor = 0;           // materialized_seq() at the first send: a new message's
                                       // seq is above it, unless the stream was replaced
  };
  struct submission {
    std::vector<std::optional<result<append_outcome>>> outcomes;
    std::size_t remaining = 0;
    callback done;
    std::chrono::steady_clock::time_point started;
  };

  jetstream_publisher(const connection& conn, event_log& log, materializer& mat,
                      publisher_options opts);
  static void on_ack(jsCtx* js, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure);
  void handle_ack(natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae);
  void publish_loop();
  void complete_loop();
  // A message ready to hand to the client: built under mu_ (it copies the entry's bytes),
  // published outside it (the ack handler takes mu_).
  struct outgoing {
    std::uint64_t token = 0;
    std::string msg_id;
    natsMsg* msg = nullptr;
  };
  outgoing prepare(const entry& e);
  // Publishes outside mu_; then, under mu_, schedules a retry of what the client did not take,
  // or fails a record over max_payload.
  void publish(std::vector<outgoing>& out, std::unique_lock<std::mutex>& g);
  void resolve(const std::shared_ptr<submission>& s, std::size_t index, result<append_outcome> r);
  bool stored_is_ours(const entry& e) const;

  const connection& conn_;
  event_log& log_;
  materializer& mat_;
  publisher_options opts_;
  std::string subject_;
  std::string node_token_;
  std::unique_ptr<jetstream> js_;

  mutable std::mutex mu_;
  std::condition_variable publish_cv_, complete_cv_;
  std::deque<std::pair<std::vector<record>, callback>> queue_;
  std::unordered_map<std::uint64_t, entry> in_flight_;  // token -> published, no PubAck yet
  std::multimap<std::uint64_t, entry> acked_;           // seq -> acked, awaiting materialization
  std::deque<std::shared_ptr<submission>> finished_;    // all outcomes known: run `done`
  std::uint64_t next_token_ = 1;
  bool stopping_ = false;
  bool publisher_exited_ = false;
  writer_stats stats_;
  std::atomic<std::uint64_t> retries_{0};
  std::thread publisher_, completer_;
};

}  // namespace hooklog::cluster
