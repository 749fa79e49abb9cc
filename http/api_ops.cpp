// Operations: /healthz, /readyz, /metrics.
#include "http/api_internal.hpp"
#include "projections/runner.hpp"

namespace hooklog::http::detail {

void healthz(const call_ptr& c) {
  c->reply_json(200, {{"status", "ok"}, {"seq", c->ctx.log.committed_seq()}});
}

void readyz(const call_ptr& c) {
  const std::uint64_t lag = c->ctx.runner.lag();
  const auto err = c->ctx.runner.last_error();
  nlohmann::json j = {{"seq", c->ctx.log.committed_seq()}, {"projection_lag", lag}};
  if (err) j["projection_error"] = err->what();
  // Ready once the projections have caught up with the log as it was at start.
  const bool ready = !err && lag < 100000;
  j["status"] = ready ? "ready" : "catching_up";
  c->reply_json(ready ? 200 : 503, j);
}

void metrics_text(const call_ptr& c) {
  std::string out;
  c->ctx.counters.render(out);
  const auto ws = c->ctx.writer.stats();
  metric_help(out, "hooklog_log_commit_groups_total", "counter", "log write transactions committed");
  metric_line(out, "hooklog_log_commit_groups_total", "", static_cast<double>(ws.groups));
  metric_help(out, "hooklog_log_records_written_total", "counter", "records appended through the writer");
  metric_line(out, "hooklog_log_records_written_total", "", static_cast<double>(ws.records));
  metric_help(out, "hooklog_log_commit_group_max", "gauge", "largest commit group so far");
  metric_line(out, "hooklog_log_commit_group_max", "", static_cast<double>(ws.max_group));
  metric_help(out, "hooklog_log_commit_seconds_total", "counter", "time spent committing groups");
  metric_line(out, "hooklog_log_commit_seconds_total", "", static_cast<double>(ws.commit_micros_total) / 1e6);
  metric_help(out, "hooklog_log_head_seq", "gauge", "sequence number of the last committed record");
  metric_line(out, "hooklog_log_head_seq", "", static_cast<double>(c->ctx.log.committed_seq()));
  metric_help(out, "hooklog_log_size_bytes", "gauge", "bytes used by the log's LMDB map");
  metric_line(out, "hooklog_log_size_bytes", "", static_cast<double>(c->ctx.log.used_bytes()));
  metric_help(out, "hooklog_log_map_size_bytes", "gauge", "current size of the log's LMDB map");
  metric_line(out, "hooklog_log_map_size_bytes", "", static_cast<double>(c->ctx.log.map_size()));
  metric_help(out, "hooklog_projection_lag_records", "gauge", "records committed but not yet projected");
  metric_line(out, "hooklog_projection_lag_records", "", static_cast<double>(c->ctx.runner.lag()));
  c->ctx.counters.count_request(c->route, 200);
  c->res(http_response{200, "text/plain; version=0.0.4; charset=utf-8", std::move(out), {}});
}

}  // namespace hooklog::http::detail
