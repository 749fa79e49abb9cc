#include "http/cluster_mode.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "engine/cluster/jetstream_publisher.hpp"
#include "engine/cluster/materializer.hpp"
#include "engine/cluster/nats.hpp"
#include "engine/logger.hpp"
#include "engine/thread_name.hpp"
#include "http/delivery/metrics.hpp"

namespace hooklog::http {

std::string default_node_id(const std::string& listen) {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "node");
  std::string port = listen.substr(listen.rfind(':') + 1);
  if (port.empty() || port == "0") port = "pid" + std::to_string(::getpid());
  return std::string(host) + ":" + port;
}

namespace {
constexpr std::chrono::seconds kStartRetry{30};
}  // namespace

cluster_mode::cluster_mode(cluster_config cfg, event_log& log) : cfg_(std::move(cfg)), log_(log) {}

result<std::unique_ptr<cluster_mode>> cluster_mode::open(const cluster_config& cfg,
                                                         event_log& log,
                                                         std::uint64_t* stream_first_seq) {
  std::unique_ptr<cluster_mode> m(new cluster_mode(cfg, log));
  if (auto c = cluster::check_cell_name(cfg.cell); !c)
    return cfg.cell.empty() ? make_error(cluster::cluster_errc::bad_config,
                                         "--cluster needs --cell NAME (the cell this node serves)")
                            : c.err();
  auto urls = cluster::parse_urls(cfg.urls);
  if (!urls) return urls.err();
  // The data directory belongs to one cell: a log of another cell, or a single-node log, would
  // mix two histories.
  auto cell = log.cluster_cell();
  if (!cell) return cell.err();
  if (*cell && **cell != cfg.cell)
    return make_error(cluster::cluster_errc::bad_config,
                      "data directory " + log.options().dir + " belongs to cell " + **cell +
                          ", not " + cfg.cell + " (--cell)");
  if (!*cell && log.applied_seq() != 0)
    return make_error(cluster::cluster_errc::bad_config,
                      "data directory " + log.options().dir + " holds a single-node log (" +
                          std::to_string(log.applied_seq()) +
                          " records): cluster mode starts from an empty data directory or one "
                          "of its cell (import the history over HTTP instead)");
  cluster::connect_options co;
  co.urls = *urls;
  co.name = "hooklog " + cfg.node_id;
  auto conn = cluster::connection::connect(co);
  if (!conn) return conn.err();
  m->conn_ = std::move(*conn);
  std::chrono::seconds duplicate_window{0};
  {
    auto js = cluster::jetstream::open(*m->conn_);
    if (!js) return js.err();
    cluster::stream_settings s;
    s.cell = cfg.cell;
    s.replicas = cfg.replicas;
    s.max_age = cfg.max_age;
    // JetStream refuses a duplicate window longer than the maximum age.
    if (cfg.max_age.count() > 0) s.duplicate_window = std::min(s.duplicate_window, cfg.max_age);
    duplicate_window = s.duplicate_window;
    // Nodes of a new cell start together: one creates the stream while the others' requests
    // wait for its leader. JetStream timeouts are retried for a bounded time.
    const auto deadline = std::chrono::steady_clock::now() + kStartRetry;
    auto transient = [&](const error& e) {
      if (e.code != make_error_code(cluster::cluster_errc::timeout) ||
          std::chrono::steady_clock::now() > deadline)
        return false;
      logging::warn("cluster.start", "JetStream did not answer yet; retrying",
                    {{"reason", e.what()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      return true;
    };
    for (;;) {
      auto st = cluster::ensure_stream(**js, s);
      if (st) {
        // Checked before the data directory is marked: an empty one stays unmarked.
        if (auto a = cluster::check_not_aged_out(*st, log.applied_seq(), cfg.cell); !a) {
          if (stream_first_seq)
            *stream_first_seq = st->messages > 0 ? st->first_seq : st->last_seq + 1;
          return a.err();
        }
        break;
      }
      if (!transient(st.err())) return st.err();
    }
  }
  // Marked once the cell's stream is known good, before anything of it is materialized.
  if (!*cell)
    if (auto r = log.set_cluster_cell(cfg.cell); !r) return r.err();
  auto mat = cluster::materializer::start(*m->conn_, log, {cfg.cell});
  for (auto deadline = std::chrono::steady_clock::now() + kStartRetry;
       !mat && mat.code() == make_error_code(cluster::cluster_errc::timeout) &&
       std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    mat = cluster::materializer::start(*m->conn_, log, {cfg.cell});
  }
  if (!mat) return mat.err();
  m->mat_ = std::move(*mat);
  cluster::publisher_options po;
  po.cell = cfg.cell;
  po.node_id = cfg.node_id;
  // Resent only while the duplicate window covers the first send: a resend past it was stored
  // twice (--cluster-max-age 2 with an acknowledgement lost for 4 s: two endpoints created).
  po.give_up_after = cluster::resend_window(duplicate_window, po.give_up_after);
  auto pub = cluster::jetstream_publisher::open(*m->conn_, log, *m->mat_, po);
  if (!pub) return pub.err();
  m->pub_ = std::move(*pub);
  logging::info("cluster.start", "cluster mode: publishing to and materializing the cell's stream",
                {{"cell", cfg.cell},
                 {"stream", cluster::stream_name(cfg.cell)},
                 {"node_id", cfg.node_id},
                 {"nats", m->conn_->connected_url()},
                 {"materialized_seq", m->mat_->materialized_seq()},
                 {"stream_last_seq", m->mat_->start_target()}});
  return m;
}

cluster_mode::~cluster_mode() {
  stop();
}

record_sink& cluster_mode::sink() {
  return *pub_;
}

void cluster_mode::follow(std::uint64_t from_seq, std::function<void(const record_view&)> fn) {
  follower_ = std::thread([this, from_seq, fn = std::move(fn)] {
    set_thread_name("key-follower");
    std::uint64_t at = from_seq;
    while (!stopping_.load()) {
      const std::uint64_t committed =
          log_.wait_for_commit_after(at, std::chrono::milliseconds(200));
      if (committed <= at) continue;
      auto r = log_.for_each(at + 1, committed, [&](const record_view& v) {
        fn(v);
        return true;
      });
      if (!r) {
        logging::error("cluster.follow", "cannot read the log", {{"reason", r.err().what()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      at = committed;
    }
  });
}

void cluster_mode::stop() {
  if (stopping_.exchange(true)) return;
  if (pub_) pub_->stop();
  if (follower_.joinable()) follower_.join();
  if (mat_) mat_->stop();
}

bool cluster_mode::ready() const {
  return mat_->caught_up() && !mat_->last_error();
}
std::uint64_t cluster_mode::lag() const {
  return mat_->lag();
}
std::uint64_t cluster_mode::materialized_seq() const {
  return mat_->materialized_seq();
}

std::optional<std::uint64_t> cluster_mode::fetch_stream_last_seq() {
  return mat_->fetch_stream_last_seq();
}

nlohmann::json cluster_mode::status() const {
  nlohmann::json j = {{"role", "cluster"},
                      {"cell", cfg_.cell},
                      {"node_id", cfg_.node_id},
                      {"materialized_seq", mat_->materialized_seq()},
                      {"stream_last_seq", mat_->stream_last_seq()},
                      {"lag", mat_->lag()},
                      {"caught_up", mat_->caught_up()},
                      {"nats", conn_->connected_url()}};
  if (auto e = mat_->last_error()) j["cluster_error"] = e->what();
  return j;
}

void cluster_mode::render_metrics(std::string& out) const {
  metric_single(out, "hooklog_cluster_materialized_seq", "gauge",
                "last stream sequence applied to this node's log",
                static_cast<double>(mat_->materialized_seq()));
  metric_single(out, "hooklog_cluster_stream_last_seq", "gauge",
                "last sequence of the cell's stream, as last seen",
                static_cast<double>(mat_->stream_last_seq()));
  metric_single(out, "hooklog_cluster_lag", "gauge",
                "stream messages not yet applied to this node's log",
                static_cast<double>(mat_->lag()));
  metric_single(out, "hooklog_cluster_ready", "gauge",
                "1 once caught up with the stream as of the start", ready() ? 1.0 : 0.0);
  metric_single(out, "hooklog_cluster_publish_retries_total", "counter",
                "publishes sent again after no acknowledgement",
                static_cast<double>(pub_->retries()));
  metric_single(out, "hooklog_cluster_materialized_batches_total", "counter",
                "LMDB transactions of the materializer", static_cast<double>(mat_->batches()));
}

natsConnection* cluster_mode::nats_handle() const { return conn_->handle(); }

}  // namespace hooklog::http
