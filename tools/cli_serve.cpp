// hooklog serve: the HTTP API over an embedded data directory.
#include <signal.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/logger.hpp"
#include "http/app.hpp"
#include "tools/cli_common.hpp"

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
  --body-limit BYTES          request body limit (1048576); also each event's limit
  --batch-body-limit BYTES    body limit of POST /v1/sources/{source}/events:batch (16777216)
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
  --rotation-overlap SECONDS  how long a rotated secret stays valid (86400)
endpoint quotas (per tenant and per endpoint, checked on create and update; 422 quota_exceeded):
  --max-endpoints-per-tenant N      endpoints of one tenant (1000)
  --max-filter-bytes BYTES          an endpoint's filter as compact JSON (16384)
  --max-filter-conditions N         conditions in a filter, all + any (32; at most 64)
  --max-headers N                   headers of an endpoint (32; at most 64)
  --max-header-value-bytes BYTES    one header value (1024; at most 8192)
  --max-description-bytes BYTES     an endpoint's description (1024; at most 4096)
logs (one line per event on stderr; see docs/OPERATIONS.md):
  --log-level LEVEL           debug, info, warn or error (info)           HOOKLOG_LOG_LEVEL
  --log-format FORMAT         text or json (text)                         HOOKLOG_LOG_FORMAT
  --config FILE               a JSON object of the flags above
  --help                      this text
)";

const std::vector<std::string> kBooleans = {"help", "allow-private-targets", "no-deliver", "read-only"};

// The value of a setting: flag, then environment, then config file, then fallback.
struct settings {
  const args& a;
  nlohmann::json file;
  std::string get(const std::string& name, const char* env, const std::string& fallback) const {
    if (a.has(name)) return a.get(name);
    if (env)
      if (const char* v = std::getenv(env); v && *v) return v;
    if (file.contains(name)) {
      const auto& v = file[name];
      return v.is_string() ? v.get<std::string>() : v.dump();
    }
    return fallback;
  }
};

// The endpoint quota flags; false with `err` naming the flag and its range.
bool read_quotas(const settings& s, http::endpoint_quotas& q, std::string& err) {
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
  for (const auto& f : flags) {
    const std::string v = s.get(f.name, nullptr, std::to_string(*f.out));
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > f.max) {
      err = std::string("--") + f.name + " must be a whole number from 1 to " +
            (f.max == SIZE_MAX ? std::string("2^64-1") : std::to_string(f.max)) + ", got \"" + v +
            "\"";
      return false;
    }
    *f.out = n;
  }
  return true;
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, kBooleans, err);
  if (!a) {
    std::fprintf(stderr, "hooklog serve: %s\n", err.c_str());
    return 2;
  }
  if (a->has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  settings s{*a, nlohmann::json::object()};
  if (a->has("config")) {
    std::ifstream in(a->get("config"));
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!in || j.is_discarded() || !j.is_object()) {
      std::fprintf(stderr, "hooklog serve: --config %s is not a readable JSON object\n", a->get("config").c_str());
      return 2;
    }
    s.file = std::move(j);
  }
  // Logging flags (issue 13): configured first, so every later line follows them.
  {
    const std::string lv = s.get("log-level", "HOOKLOG_LOG_LEVEL", "info");
    const std::string lf = s.get("log-format", "HOOKLOG_LOG_FORMAT", "text");
    const auto level = logging::parse_level(lv);
    const auto format = logging::parse_format(lf);
    if (!level) {
      std::fprintf(stderr, "hooklog serve: --log-level must be debug, info, warn or error, got \"%s\"\n", lv.c_str());
      return 2;
    }
    if (!format) {
      std::fprintf(stderr, "hooklog serve: --log-format must be text or json, got \"%s\"\n", lf.c_str());
      return 2;
    }
    logging::configure(*level, *format);
  }
  http::app_options o;
  try {
    o.server.listen = s.get("listen", "HOOKLOG_LISTEN", "127.0.0.1:8080");
    o.data_dir = a->has("data") ? a->get("data") : s.get("data", "HOOKLOG_DATA", "./var");
    o.admin_key = s.get("admin-key", "HOOKLOG_ADMIN_KEY", "");
    o.sources_dir = s.get("sources", "HOOKLOG_SOURCES", "");
    o.secret_key = s.get("secret-key", "HOOKLOG_SECRET_KEY", "");
    o.api.ca_file = s.get("ca-file", nullptr, "");
    o.deliver = s.get("no-deliver", nullptr, "false") != "true";
    o.read_only = s.get("read-only", nullptr, "false") == "true";
    o.api.allow_private_targets = s.get("allow-private-targets", nullptr, "false") == "true";
    o.server.threads = static_cast<unsigned>(std::stoul(s.get("threads", nullptr, "0")));
    o.server.body_limit = std::stoull(s.get("body-limit", nullptr, "1048576"));
    o.api.limits.max_body_bytes = o.server.body_limit;
    o.batch_body_limit = std::stoull(s.get("batch-body-limit", nullptr, "16777216"));
    o.server.max_connections = std::stoull(s.get("max-connections", nullptr, "10000"));
    o.server.max_connections_per_client =
        std::stoull(s.get("max-connections-per-client", nullptr, "256"));
    o.server.first_byte_timeout =
        std::chrono::seconds(std::stol(s.get("first-byte-timeout", nullptr, "10")));
    o.metrics_listen = s.get("metrics-listen", nullptr, "");
    o.server.read_timeout = std::chrono::seconds(std::stol(s.get("read-timeout", nullptr, "30")));
    o.server.idle_timeout = std::chrono::seconds(std::stol(s.get("idle-timeout", nullptr, "60")));
    o.server.tls_cert_file = s.get("tls-cert", nullptr, "");
    o.server.tls_key_file = s.get("tls-key", nullptr, "");
    o.max_map_size = std::stoull(s.get("max-map-size", nullptr, std::to_string(1ull << 40)));
    o.api.rotation_overlap = std::chrono::seconds(std::stol(s.get("rotation-overlap", nullptr, "86400")));
  } catch (const std::exception&) {
    std::fprintf(stderr, "hooklog serve: a numeric flag has a value that is not a number\n");
    return 2;
  }
  if (!read_quotas(s, o.api.quotas, err)) {
    std::fprintf(stderr, "hooklog serve: %s\n", err.c_str());
    return 2;
  }

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
    return 1;
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
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  logging::info("server.stopping", "stop signal received: finishing requests, flushing the log",
                {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*app)->stop();
  return 0;
}

}  // namespace hooklog::cli
