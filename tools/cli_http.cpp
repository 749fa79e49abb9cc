// Shared by the subcommands that talk to a running server, and time flags.
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "engine/time_util.hpp"
#include "http/client.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

server_conn::reply server_conn::call(const std::string& method, const std::string& target,
                                     const std::string& body) const {
  http::http_client c(host, port);
  http::header_list h;
  if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
  if (!body.empty()) h.emplace_back("Content-Type", "application/json");
  auto r = c.request(method, target, body, h);
  if (!r) return {0, r.err().what()};
  return {r->status, r->body};
}

std::optional<server_conn> server_from(const args& a, const char* command) {
  std::string url = a.get("server");
  if (url.empty())
    if (const char* e = std::getenv("HOOKLOG_SERVER")) url = e;
  if (url.empty()) {
    std::fprintf(stderr, "hooklog %s: --server http://HOST:PORT is required (or HOOKLOG_SERVER)\n", command);
    return std::nullopt;
  }
  if (url.rfind("http://", 0) == 0) url = url.substr(7);
  if (auto slash = url.find('/'); slash != std::string::npos) url = url.substr(0, slash);
  const auto colon = url.rfind(':');
  server_conn s;
  unsigned p = 0;
  if (colon == std::string::npos ||
      std::from_chars(url.data() + colon + 1, url.data() + url.size(), p).ec != std::errc() || p == 0 ||
      p > 65535) {
    std::fprintf(stderr, "hooklog %s: --server must look like http://127.0.0.1:8080\n", command);
    return std::nullopt;
  }
  s.host = url.substr(0, colon);
  s.port = static_cast<unsigned short>(p);
  s.key = a.get("key");
  if (s.key.empty())
    if (const char* e = std::getenv("HOOKLOG_KEY")) s.key = e;
  return s;
}

bool time_flag(const args& a, const std::string& name, std::optional<std::int64_t>& out) {
  if (!a.has(name)) return true;
  const std::string v = a.get(name);
  if (auto t = parse_rfc3339(v)) {
    out = *t;
    return true;
  }
  std::int64_t n = 0;
  if (std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc() && !v.empty()) {
    out = n;
    return true;
  }
  std::fprintf(stderr, "--%s must be an RFC 3339 time (2024-02-10T00:37:34Z) or microseconds\n", name.c_str());
  return false;
}

}  // namespace hooklog::cli
