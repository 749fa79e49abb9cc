// Operations: /healthz, /readyz, /metrics.
#include "engine/time_util.hpp"
#include "hooklog_build_paths.hpp"
#include "http/api_internal.hpp"
#include "http/delivery/cluster/lease_report.hpp"
#include "http/cluster_mode.hpp"
#include "http/metrics_state.hpp"
#include "projections/runner.hpp"

namespace hooklog::http::detail {

namespace {
// The node's role: {"role":"single"} or cluster mode's status (cell, node id, lag, ...).
void add_role(const call& c, nlohmann::json& j) {
  if (!c.ctx.cluster) {
    j["role"] = "single";
    return;
  }
  const nlohmann::json status = c.ctx.cluster->status();
  for (const auto& [k, v] : status.items()) j[k] = v;
}
}  // namespace

void healthz(const call_ptr& c) {
  nlohmann::json j = {{"status", "ok"}, {"seq", c->ctx.log.committed_seq()}};
  if (c->ctx.leases) j["slots"] = lease_json(*c->ctx.leases);  // cluster mode
  add_role(*c, j);
  c->reply_json(200, j);
}

void readyz(const call_ptr& c) {
  const std::uint64_t lag = c->ctx.runner.lag();
  const auto err = c->ctx.runner.last_error();
  nlohmann::json j = {{"seq", c->ctx.log.committed_seq()}, {"projection_lag", lag}};
  if (err) j["projection_error"] = err->what();
  add_role(*c, j);
  // Ready once the projections have caught up with the log as it was at start (and, in cluster
  // mode, the log with the stream as it was at start).
  const bool ready = !err && lag < 100000 && (!c->ctx.cluster || c->ctx.cluster->ready());
  j["status"] = ready ? "ready" : "catching_up";
  c->reply_json(ready ? 200 : 503, j);
}

namespace {
// "0.000100" -> "0.0001"
std::string trim_zeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}
}  // namespace

void metrics_text(const call_ptr& c) {
  std::string out;
  c->ctx.counters.render(out);
  const auto ws = c->ctx.writer.stats();
  metric_single(out, "hooklog_log_commit_groups_total", "counter",
                "log write transactions committed", static_cast<double>(ws.groups));
  metric_single(out, "hooklog_log_records_written_total", "counter",
                "records appended through the writer", static_cast<double>(ws.records));
  metric_single(out, "hooklog_log_commit_group_max", "gauge", "largest commit group so far",
                static_cast<double>(ws.max_group));
  metric_single(out, "hooklog_log_commit_seconds_total", "counter", "time spent committing groups",
                static_cast<double>(ws.commit_micros_total) / 1e6);
  metric_single(out, "hooklog_log_after_commit_seconds_total", "counter",
                "time the log writer spent after groups' commits: answers given on its thread and "
                "the index env's writes",
                static_cast<double>(ws.after_commit_micros_total) / 1e6);
  metric_help(out, "hooklog_log_commit_duration_seconds", "histogram",
              "time of one group commit (append and fsync)");
  {
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i < ws.commit_buckets.size(); ++i) {
      cum += ws.commit_buckets[i];
      const std::string le = i < kCommitBoundsUs.size()
                                 ? std::to_string(static_cast<double>(kCommitBoundsUs[i]) / 1e6)
                                 : "+Inf";
      metric_line(out, "hooklog_log_commit_duration_seconds_bucket", "le=\"" + trim_zeros(le) + "\"",
                  static_cast<double>(cum));
    }
    metric_line(out, "hooklog_log_commit_duration_seconds_sum", "",
                static_cast<double>(ws.commit_micros_total) / 1e6);
    metric_line(out, "hooklog_log_commit_duration_seconds_count", "", static_cast<double>(ws.groups));
  }
  metric_single(out, "hooklog_log_head_seq", "gauge",
                "sequence number of the last committed record",
                static_cast<double>(c->ctx.log.committed_seq()));
  metric_single(out, "hooklog_log_size_bytes", "gauge", "bytes used by the log's LMDB map",
                static_cast<double>(c->ctx.log.used_bytes()));
  metric_single(out, "hooklog_log_map_size_bytes", "gauge", "current size of the log's LMDB map",
                static_cast<double>(c->ctx.log.map_size()));
  metric_single(out, "hooklog_log_index_size_bytes", "gauge",
                "bytes used by the log's index env (log/index: query indexes, idempotency keys)",
                static_cast<double>(c->ctx.log.index_used_bytes()));
  metric_single(out, "hooklog_projection_lag_records", "gauge",
                "records committed but not yet projected",
                static_cast<double>(c->ctx.runner.lag()));
  metric_single(out, "hooklog_projection_errors_total", "counter",
                "projection batches that failed and were rolled back (retried after a pause)",
                static_cast<double>(c->ctx.runner.error_count()));
  metric_single(out, "hooklog_projection_batches_total", "counter",
                "projection batches committed since start (each applies one or more records)",
                static_cast<double>(c->ctx.runner.batch_count()));
  render_state_metrics(out, c->ctx.runner, c->ctx.replays, now_micros());
  if (c->ctx.leases) render_lease_metrics(out, *c->ctx.leases);  // cluster mode
  render_process_metrics(out);
  if (c->ctx.cluster) c->ctx.cluster->render_metrics(out);
  metric_help(out, "hooklog_build_info", "gauge", "the running build (value 1)");
  metric_line(out, "hooklog_build_info", "version=\"" HOOKLOG_VERSION "\"", 1);
  c->observe(200);
  c->res(http_response{200, "text/plain; version=0.0.4; charset=utf-8", std::move(out), {}});
}

}  // namespace hooklog::http::detail
