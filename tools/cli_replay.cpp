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

}  // namespace

int cmd_replay(int argc, char** argv) {
  auto app = make_app("replay",
                      "Starts a replay of past events to an endpoint on a running server\n"
                      "(POST /v1/replays); --wait follows it to the end (exit 1 when it failed).");
  server_flags sf;
  std::string endpoint, from_s, to_s, time = "recorded", entity, mode = "all", rate;
  std::vector<std::string> types;
  bool wait = false;
  add_server_flags(*app, sf);
  app->add_option("--endpoint", endpoint, "the endpoint to deliver to")->required();
  app->add_option("--from", from_s, "events at or after this time (RFC 3339 or microseconds)");
  app->add_option("--to", to_s, "events before this time (RFC 3339 or microseconds)");
  app->add_option("--time", time,
                  "which time --from/--to select on: recorded (default) or occurred");
  app->add_option("--type", types, "event type patterns (repeatable; dds.* matches a prefix)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_option("--entity", entity, "only this entity: KIND or KIND:ID");
  app->add_option("--mode", mode, "all (default), missing (never delivered) or failed");
  app->add_option("--rate", rate, "at most this many events per second (0: the server's default)")
      ->type_name("N");
  app->add_flag("--wait", wait, "follow the replay until it ends");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  const auto [from, to] = parse_time_range(from_s, to_s, time);
  if (mode != "all" && mode != "missing" && mode != "failed")
    throw usage_error("--mode is all, missing or failed, got \"" + mode + "\"");
  nlohmann::json body = {{"endpoint_id", endpoint}, {"mode", mode}, {"time", time}};
  if (from) body["from"] = *from;
  if (to) body["to"] = *to;
  if (!types.empty()) body["types"] = types;
  if (!rate.empty()) body["rate_limit"] = to_uint("rate", rate);  // 0: the server's default
  if (!entity.empty()) {
    std::string kind, id;
    split_entity(entity, kind, id);
    body["entity"] = {{"kind", kind}};
    if (!id.empty()) body["entity"]["id"] = id;
  }
  const server_conn s = server_from(sf, "replay");
  auto r = s.call("POST", "/v1/replays", body.dump());
  if (int rc = s.check(r, "POST", "/v1/replays", 202)) return rc;
  auto j = nlohmann::json::parse(r.body);
  print_replay(j);
  if (!wait) return kExitOk;
  const std::string target = "/v1/replays/" + j["id"].get<std::string>();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto g = s.call("GET", target);
    if (int rc = s.check(g, "GET", target, 200)) return rc;
    auto x = nlohmann::json::parse(g.body);
    print_replay(x);
    if (x["state"] != "running" && x["left"].value("deliveries_outstanding", 0ull) == 0)
      return x["state"] == "finished" ? kExitOk : kExitFailure;
  }
}

int cmd_replays(int argc, char** argv) {
  auto app = make_app("replays",
                      "Lists the replays of a running server, shows one (ID), or cancels one\n"
                      "(ID --cancel).");
  server_flags sf;
  std::string id, endpoint, state;
  bool cancel = false, json = false;
  add_server_flags(*app, sf);
  app->add_option("ID", id, "a replay to show (or cancel)");
  app->add_flag("--cancel", cancel, "cancel the replay ID")->needs(app->get_option("ID"));
  app->add_option("--endpoint", endpoint, "only the replays of this endpoint");
  app->add_option("--state", state,
                  "only replays in this state (running, finished, failed, cancelled)");
  app->add_flag("--json", json, "the API's JSON, one object per line");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  const server_conn s = server_from(sf, "replays");
  if (!id.empty()) {
    const std::string target = "/v1/replays/" + id;
    const char* method = cancel ? "DELETE" : "GET";
    auto r = s.call(method, target);
    if (int rc = s.check(r, method, target, 200)) return rc;
    if (json)
      std::printf("%s\n", r.body.c_str());
    else print_replay(nlohmann::json::parse(r.body));
    return kExitOk;
  }
  std::string cursor;
  for (;;) {
    std::string target = "/v1/replays?limit=1000";
    if (!endpoint.empty()) target += "&endpoint_id=" + endpoint;
    if (!state.empty()) target += "&state=" + state;
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto r = s.call("GET", target);
    if (int rc = s.check(r, "GET", target, 200)) return rc;
    auto j = nlohmann::json::parse(r.body);
    for (const auto& x : j["items"]) {
      if (json)
        std::printf("%s\n", x.dump().c_str());
      else print_replay(x);
    }
    if (j["next"].is_null()) return kExitOk;
    cursor = j["next"];
  }
}

}  // namespace hooklog::cli
