// The effective configuration of `hooklog serve` as logged at start ("server.start").
#include <nlohmann/json.hpp>

#include "http/app.hpp"
#include "projections/runner.hpp"

namespace hooklog::http {

nlohmann::json effective_config(const app_options& o) {
  const auto secret = [](const std::string& v, const char* when_empty) -> nlohmann::json {
    return v.empty() ? nlohmann::json(when_empty) : nlohmann::json("[redacted]");
  };
  const auto& s = o.server;
  const auto& q = o.api.quotas;
  return {
      {"listen", s.listen},
      {"metrics_listen", o.metrics_listen},
      {"data", o.data_dir},
      {"sources", o.sources_dir},
      {"admin_key", secret(o.admin_key, "stored")},
      {"secret_key", secret(o.secret_key, "<data>/secret.key")},
      {"deliver", o.deliver},
      {"read_only", o.read_only},
      {"allow_private_targets", o.api.allow_private_targets},
      {"ca_file", o.api.ca_file},
      {"tls", !s.tls_cert_file.empty()},
      {"tls_cert", s.tls_cert_file},
      {"tls_key", s.tls_key_file.empty() ? "" : "[path set]"},
      {"threads", s.threads},
      {"body_limit", s.body_limit},
      {"batch_body_limit", o.batch_body_limit},
      {"batch_max_lines", o.api.batch_max_lines},
      {"scan_limit", o.api.scan_limit},
      {"max_connections", s.max_connections},
      {"max_connections_per_client", s.max_connections_per_client},
      {"first_byte_timeout_s", s.first_byte_timeout.count()},
      {"read_timeout_s", s.read_timeout.count()},
      {"idle_timeout_s", s.idle_timeout.count()},
      {"max_map_size", o.max_map_size},
      {"rebuild_memory", o.rebuild_memory ? o.rebuild_memory
                                          : projections::runner_options{}.rebuild_memory},
      {"projection_nice", o.projection_nice},
      {"rotation_overlap_s", o.api.rotation_overlap.count()},
      {"max_endpoints_per_tenant", q.max_endpoints_per_tenant},
      {"max_filter_bytes", q.max_filter_bytes},
      {"max_filter_conditions", q.max_filter_conditions},
      {"max_headers", q.max_headers},
      {"max_header_value_bytes", q.max_header_value_bytes},
      {"max_description_bytes", q.max_description_bytes},
      {"console", o.console},
      {"console_dir", o.console_dir},
      // A URL with user:password@ is logged without it.
      {"cluster", o.cluster.urls.find('@') == std::string::npos ? o.cluster.urls : "[redacted]"},
      {"cell", o.cluster.cell},
      {"node_id", o.cluster.node_id},
      {"cluster_replicas", o.cluster.replicas},
      {"cluster_max_age_s", o.cluster.max_age.count()},
      {"bootstrap_from", o.cluster.bootstrap_from},
      {"delivery_slots", o.cluster.delivery_slots},
      {"lease_ttl_ms", o.cluster.lease_ttl.count()},
      {"head_key_file", !o.head_key_file.empty() ? "[path set]"
                        : o.cluster.enabled()     ? "[derived from secret_key]"
                                                  : "<data>/head.key"},
      {"head_interval_s", o.head_interval.count()},
  };
}

}  // namespace hooklog::http
