// hooklog serve: the HTTP API over an embedded data directory.
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/cluster/nats.hpp"
#include "engine/logger.hpp"
#include "http/app.hpp"
#include "tools/cli_common.hpp"
#include "tools/cli_malloc_tuning.hpp"

namespace hooklog::cli {
namespace {

constexpr const char* kHelp = R"(usage: hooklog serve [flags]

Runs the HTTP API (/v1, /healthz, /readyz, /metrics) over the data directory.
The first line printed is "listening on HOST:PORT" (with --metrics-listen, the
next is "metrics: listening on HOST:PORT"). On the first start without
an admin key, one is generated and printed once (only its hash is stored).
SIGTERM or SIGINT stop it gracefully: in-flight requests finish, the log is flushed.

flags (each also settable in the --config JSON file by its name without dashes,
and by the environment variable shown):
  --listen HOST:PORT          where to listen (127.0.0.1:8080)            HOOKLOG_LISTEN
  --data DIR                  the data directory (./var)                  HOOKLOG_DATA
  --admin-key KEY             the admin API key (generated when absent)   HOOKLOG_ADMIN_KEY
  --allow-private-targets     allow endpoint URLs on loopback/private networks
  --secret-key KEY            master key of endpoint secrets, hex or base64 (<data>/secret.key, 0600)
                                                                          HOOKLOG_SECRET_KEY
  --ca-file FILE              extra CA certificates (PEM) for HTTPS deliveries
  --no-deliver                record and answer, but do not deliver (read-only replicas, tests)
  --read-only                 open the log read-only (server of this directory stopped): reads
                              are served, up to the last good record when the last one is
                              damaged; every write answers 503 log_unavailable; nothing is
                              delivered. Needs --admin-key.
  --sources DIR               source files (the build's data/sources)     HOOKLOG_SOURCES
  --threads N                 I/O threads (one per core)
  --body-limit BYTES          request body limit (1048576; at most 65536 on GET, HEAD, DELETE,
                              OPTIONS); also each event's limit
  --batch-body-limit BYTES    body limit of POST /v1/sources/{source}/events:batch (16777216)
  --batch-max-lines N         lines one events:batch request may carry (10000); over: 413
  --scan-limit N              records one list page (events, attempts) or NDJSON chunk examines
                              at most (100000; 0 = no bound); a page stopped by it holds fewer
                              than `limit` items, maybe none, and a `next` cursor
  --max-connections N         open connections at most (10000); beyond: 503 at accept
  --max-connections-per-client N   open connections from one IP address at most (256;
                              0 = no limit); beyond: 429 at accept
  --first-byte-timeout SECONDS  a new connection's wait for its first byte (10)
  --read-timeout SECONDS      time to read one request (30)
  --idle-timeout SECONDS      keep-alive idle time (60)
  --metrics-listen HOST:PORT  also serve GET /metrics, /healthz, /readyz without a key there
                              (a private interface for scrapers); on --listen, /metrics
                              needs an admin key
  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM certificate chain and key
  --max-map-size BYTES        the log never grows past this (1 TiB)
  --rebuild-memory MIB        memory a projection rebuild from empty stages before it spills
                              sorted runs to <data>/state/rebuild-runs/ (512)
  --projection-nice N         nice value of the projections' thread (0 to 19; 0): above 0
                              ingest takes a contended CPU first and the projections (and so
                              deliveries) lag while it stays contended (docs/OPERATIONS.md)
  --rotation-overlap SECONDS  how long a rotated secret stays valid (86400)
  --console-dir DIR           the audit console's files, served at /console/ (the checkout's
                              http/console; read into memory at start)
  --no-console                do not serve the console (/console/ answers 404)
  --head-key-file FILE        Ed25519 key (PEM) signing tree heads (<data>/head.key, 0600)
  --head-interval SECONDS     publish a signed tree head this often when the log grew (60;
                              0 = only on POST /v1/audit/heads)
endpoint quotas (per tenant and per endpoint, checked on create and update; 422 quota_exceeded):
  --max-endpoints-per-tenant N      endpoints of one tenant (1000)
  --max-filter-bytes BYTES          an endpoint's filter as compact JSON (16384)
  --max-filter-conditions N         conditions in a filter, all + any (32; at most 64)
  --max-headers N                   headers of an endpoint (32; at most 64)
  --max-header-value-bytes BYTES    one header value (1024; at most 8192)
  --max-description-bytes BYTES     an endpoint's description (1024; at most 4096)
cluster mode (docs/CLUSTER.md; every node of a cell: the same --secret-key and --admin-key):
  --cluster URLS              NATS servers, nats://HOST:PORT[,nats://...]: publish every record
                              to the cell's JetStream stream, materialize it into --data
                                                                          HOOKLOG_CLUSTER
  --cell NAME                 the cell (stream HOOKLOG_<NAME>), with --cluster  HOOKLOG_CELL
  --node-id ID                this node's name in the cell (hostname:port)  HOOKLOG_NODE_ID
  --cluster-replicas N        replicas of the cell's stream (3; 1 for a one-server try)
  --cluster-max-age SECONDS   drop stream messages older than this (0 = keep all, the default;
                              a node wiped later catches up only with --bootstrap-from)
  --bootstrap-from URL        http://PEER:PORT: when the stream aged out past this node's empty
                              log, copy that caught-up node's log snapshot first
  --delivery-slots N          slots the delivery work is split into (64; 1 to 4096; the same on
                              every node of the cell)
  --lease-ttl-ms MS           a dead node's slots are taken over this long after its last
                              heartbeat (5000; 1500 to 600000; heartbeat every fifth of it)
logs (one line per event on stderr; see docs/OPERATIONS.md):
  --log-level LEVEL           debug, info, warn or error (info)           HOOKLOG_LOG_LEVEL
  --log-format FORMAT         text or json (text)                         HOOKLOG_LOG_FORMAT
  --config FILE               a JSON object of the flags above; unknown keys are refused
  -h, --help                  this text
)";

// Every flag of serve: its environment variable, if any, and whether it is a switch.
struct flag_spec {
  const char* name;
  const char* env;
  bool boolean;
};
const flag_spec kFlags[] = {
    {"listen", "HOOKLOG_LISTEN", false},
    {"data", "HOOKLOG_DATA", false},
    {"admin-key", "HOOKLOG_ADMIN_KEY", false},
    {"allow-private-targets", nullptr, true},
    {"secret-key", "HOOKLOG_SECRET_KEY", false},
    {"ca-file", nullptr, false},
    {"no-deliver", nullptr, true},
    {"read-only", nullptr, true},
    {"sources", "HOOKLOG_SOURCES", false},
    {"threads", nullptr, false},
    {"body-limit", nullptr, false},
    {"batch-body-limit", nullptr, false},
    {"batch-max-lines", nullptr, false},
    {"scan-limit", nullptr, false},
    {"max-connections", nullptr, false},
    {"max-connections-per-client", nullptr, false},
    {"first-byte-timeout", nullptr, false},
    {"read-timeout", nullptr, false},
    {"idle-timeout", nullptr, false},
    {"metrics-listen", nullptr, false},
    {"tls-cert", nullptr, false},
    {"tls-key", nullptr, false},
    {"max-map-size", nullptr, false},
    {"rebuild-memory", nullptr, false},
    {"projection-nice", nullptr, false},
    {"rotation-overlap", nullptr, false},
    {"console-dir", nullptr, false},
    {"no-console", nullptr, true},
    {"head-key-file", nullptr, false},
    {"head-interval", nullptr, false},
    {"max-endpoints-per-tenant", nullptr, false},
    {"max-filter-bytes", nullptr, false},
    {"max-filter-conditions", nullptr, false},
    {"max-headers", nullptr, false},
    {"max-header-value-bytes", nullptr, false},
    {"max-description-bytes", nullptr, false},
    {"cluster", "HOOKLOG_CLUSTER", false},
    {"cell", "HOOKLOG_CELL", false},
    {"node-id", "HOOKLOG_NODE_ID", false},
    {"cluster-replicas", nullptr, false},
    {"cluster-max-age", nullptr, false},
    {"bootstrap-from", nullptr, false},
    {"delivery-slots", nullptr, false},
    {"lease-ttl-ms", nullptr, false},
    {"log-level", "HOOKLOG_LOG_LEVEL", false},
    {"log-format", "HOOKLOG_LOG_FORMAT", false},
};

// The value of a setting: flag, then environment, then config file, then fallback.
struct settings {
  std::map<std::string, std::string> flags;  // given on the command line
  nlohmann::json file = nlohmann::json::object();
  std::string get(const std::string& name, const std::string& fallback) const {
    const flag_spec* spec = nullptr;
    for (const auto& f : kFlags)
      if (name == f.name) spec = &f;
    if (auto it = flags.find(name); it != flags.end()) return it->second;
    if (spec && spec->env)
      if (const char* v = std::getenv(spec->env); v && *v) return v;
    if (file.contains(name)) {
      const auto& v = file[name];
      return v.is_string() ? v.get<std::string>() : v.dump();
    }
    return fallback;
  }
  bool on(const std::string& name) const {
    const std::string v = get(name, "false");
    if (v == "true") return true;
    if (v == "false") return false;
    throw usage_error("--" + name + " is a switch: true or false in --config, got " + v);
  }
  std::uint64_t number(const std::string& name, std::uint64_t fallback, std::uint64_t min = 0,
                       std::uint64_t max = UINT64_MAX) const {
    return to_uint(name, get(name, std::to_string(fallback)), min, max);
  }
};

// The endpoint quota flags; usage_error naming the flag and its range.
void read_quotas(const settings& s, http::endpoint_quotas& q) {
  struct flag {
    const char* name;
    std::size_t* out;
    std::size_t max;  // the endpoint model's hard bound (endpoint.hpp, filter.hpp)
  };
  const flag flags[] = {
      {"max-endpoints-per-tenant", &q.max_endpoints_per_tenant, SIZE_MAX},
      {"max-filter-bytes", &q.max_filter_bytes, SIZE_MAX},
      {"max-filter-conditions", &q.max_filter_conditions, 64},
      {"max-headers", &q.max_headers, 64},
      {"max-header-value-bytes", &q.max_header_value_bytes, 8192},
      {"max-description-bytes", &q.max_description_bytes, 4096},
  };
  for (const auto& f : flags) *f.out = s.number(f.name, *f.out, 1, f.max);
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  keep_freed_memory();  // before any thread: see cli_malloc_tuning.hpp
  auto cli = make_app("serve", "Runs the HTTP API over the data directory.");
  settings s;
  std::map<std::string, std::string> values;
  std::map<std::string, bool> switches;
  for (const auto& f : kFlags) {
    if (f.boolean)
      cli->add_flag(std::string("--") + f.name, switches[f.name]);
    else
      cli->add_option(std::string("--") + f.name, values[f.name]);
  }
  std::string config;
  cli->add_option("--config", config);
  if (auto rc = parse(*cli, argc, argv, kHelp)) return *rc;
  for (const auto& f : kFlags) {
    if (cli->get_option(std::string("--") + f.name)->count() == 0) continue;
    s.flags[f.name] = f.boolean ? "true" : values[f.name];
  }
  if (!config.empty()) {
    std::ifstream in(config);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!in || j.is_discarded() || !j.is_object())
      throw usage_error("--config " + config + " is not a readable JSON object");
    std::vector<std::string> known;
    for (const auto& f : kFlags) known.emplace_back(f.name);
    for (const auto& [k, v] : j.items()) {
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      const std::string near = closest(k, known);
      throw usage_error("--config " + config + ": unknown key \"" + k + "\"" +
                        (near.empty() ? "" : " (did you mean \"" + near + "\"?)"));
    }
    s.file = std::move(j);
  }
  // Logging flags: configured first, so every later line follows them.
  {
    const std::string lv = s.get("log-level", "info");
    const std::string lf = s.get("log-format", "text");
    const auto level = logging::parse_level(lv);
    const auto format = logging::parse_format(lf);
    if (!level) throw usage_error("--log-level must be debug, info, warn or error, got \"" + lv + "\"");
    if (!format) throw usage_error("--log-format must be text or json, got \"" + lf + "\"");
    logging::configure(*level, *format);
  }
  http::app_options o;
  o.server.listen = s.get("listen", "127.0.0.1:8080");
  o.data_dir = s.get("data", "./var");
  o.admin_key = s.get("admin-key", "");
  o.sources_dir = s.get("sources", "");
  o.secret_key = s.get("secret-key", "");
  o.api.ca_file = s.get("ca-file", "");
  o.deliver = !s.on("no-deliver");
  o.read_only = s.on("read-only");
  o.api.allow_private_targets = s.on("allow-private-targets");
  o.server.threads = static_cast<unsigned>(s.number("threads", 0, 0, 1024));
  o.server.body_limit = s.number("body-limit", 1048576, 1);
  o.api.limits.max_body_bytes = o.server.body_limit;
  o.batch_body_limit = s.number("batch-body-limit", 16777216, 1);
  o.api.batch_max_lines = s.number("batch-max-lines", 10000, 1);
  o.api.scan_limit = s.number("scan-limit", 100000);
  o.server.max_connections = s.number("max-connections", 10000, 1);
  o.server.max_connections_per_client = s.number("max-connections-per-client", 256);
  const auto seconds = [&](const char* name, std::uint64_t fallback) {
    return std::chrono::seconds(static_cast<long>(s.number(name, fallback, 1, 1u << 30)));
  };
  o.server.first_byte_timeout = seconds("first-byte-timeout", 10);
  o.server.read_timeout = seconds("read-timeout", 30);
  o.server.idle_timeout = seconds("idle-timeout", 60);
  o.metrics_listen = s.get("metrics-listen", "");
  o.server.tls_cert_file = s.get("tls-cert", "");
  o.server.tls_key_file = s.get("tls-key", "");
  o.max_map_size = s.number("max-map-size", 1ull << 40, 1);
  if (const auto m = s.get("rebuild-memory", ""); !m.empty()) o.rebuild_memory = rebuild_memory_bytes(m);
  o.projection_nice = static_cast<int>(s.number("projection-nice", 0, 0, 19));
  o.api.rotation_overlap =
      std::chrono::seconds(static_cast<long>(s.number("rotation-overlap", 86400, 0, 1u << 30)));
  read_quotas(s, o.api.quotas);
  o.console = !s.on("no-console");
  o.console_dir = s.get("console-dir", "");
  o.cluster.urls = s.get("cluster", "");
  o.cluster.cell = s.get("cell", "");
  o.cluster.node_id = s.get("node-id", "");
  o.cluster.replicas = static_cast<int>(s.number("cluster-replicas", 3, 1, 5));
  o.cluster.max_age =
      std::chrono::seconds(static_cast<long>(s.number("cluster-max-age", 0, 0, 1ull << 40)));
  o.cluster.bootstrap_from = s.get("bootstrap-from", "");
  o.cluster.delivery_slots = static_cast<std::uint32_t>(s.number("delivery-slots", 64, 1, 4096));
  o.cluster.lease_ttl = std::chrono::milliseconds(static_cast<long>(s.number("lease-ttl-ms", 5000, 1500, 600000)));
  if (o.cluster.enabled()) {
    if (auto u = cluster::parse_urls(o.cluster.urls); !u) throw usage_error("--cluster: " + u.err().what());
    if (o.cluster.cell.empty()) throw usage_error("--cluster needs --cell NAME (the cell this node serves)");
    if (auto c = cluster::check_cell_name(o.cluster.cell); !c) throw usage_error("--cell: " + c.err().what());
    if (o.secret_key.empty())
      throw usage_error("--cluster needs --secret-key (the same master key on every node of the cell)");
    if (o.admin_key.empty())
      throw usage_error("--cluster needs --admin-key (the same on every node; none is generated)");
    if (o.read_only) throw usage_error("--read-only and --cluster do not go together");
    if (!o.cluster.bootstrap_from.empty() && o.cluster.bootstrap_from.rfind("http://", 0) != 0)
      throw usage_error("--bootstrap-from must be http://HOST:PORT (a node of the cell), not '" +
                        o.cluster.bootstrap_from + "'");
  } else if (!o.cluster.bootstrap_from.empty()) {
    throw usage_error("--bootstrap-from needs --cluster URLS");
  } else if (!o.cluster.cell.empty() || !o.cluster.node_id.empty()) {
    throw usage_error(std::string("--") + (o.cluster.cell.empty() ? "node-id" : "cell") +
                      " needs --cluster URLS");
  }
  o.head_key_file = s.get("head-key-file", "");
  o.head_interval = std::chrono::seconds(static_cast<long>(s.number("head-interval", 60, 0, 1u << 30)));

  // Block the stop signals in every thread; this one waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto app = http::app::open(o);
  if (!app) {
    logging::error("server.error", "hooklog serve cannot start", {{"reason", app.err().what()}});
    return kExitFailure;
  }
  auto port = (*app)->start();
  if (!port) {
    logging::error("server.error", "hooklog serve cannot start", {{"reason", port.err().what()}});
    return 1;
  }
  std::printf("listening on %s\n", (*app)->local_address().c_str());
  if (!(*app)->metrics_address().empty())
    std::printf("metrics: listening on %s\n", (*app)->metrics_address().c_str());
  if (!(*app)->generated_admin_key().empty())
    std::printf("admin key (shown once, only its hash is stored): %s\n",
                (*app)->generated_admin_key().c_str());
  std::printf("data directory: %s%s\n", o.data_dir.c_str(), o.read_only ? " (read-only)" : "");
  if (o.cluster.enabled())
    std::printf("cluster: cell %s via %s\n", o.cluster.cell.c_str(), o.cluster.urls.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  logging::info("server.stopping", "stop signal received: finishing requests, flushing the log",
                {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*app)->stop();
  return 0;
}

}  // namespace hooklog::cli
