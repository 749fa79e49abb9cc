#pragma once
// The /v1 HTTP API of `hooklog serve`: routing as a function from request to
// response. Handlers run on the server's I/O threads; reads use short LMDB read
// transactions, writes go through the log writer and answer from its callback
// (after the group commit), never blocking an I/O thread on a commit.
//
// Lifetimes: everything in api_context must outlive the api and every
// responder it completes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "engine/event_log.hpp"
#include "engine/record_sink.hpp"
#include "engine/secret_box.hpp"
#include "engine/source.hpp"
#include "http/delivery/metrics.hpp"
#include "http/endpoint_quota.hpp"
#include "http/key_store.hpp"
#include "http/server.hpp"

namespace hooklog {
class head_publisher;
}

namespace hooklog::projections {
class projection_runner;
}
namespace hooklog::cluster {
class slot_leases;
}

namespace hooklog::http {

class replay_manager;
class console_files;
class cluster_mode;
class min_seq_waiter;

struct api_options {
  bool allow_private_targets = false;
  std::chrono::seconds rotation_overlap{24 * 3600};  // old secret stays valid this long
  normalize_limits limits;
  std::string ca_file;  // extra trust anchors for HTTPS deliveries
  std::size_t max_page = 1000;
  // Lines (blank ones included, though they are skipped) one POST .../events:batch may carry:
  // each other line is answered with an item, so this bounds the answer and the request's
  // memory as the body limit bounds its bytes. Over it: 413 before any line is read.
  std::size_t batch_max_lines = 10000;
  // Records one list page (GET /v1/events, /v1/attempts; a chunk of an NDJSON stream) examines
  // at most, matching or not (scan_query::examine_limit; 0 = no bound): a page whose filters
  // match little of the walk stops there and answers what it found, possibly nothing, with a
  // `next` cursor that goes on from the last record examined.
  std::uint64_t scan_limit = 100000;
  endpoint_quotas quotas;  // checked on endpoint create and update
};

struct api_context {
  event_log& log;
  record_sink& writer;
  const source_registry& sources;
  projections::projection_runner& runner;
  key_store& keys;
  metrics& counters;
  api_options options;
  // Seals endpoint secrets before they are written to the log (AES-256-GCM).
  const secret_box& secrets;
  // The seq of the last management record written (endpoints, keys), at least the log head at
  // start: reads of projection state wait until the runner has applied it (read-your-writes,
  // also across a restart).
  std::atomic<std::uint64_t> last_management_seq{0};
  // Replay jobs (null when the server runs without them: the replay routes answer 503).
  replay_manager* replays = nullptr;
  // Endpoint creations not yet in the projection (the per-tenant endpoint quota).
  create_slots endpoint_creates;
  // The audit console's files, served at /console/ (null: --no-console, the routes answer 404).
  const console_files* console = nullptr;
  // Cluster mode's status (role, cell, lag) for /healthz, /readyz and /metrics; null when the
  // node runs single.
  const cluster_mode* cluster = nullptr;
  // Cluster mode: this node's delivery slot leases (/healthz "slots", /metrics); null otherwise.
  const cluster::slot_leases* leases = nullptr;
  // Signed tree heads (null when the server cannot sign: read-only without a key).
  head_publisher* heads = nullptr;
  // Cluster mode: requests waiting for ?min_seq= (null on a single node: nothing to wait for).
  min_seq_waiter* min_seq = nullptr;
};

class api {
 public:
  explicit api(api_context& ctx) : ctx_(ctx) {}
  void handle(http_request&& req, responder res);
  // The metrics listener (app_options::metrics_listen, a private interface): GET /metrics,
  // /healthz and /readyz without a key; any other request answers 404.
  void handle_ops(http_request&& req, responder res);
  // server_options::admit_head: routes and authorises a request from its head alone, before its
  // body is read; the answer handle() would give without reading the body (404, 405, 401, 403,
  // 415 for a Content-Encoding, 400 bad_parameter), counted and logged as handle() does, or nullopt (then handle() runs on
  // the whole request). ops_listener: as handle_ops().
  std::optional<http_response> check_head(const http_request& head, bool ops_listener);

 private:
  void dispatch(http_request&& req, responder res, bool ops_listener);
  api_context& ctx_;
};

}  // namespace hooklog::http
