#pragma once
// The `hooklog serve` process as an object: the log, its writer, the sources,
// the projections, the API keys and the HTTP server, opened and started in
// order and stopped in reverse order.
//
// Thread safety: open/start/stop from one controlling thread.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/result.hpp"
#include "http/api.hpp"
#include "http/cluster_mode.hpp"
#include "http/delivery/replay_manager.hpp"
#include "http/server.hpp"

namespace hooklog::http {

struct app_options {
  std::string data_dir = "./var";
  std::string sources_dir;            // default: the build's data/sources
  server_options server;              // body_limit applies to every route but the batch one
  // POST /v1/sources/{source}/events:batch reads bodies up to this size (bulk work); each
  // event in it is still bounded by api.limits.max_body_bytes.
  std::size_t batch_body_limit = 16 * 1024 * 1024;
  // "HOST:PORT" of a second listener serving GET /metrics (and /healthz, /readyz) without a
  // key, for scrapers on a private interface; empty = none. On the main listener /metrics
  // always needs an admin key (it shows every tenant's counts).
  std::string metrics_listen;
  std::string admin_key;              // empty: one is generated on the first start
  std::string secret_key;             // master key for endpoint secrets (hex or base64);
                                      // empty: <data>/secret.key, created with mode 0600
  bool deliver = true;                // run the dispatcher
  std::size_t max_map_size = 1ull << 40;
  // Bytes a projection rebuild from empty stages in memory at most before it spills sorted runs
  // to <data>/state/rebuild-runs/ (projections/runner.hpp); 0 = the runner's default (512 MiB).
  std::size_t rebuild_memory = 0;
  // The projections' thread's nice value (0 to 19; projections::runner_options::thread_nice).
  int projection_nice = 0;
  bool sync = true;                   // fsync every commit (never off in production)
  bool read_only = false;             // open the log read-only: reads are served (up to the last
                                      // good record when the tail is damaged), every write
                                      // answers 503 log_unavailable, nothing is delivered;
                                      // needs admin_key (none can be generated)
  api_options api;
  replay_options replay;              // rates and bounds of replay jobs
  // The audit console (/console/): its files are read into memory at open. console_dir ""
  // = the checkout's http/console (HOOKLOG_CONSOLE_DIR), skipped with a warning when missing;
  // a console_dir given and not loadable fails open. console = false serves none (404).
  bool console = true;
  std::string console_dir;
  // Cluster mode (docs/CLUSTER.md) when cluster.urls is set: records are published to the
  // cell's JetStream stream and materialized into the local log. Needs secret_key and
  // admin_key (the same on every node); refuses read_only.
  cluster_config cluster;
  // Signed tree heads (docs/AUDIT.md): the Ed25519 key (PEM; empty: <data>/head.key, created
  // 0600) and how often a head is published when the log grew (0: only on demand).
  std::string head_key_file;
  std::chrono::seconds head_interval{60};
};

// The options as logged at start: secrets (admin key, secret key) are "[redacted]" when set.
nlohmann::json effective_config(const app_options& o);

// Logs "server.start" (info: listen addresses and effective_config) once start() succeeds and
// "server.stop" (info) when stop() has finished.
class app {
 public:
  static result<std::unique_ptr<app>> open(app_options opts);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Starts the projection runner and the HTTP server; returns the bound port.
  result<unsigned short> start();
  // Graceful: stop accepting, finish in-flight requests, drain the writer, stop the runner.
  void stop();

  std::string local_address() const;
  // The metrics listener's bound address, "" when there is none.
  std::string metrics_address() const;
  // The admin key generated on this start (first start without a configured key), else "".
  const std::string& generated_admin_key() const { return generated_admin_key_; }

 private:
  app() = default;
  struct parts;
  std::unique_ptr<parts> p_;
  std::string generated_admin_key_;
};

}  // namespace hooklog::http
