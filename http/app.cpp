#include "http/app.hpp"

#include "engine/head_publisher.hpp"
#include "engine/log_writer.hpp"
#include "engine/logger.hpp"
#include "engine/secret_box.hpp"
#include "hooklog_build_paths.hpp"
#include "http/delivery/dispatcher.hpp"
#include "http/delivery/replay_manager.hpp"
#include "http/refusal_log.hpp"
#include "http/route_match.hpp"
#include "projections/runner.hpp"

namespace hooklog::http {

struct app::parts {
  app_options opts;
  std::unique_ptr<event_log> log;
  std::unique_ptr<log_writer> writer;
  std::optional<source_registry> sources;
  std::unique_ptr<projections::projection_runner> runner;
  std::optional<key_store> keys;
  std::optional<secret_box> secrets;
  std::unique_ptr<dispatcher> delivery;
  std::unique_ptr<replay_manager> replays;
  std::unique_ptr<head_publisher> heads;  // null when read-only without a key file
  metrics counters;
  std::unique_ptr<api_context> ctx;
  std::unique_ptr<api> routes;
  std::unique_ptr<http_server> server;
  std::unique_ptr<http_server> metrics_server;  // only with metrics_listen
  bool stopped = false;
};

result<std::unique_ptr<app>> app::open(app_options opts) {
  std::unique_ptr<app> a(new app());
  a->p_ = std::make_unique<parts>();
  parts& p = *a->p_;
  if (opts.sources_dir.empty()) opts.sources_dir = std::string(HOOKLOG_DATA_DIR) + "/sources";
  if (opts.read_only) {
    if (opts.admin_key.empty())
      return make_error(errc::read_only,
                        "read-only mode needs an admin key (--admin-key): none can be stored");
    opts.deliver = false;  // deliveries append attempt records
  }
  p.opts = opts;

  auto sources = source_registry::load_dir(opts.sources_dir);
  if (!sources) return sources.err();
  p.sources.emplace(std::move(*sources));

  log_options lo;
  lo.dir = opts.data_dir;
  lo.max_map_size = opts.max_map_size;
  lo.sync = opts.sync;
  lo.read_only = opts.read_only;
  lo.exclusive = true;  // a read-only server still owns the projection state
  auto log = event_log::open(lo);
  if (!log) return log.err();
  p.log = std::move(*log);
  p.writer = std::make_unique<log_writer>(*p.log);

  projections::runner_options ro;
  ro.state_dir = opts.data_dir + "/state";
  auto runner = projections::projection_runner::open(*p.log, ro);
  if (!runner) return runner.err();
  p.runner = std::move(*runner);

  auto box = secret_box::load(opts.secret_key, opts.data_dir);
  if (!box) return box.err();
  p.secrets.emplace(std::move(*box));
  if (opts.deliver) {
    dispatcher_options d;
    d.allow_private_targets = opts.api.allow_private_targets;
    d.ca_file = opts.api.ca_file;
    d.box = *p.secrets;
    // The replay manager is made below and outlives the dispatcher's deliveries (stopped after).
    d.replay_webhook_id = [&p](std::string_view replay_id, std::uint64_t seq) {
      return p.replays ? p.replays->webhook_id(replay_id, seq) : std::string();
    };
    d.counters = &p.counters;
    p.delivery = std::make_unique<dispatcher>(*p.log, *p.writer, *p.runner, std::move(d));
  }

  p.replays = std::make_unique<replay_manager>(*p.log, *p.writer, *p.runner, opts.replay);
  if (auto l = p.replays->load(); !l) return l.err();

  auto keys = key_store::load(*p.log, opts.admin_key);
  if (!keys) return keys.err();
  p.keys.emplace(std::move(*keys));
  if (opts.admin_key.empty() && !p.keys->has_stored_admin()) {
    key_info k;
    k.id = key_store::new_id();
    k.admin = true;
    const std::string key = key_store::new_key();
    record r = key_store::issue_record(k, key_store::hash(key));
    auto o = p.writer->append(r);
    if (!o) return o.err();
    r.seq = o->seq;
    p.keys->apply(r);
    a->generated_admin_key_ = key;
  }

  if (!opts.read_only || !opts.head_key_file.empty()) {
    auto signer = head_signer::load(opts.head_key_file, opts.data_dir);
    if (!signer) return signer.err();
    p.heads = std::make_unique<head_publisher>(*p.log, *p.writer, std::move(*signer),
                                               opts.read_only ? std::chrono::seconds(0)
                                                              : opts.head_interval);
    if (auto l = p.heads->load(); !l) return l.err();
  }

  p.ctx = std::unique_ptr<api_context>(
      new api_context{*p.log, *p.writer, *p.sources, *p.runner, *p.keys, p.counters, opts.api,
                      *p.secrets, {}, p.replays.get(), {}});
  // Reads of endpoints and replays wait (up to 2 s each) until the projections have applied the
  // log as it was at start: what a client saw before a restart is seen after it.
  p.ctx->last_management_seq.store(p.log->committed_seq());
  p.ctx->heads = p.heads.get();
  p.routes = std::make_unique<api>(*p.ctx);
  server_options so = opts.server;
  so.on_refused = [m = &p.counters](unsigned code, std::string_view body, std::string_view client) {
    m->count_server_refusal(code);
    log_refusal(code, body, {{"route", "(server)"}, {"client", client}});
  };
  so.body_limit_for = [batch = opts.batch_body_limit](std::string_view method,
                                                      std::string_view target) -> std::size_t {
    if (method != "POST") return 0;
    std::vector<std::string> params;
    const auto segments = split_path(target.substr(0, target.find('?')));
    return match_route("/v1/sources/{}/events:batch", segments, params) ? batch : 0;
  };
  p.server =
      std::make_unique<http_server>(so, [r = p.routes.get()](http_request&& req, responder res) {
        r->handle(std::move(req), std::move(res));
      });
  if (!opts.metrics_listen.empty()) {
    server_options mo;  // small: a scraper or two, GET requests only
    mo.listen = opts.metrics_listen;
    mo.threads = 1;
    mo.stream_threads = 1;
    mo.body_limit = 64 * 1024;
    mo.max_connections = 64;
    mo.server_name = opts.server.server_name;
    mo.on_refused = so.on_refused;
    p.metrics_server =
        std::make_unique<http_server>(mo, [r = p.routes.get()](http_request&& req, responder res) {
          r->handle_ops(std::move(req), std::move(res));
        });
  }
  return a;
}

app::~app() { stop(); }

result<unsigned short> app::start() {
  p_->runner->start();
  p_->replays->start();
  if (p_->delivery) p_->delivery->start();
  if (p_->heads) p_->heads->start();
  if (p_->metrics_server)
    if (auto m = p_->metrics_server->start(); !m)
      return error{m.err().code, "metrics listener: " + m.err().what()};
  auto port = p_->server->start();
  if (port)
    logging::info("server.start", "hooklog serve started",
                  {{"listen", local_address()},
                   {"metrics_listen", metrics_address()},
                   {"seq", p_->log->committed_seq()},
                   {"config", effective_config(p_->opts)}});
  return port;
}

void app::stop() {
  if (!p_ || p_->stopped) return;
  p_->stopped = true;
  // Any part may be missing when open() failed halfway.
  if (p_->server) p_->server->stop();
  if (p_->metrics_server) p_->metrics_server->stop();
  if (p_->delivery) p_->delivery->stop();
  if (p_->replays) p_->replays->stop();
  if (p_->heads) p_->heads->stop();
  if (p_->writer) p_->writer->stop();
  if (p_->runner) p_->runner->stop();
  if (p_->server && p_->log)
    logging::info("server.stop", "hooklog serve stopped: requests finished, log flushed",
                  {{"seq", p_->log->committed_seq()}});
}

std::string app::local_address() const { return p_->server->local_address(); }
std::string app::metrics_address() const {
  return p_->metrics_server ? p_->metrics_server->local_address() : std::string();
}

}  // namespace hooklog::http
