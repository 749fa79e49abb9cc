// The connection of the subcommands that talk to a running server.
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "http/delivery/client.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

void add_server_flags(CLI::App& app, server_flags& out) {
  app.add_option("--server", out.server, "the server, http://HOST:PORT ($HOOKLOG_SERVER)");
  app.add_option("--key", out.key, "an API key ($HOOKLOG_KEY)");
}

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

int server_conn::check(const reply& r, const std::string& method, const std::string& target,
                       unsigned want) const {
  if (r.status == 0) {
    std::fprintf(stderr, "hooklog %s: cannot reach the server at %s:%u: %s\n", command.c_str(),
                 host.c_str(), port, r.body.c_str());
    return kExitUnreachable;
  }
  if (r.status == want) return kExitOk;
  // The API's error shape: {"error":{"code","message"}}; anything else is shown as it came.
  std::string code, message = r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    code = j["error"].value("code", "");
    message = j["error"].value("message", "");
  }
  if (message.size() > 500) message = message.substr(0, 500) + "...";
  std::fprintf(stderr, "hooklog %s: error: %u %s%s%s (%s %s)\n", command.c_str(), r.status,
               code.c_str(), code.empty() ? "" : ": ", message.c_str(), method.c_str(),
               target.c_str());
  return kExitFailure;
}

server_conn server_from(const server_flags& f, const std::string& command) {
  std::string url = f.server;
  if (url.empty())
    if (const char* e = std::getenv("HOOKLOG_SERVER")) url = e;
  if (url.empty()) throw usage_error("--server http://HOST:PORT is required (or HOOKLOG_SERVER)");
  const std::string given = url;
  if (url.rfind("http://", 0) == 0) url = url.substr(7);
  if (auto slash = url.find('/'); slash != std::string::npos) url = url.substr(0, slash);
  const auto colon = url.rfind(':');
  unsigned p = 0;
  if (colon == std::string::npos ||
      std::from_chars(url.data() + colon + 1, url.data() + url.size(), p).ec != std::errc() ||
      p == 0 || p > 65535)
    throw usage_error("--server must look like http://127.0.0.1:8080, got \"" + given + "\"");
  server_conn s;
  s.command = command;
  s.host = url.substr(0, colon);
  s.port = static_cast<unsigned short>(p);
  s.key = f.key;
  if (s.key.empty())
    if (const char* e = std::getenv("HOOKLOG_KEY")) s.key = e;
  return s;
}

}  // namespace hooklog::cli
