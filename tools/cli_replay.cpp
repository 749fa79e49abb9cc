// hooklog replay --server URL --key KEY --endpoint EP [--from T] [--to T]
//                [--time recorded|occurred] [--type P]... [--entity KIND[:ID]]
//                [--mode all|missing|failed] [--rate N] [--wait]
// hooklog replays --server URL --key KEY [ID] [--cancel] [--endpoint EP] [--state S]
// Both talk to a running server (POST/GET/DELETE /v1/replays).
#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/time_util.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {
namespace {

void print_replay(const nlohmann::json& r) {
  std::printf("%s %-9s endpoint=%s scanned=%llu scheduled=%llu delivered=%llu failed=%llu left~%llu (%llds)\n",
              r.value("id", std::string()).c_str(), r.value("state", std::string()).c_str(),
              r.value("endpoint_id", std::string()).c_str(),
              static_cast<unsigned long long>(r.value("scanned", 0ull)),
              static_cast<unsigned long long>(r.value("scheduled", 0ull)),
              static_cast<unsigned long long>(r.value("delivered", 0ull)),
              static_cast<unsigned long long>(r.value("failed", 0ull)),
              static_cast<unsigned long long>(r["left"].value("events_to_schedule", 0ull)),
              static_cast<long long>(r["left"].value("seconds", 0ll)));
}

int answer(const server_conn::reply& r, const char* cmd, unsigned want) {
  if (r.status == 0) {
    std::fprintf(stderr, "hooklog %s: %s\n", cmd, r.body.c_str());
    return 2;
  }
  if (r.status != want) {
    std::fprintf(stderr, "hooklog %s: HTTP %u: %s\n", cmd, r.status, r.body.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int cmd_replay(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help", "wait"}, err);
  if (!a || a->has("help") || !a->has("endpoint")) {
    std::fprintf(a && a->has("help") ? stdout : stderr,
                 "%s%susage: hooklog replay --server URL --key KEY --endpoint EP [--from T] [--to T]\n"
                 "       [--time recorded|occurred] [--type PATTERN]... [--entity KIND[:ID]]\n"
                 "       [--mode all|missing|failed] [--rate EVENTS_PER_S] [--wait]\n",
                 err.c_str(), err.empty() ? "" : "\n");
    return a && a->has("help") ? 0 : 2;
  }
  auto s = server_from(*a, "replay");
  if (!s) return 2;
  nlohmann::json body = {{"endpoint_id", a->get("endpoint")}, {"mode", a->get("mode", "all")},
                         {"time", a->get("time", "recorded")}};
  if (a->has("from")) body["from"] = a->get("from");
  if (a->has("to")) body["to"] = a->get("to");
  if (a->has("type")) body["types"] = a->all("type");
  if (a->has("rate")) body["rate_limit"] = std::stoll(a->get("rate"));
  if (a->has("entity")) {
    const std::string e = a->get("entity");
    const auto colon = e.find(':');
    body["entity"] = {{"kind", e.substr(0, colon)}};
    if (colon != std::string::npos) body["entity"]["id"] = e.substr(colon + 1);
  }
  auto r = s->call("POST", "/v1/replays", body.dump());
  if (int rc = answer(r, "replay", 202)) return rc;
  auto j = nlohmann::json::parse(r.body);
  print_replay(j);
  if (!a->has("wait")) return 0;
  const std::string id = j["id"];
  for (;;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto g = s->call("GET", "/v1/replays/" + id);
    if (int rc = answer(g, "replay", 200)) return rc;
    auto x = nlohmann::json::parse(g.body);
    print_replay(x);
    if (x["state"] != "running" && x["left"].value("deliveries_outstanding", 0ull) == 0)
      return x["state"] == "finished" ? 0 : 1;
  }
}

int cmd_replays(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help", "cancel", "json"}, err);
  if (!a || a->has("help")) {
    std::fprintf(a ? stdout : stderr,
                 "%s%susage: hooklog replays --server URL --key KEY [ID [--cancel]] [--endpoint EP] "
                 "[--state S] [--json]\n",
                 err.c_str(), err.empty() ? "" : "\n");
    return a ? 0 : 2;
  }
  auto s = server_from(*a, "replays");
  if (!s) return 2;
  if (!a->positional.empty()) {
    const std::string id = a->positional[0];
    auto r = a->has("cancel") ? s->call("DELETE", "/v1/replays/" + id) : s->call("GET", "/v1/replays/" + id);
    if (int rc = answer(r, "replays", 200)) return rc;
    if (a->has("json")) std::printf("%s\n", r.body.c_str());
    else print_replay(nlohmann::json::parse(r.body));
    return 0;
  }
  std::string cursor;
  for (;;) {
    std::string target = "/v1/replays?limit=1000";
    if (a->has("endpoint")) target += "&endpoint_id=" + a->get("endpoint");
    if (a->has("state")) target += "&state=" + a->get("state");
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto r = s->call("GET", target);
    if (int rc = answer(r, "replays", 200)) return rc;
    auto j = nlohmann::json::parse(r.body);
    for (const auto& x : j["items"]) {
      if (a->has("json")) std::printf("%s\n", x.dump().c_str());
      else print_replay(x);
    }
    if (j["next"].is_null()) return 0;
    cursor = j["next"];
  }
}

}  // namespace hooklog::cli
