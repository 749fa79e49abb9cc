#pragma once
// Cluster mode of `hooklog serve` (docs/CLUSTER.md): the objects a node of a cell runs beside
// the single-node parts, constructed by app.cpp only when `--cluster` is given. It connects to
// NATS, checks (or creates) the cell's stream, starts the materializer (stream -> local log) and
// the JetStream publisher, which is the node's record_sink instead of the LMDB log_writer.
// Everything else (projections, queries, verify, export) reads the local log as in single-node
// mode.
//
// Thread safety: status(), ready() and render_metrics() from any thread; open/follow/stop from
// the controlling thread.
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "engine/event_log.hpp"
#include "engine/record_sink.hpp"

namespace hooklog::cluster {
class connection;
class materializer;
class jetstream_publisher;
}  // namespace hooklog::cluster

namespace hooklog::http {

struct cluster_config {
  std::string urls;                 // --cluster nats://a[,nats://b]; empty: single-node mode
  std::string cell;                 // --cell NAME: the stream HOOKLOG_<NAME>
  std::string node_id;              // --node-id; default: hostname:port
  int replicas = 3;                 // --cluster-replicas (the stream's; 1 for a one-server test)
  std::chrono::seconds max_age{0};  // --cluster-max-age; 0 = keep every record
  // Work ownership (docs/CLUSTER.md): --delivery-slots (the same on every node of the cell) and
  // --lease-ttl-ms (heartbeat and fence margin are a fifth of it each).
  std::uint32_t delivery_slots = 64;
  std::chrono::milliseconds lease_ttl{5000};
  // --bootstrap-from http://PEER:PORT: a caught-up node whose log snapshot this node copies when
  // the stream has aged out past its (empty) log (docs/CLUSTER.md).
  std::string bootstrap_from;
  bool enabled() const { return !urls.empty(); }
};

class cluster_mode {
 public:
  // Connects, ensures the stream, starts the materializer and the publisher. Errors name the
  // URLs, the stream or the setting at fault (engine/cluster/nats.hpp).
  // cluster_errc::aged_out when the stream no longer holds the seqs after the local log; then
  // *stream_first_seq (when given) is the stream's first seq (its last + 1 when it is empty).
  static result<std::unique_ptr<cluster_mode>> open(const cluster_config& cfg, event_log& log,
                                                    std::uint64_t* stream_first_seq = nullptr);
  ~cluster_mode();
  cluster_mode(const cluster_mode&) = delete;
  cluster_mode& operator=(const cluster_mode&) = delete;

  record_sink& sink();
  // The NATS connection (the delivery slot leases share it; work_ownership in docs/CLUSTER.md).
  natsConnection* nats_handle() const;
  const cluster_config& config() const { return cfg_; }

  // Calls fn(record) on a thread of its own for every record the local log commits after
  // `from_seq` (records written through other nodes included), e.g. key records for the key
  // store. One follower; fn must not block for long.
  void follow(std::uint64_t from_seq, std::function<void(const record_view&)> fn);

  // Publisher first (what is in flight finishes), then the follower and the materializer.
  void stop();

  // Ready once the local log has materialized the stream up to its last seq as of the start.
  bool ready() const;
  std::uint64_t lag() const;
  std::uint64_t materialized_seq() const;
  // The stream's last seq, asked of JetStream now (nullopt when it cannot be asked).
  std::optional<std::uint64_t> fetch_stream_last_seq();
  // {"role":"cluster","cell","node_id","materialized_seq","stream_last_seq","lag",
  //  "caught_up","nats"} and "cluster_error" when the materializer has one.
  nlohmann::json status() const;
  // Prometheus lines (hooklog_cluster_*).
  void render_metrics(std::string& out) const;

 private:
  cluster_mode(cluster_config cfg, event_log& log);
  cluster_config cfg_;
  event_log& log_;
  std::unique_ptr<cluster::connection> conn_;
  std::unique_ptr<cluster::materializer> mat_;
  std::unique_ptr<cluster::jetstream_publisher> pub_;
  std::atomic<bool> stopping_{false};
  std::thread follower_;
};

// The default node id: this host's name and the port of `listen` ("HOST:PORT"); with port 0,
// the process id instead ("name:pid1234").
std::string default_node_id(const std::string& listen);

}  // namespace hooklog::http
