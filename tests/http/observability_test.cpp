// Operator logs (--log-format json|text) and /metrics of the real `hooklog serve`, checked the
// way an operator's tools read them: every stderr line parsed as JSON, /metrics through
// Prometheus' own promtool.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <sys/wait.h>

#include "engine/logger.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"
#include "tools/bench_result.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

std::string event_body(int i) {
  return json{{"id", "obs-" + std::to_string(i)},
              {"type", "order.updated"},
              {"timestamp", "2024-02-10T00:00:00Z"},
              {"tenant", "t1"},
              {"data", {{"n", i}}}}
      .dump();
}

std::vector<std::string> file_lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The first parsed line whose "event" is `event` and whose fields include `with`.
const json* find_line(const std::vector<json>& lines, const std::string& event,
                      const json& with = json::object()) {
  for (const auto& l : lines) {
    if (l.value("event", "") != event) continue;
    bool all = true;
    for (auto it = with.begin(); it != with.end(); ++it)
      if (!l.contains(it.key()) || l[it.key()] != it.value()) all = false;
    if (all) return &l;
  }
  return nullptr;
}

// name{labels} -> value, from a Prometheus text exposition.
std::map<std::string, double> parse_samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || l[0] == '#') continue;
    const auto sp = l.rfind(' ');
    out[l.substr(0, sp)] = std::stod(l.substr(sp + 1));
  }
  return out;
}

const json kFastRetry = {{"strategy", "fixed"}, {"base_ms", 10}, {"max_attempts", 2}};

// The nice values of process `pid`'s threads named `name` (/proc/<pid>/task/*/comm and field
// 19 of their stat).
std::vector<int> thread_nice(pid_t pid, const std::string& name) {
  std::vector<int> out;
  const auto tasks = std::filesystem::path("/proc") / std::to_string(pid) / "task";
  for (const auto& t : std::filesystem::directory_iterator(tasks)) {
    std::string comm = read_file(t.path() / "comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm != name) continue;
    out.push_back(
        std::stoi(hooklog::bench::proc_stat_fields(t.path() / "stat").at(16)));  // field 19
  }
  return out;
}

}  // namespace

TEST_CASE("serve --log-format json writes one JSON line per event with ts, level, event and msg",
          "[logs][serve]") {
  temp_dir dir;
  const auto err = dir / "serve.err";
  receiver_proc rx(dir, "rx", {"--status-mix", "500:1"});
  hooklog_server s({"--allow-private-targets", "--log-format", "json", "--rebuild-memory", "64",
                    "--projection-nice", "7"},
                   "", err.string());
  // The projections' thread, named, at the nice value asked for (it derives the deliveries
  // below, so it runs).
  CHECK(eventually(
      [&] { return thread_nice(s.process().pid(), "projections") == std::vector<int>{7}; }));
  auto ep = s.post("/v1/endpoints", {{"url", rx.url()}, {"tenant", "t1"}, {"retry", kFastRetry}});
  REQUIRE(ep.status == 201);
  const std::string ep_id = ep.json["id"];
  auto ev = s.call("POST", "/v1/sources/standard/events", event_body(1));
  REQUIRE(ev.status == 202);
  const std::string event_id = ev.json["id"];
  // Two failed attempts, the second dead-letters the delivery.
  REQUIRE(eventually(
      [&] { return s.get("/v1/attempts?endpoint_id=" + ep_id).json["items"].size() == 2; }));
  // A refused request.
  REQUIRE(s.get("/v1/events", "").status == 401);
  // A replay, run to its end, then cancelled.
  auto r = s.post("/v1/replays", {{"endpoint_id", ep_id}, {"mode", "all"}});
  REQUIRE(r.status == 202);
  const std::string replay_id = r.json["id"];
  REQUIRE(
      eventually([&] { return s.get("/v1/replays/" + replay_id).json["state"] == "finished"; }));
  // The replayed delivery fails twice as well.
  REQUIRE(eventually(
      [&] { return s.get("/v1/attempts?endpoint_id=" + ep_id).json["items"].size() == 4; }));
  REQUIRE(s.call("DELETE", "/v1/replays/" + replay_id).status == 200);
  REQUIRE(WEXITSTATUS(s.process().stop()) == 0);

  const auto raw = file_lines(err);
  REQUIRE(!raw.empty());
  const std::regex ts(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$)");
  std::vector<json> lines;
  for (const auto& l : raw) {
    INFO("stderr line: " << l);
    auto j = json::parse(l, nullptr, false);
    REQUIRE(j.is_object());
    REQUIRE(j["ts"].is_string());
    CHECK(std::regex_match(j["ts"].get<std::string>(), ts));
    CHECK((j["level"] == "debug" || j["level"] == "info" || j["level"] == "warn" ||
           j["level"] == "error"));
    CHECK(j["event"].is_string());
    CHECK(j["msg"].is_string());
    lines.push_back(std::move(j));
  }
  INFO("stderr:\n" << read_file(err));
  const json* start = find_line(lines, "server.start");
  REQUIRE(start);
  CHECK((*start)["level"] == "info");
  CHECK((*start)["listen"] == "127.0.0.1:" + std::to_string(s.port()));
  CHECK((*start)["config"]["admin_key"] == "[redacted]");  // the key is never written
  CHECK((*start)["config"]["allow_private_targets"] == true);
  CHECK((*start)["config"]["rebuild_memory"] == 64u << 20);
  CHECK((*start)["config"]["projection_nice"] == 7);
  CHECK(read_file(err).find(kAdminKey) == std::string::npos);

  const json* refused = find_line(lines, "http.refused", {{"code", 401}});
  REQUIRE(refused);
  CHECK((*refused)["route"] == "/v1/events");
  CHECK((*refused)["method"] == "GET");
  CHECK((*refused)["error"] == "unauthorized");

  const json* failed =
      find_line(lines, "delivery.failed", {{"attempt", 1}, {"event_id", event_id}});
  REQUIRE(failed);
  CHECK((*failed)["level"] == "warn");
  CHECK((*failed)["endpoint_id"] == ep_id);
  CHECK((*failed)["status"] == 500);
  CHECK((*failed)["outcome"] == "failure");
  CHECK((*failed)["reason"] == "status: 500");
  const json* dead =
      find_line(lines, "delivery.dead_letter", {{"attempt", 2}, {"event_id", event_id}});
  REQUIRE(dead);
  CHECK((*dead)["level"] == "error");
  CHECK((*dead)["endpoint_id"] == ep_id);

  const json* started = find_line(lines, "replay.started", {{"replay_id", replay_id}});
  REQUIRE(started);
  CHECK((*started)["endpoint_id"] == ep_id);
  CHECK((*started)["mode"] == "all");
  const json* finished = find_line(lines, "replay.finished", {{"replay_id", replay_id}});
  REQUIRE(finished);
  CHECK((*finished)["state"] == "finished");
  CHECK((*finished)["scheduled"] == 1);
  CHECK(find_line(lines, "replay.cancelled", {{"replay_id", replay_id}}));
  // The replayed delivery failed too and says which replay it belongs to.
  CHECK(find_line(lines, "delivery.failed", {{"replay_id", replay_id}}));

  CHECK(find_line(lines, "server.stopping", {{"signal", "SIGTERM"}}));
  REQUIRE(find_line(lines, "server.stop"));
  CHECK(lines.back()["event"] == "server.stop");
}

TEST_CASE("serve --log-format text writes readable lines, --log-level warn hides info lines",
          "[logs][serve]") {
  temp_dir dir;
  const auto err = dir / "serve.err";
  {
    hooklog_server s({}, "", err.string());
    REQUIRE(s.get("/v1/events", "").status == 401);
    // By default the projections' thread keeps the server's priority.
    CHECK(eventually(
        [&] { return thread_nice(s.process().pid(), "projections") == std::vector<int>{0}; }));
    // Every long-lived thread is named for what it does (docs/OPERATIONS.md, "Threads"); each
    // names itself once it runs: waited for.
    for (const char* name :
         {"log-writer", "log-answers", "dispatcher", "replays", "head-publisher"}) {
      INFO(name);
      CHECK(eventually([&] { return thread_nice(s.process().pid(), name).size() == 1; }));
    }
    for (const char* name : {"http-io", "deliver-io"}) {
      INFO(name);
      CHECK(eventually([&] { return !thread_nice(s.process().pid(), name).empty(); }));
    }
    s.process().stop();
  }
  const auto lines = file_lines(err);
  const std::regex line(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z (DEBUG|INFO |WARN |ERROR) [a-z_.]+: .+)");
  for (const auto& l : lines) {
    INFO(l);
    CHECK(std::regex_match(l, line));
  }
  const std::string all = read_file(err);
  INFO(all);
  CHECK(all.find(" INFO  server.start: hooklog serve started listen=127.0.0.1:") !=
        std::string::npos);
  CHECK(all.find(" INFO  http.refused: request refused code=401 ") != std::string::npos);
  CHECK(all.find("message=\"an API key is required: Authorization: Bearer <key>\"") !=
        std::string::npos);
  CHECK(all.find("route=/v1/events") != std::string::npos);

  const auto quiet = dir / "quiet.err";
  {
    hooklog_server s({"--log-level", "warn"}, "", quiet.string());
    REQUIRE(s.get("/v1/events", "").status == 401);
    s.process().stop();
  }
  CHECK(read_file(quiet).empty());  // start, refusal (info) and stop are below warn
}

TEST_CASE("serve refuses a bad --log-level or --log-format with exit 2", "[logs][serve]") {
  temp_dir dir;
  const std::string data = (dir / "data").string();
  CHECK(run_hooklog({"serve", "--data", data, "--log-level", "loud"}).exit_code == 2);
  CHECK(run_hooklog({"serve", "--data", data, "--log-format", "xml"}).exit_code == 2);
}

TEST_CASE(
    "metrics after deliveries, failures and dead letters pass promtool and count what the "
    "receivers saw",
    "[metrics][serve]") {
  const char* promtool = "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) {
    WARN("SKIPPED: promtool is not installed (Debian package prometheus; tools/install-deps.sh)");
    return;
  }
  temp_dir dir;
  receiver_proc ok(dir, "ok", {});
  receiver_proc bad(dir, "bad", {"--status-mix", "500:1"});
  hooklog_server s({"--allow-private-targets"});
  REQUIRE(s.post("/v1/endpoints", {{"url", ok.url()}, {"tenant", "t1"}}).status == 201);
  REQUIRE(s.post("/v1/endpoints", {{"url", bad.url()}, {"tenant", "t1"}, {"retry", kFastRetry}})
              .status == 201);
  // Nothing listens on port 1: connection refused, one attempt, dead-lettered.
  const json once = {{"strategy", "fixed"}, {"base_ms", 10}, {"max_attempts", 1}};
  REQUIRE(s.post("/v1/endpoints",
                 {{"url", "http://127.0.0.1:1/hook"}, {"tenant", "t1"}, {"retry", once}})
              .status == 201);
  constexpr int kEvents = 5;
  for (int i = 0; i < kEvents; ++i)
    REQUIRE(s.call("POST", "/v1/sources/standard/events", event_body(i)).status == 202);
  REQUIRE(s.call("POST", "/v1/sources/standard/events", "{not json").status == 400);

  std::string text;
  std::map<std::string, double> m;
  REQUIRE(eventually(
      [&] {
        auto r = s.get("/metrics");
        if (r.status != 200) return false;
        text = r.body;
        m = parse_samples(text);
        // The attempt counters move when an attempt's record is durable, which can come a moment
        // after the projection shows the queue empty (the writer's callback and the projection
        // runner are two threads): wait for every attempt to be counted too, one per event on the
        // good endpoint, two on the failing one, one on the refused one.
        double attempts = 0;
        for (const auto& [name, value] : m)
          if (name.rfind("hooklog_delivery_attempts_total{", 0) == 0) attempts += value;
        return m["hooklog_delivery_queue_items{endpoints=\"enabled\"}"] == 0 &&
               m["hooklog_deliveries_in_flight"] == 0 && m["hooklog_dead_letters"] == 2 * kEvents &&
               attempts >= 4 * kEvents && m["hooklog_delivery_dead_letters_total"] == 2 * kEvents;
      },
      std::chrono::seconds(20)));
  INFO(text);
  const auto file = dir / "metrics.txt";
  std::ofstream(file) << text;
  const auto out = dir / "promtool.out";
  const std::string cmd =
      std::string(promtool) + " check metrics < " + file.string() + " > " + out.string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO("promtool: " << read_file(out));
  CHECK(WEXITSTATUS(rc) == 0);
  CHECK(read_file(out).empty());  // no lint problems

  // What the receivers saw, attempt by attempt.
  std::size_t ok_200 = 0, bad_500 = 0;
  for (const auto& l : ok.lines()) ok_200 += l["status_sent"] == 200;
  for (const auto& l : bad.lines()) bad_500 += l["status_sent"] == 500;
  CHECK(ok_200 == kEvents);
  CHECK(bad_500 == 2 * kEvents);
  CHECK(m["hooklog_delivery_attempts_total{outcome=\"success\"}"] == static_cast<double>(ok_200));
  CHECK(m["hooklog_delivery_attempts_total{outcome=\"failure\"}"] == static_cast<double>(bad_500));
  CHECK(m["hooklog_delivery_attempts_total{outcome=\"refused\"}"] == kEvents);
  CHECK(m["hooklog_delivery_attempts_total{outcome=\"timeout\"}"] == 0);
  CHECK(m["hooklog_delivery_dead_letters_total"] == 2 * kEvents);
  // Every request that was sent is timed (a refused connection may be, with its connect time).
  CHECK(m["hooklog_delivery_duration_seconds_count"] >= static_cast<double>(ok_200 + bad_500));
  CHECK(m["hooklog_delivery_duration_seconds_count"] <=
        static_cast<double>(ok_200 + bad_500 + kEvents));
  CHECK(m["hooklog_endpoints{state=\"enabled\"}"] == 3);
  CHECK(m["hooklog_events_ingested_total{outcome=\"stored\"}"] == kEvents);
  // Requests by route pattern (never the raw path), method and code.
  CHECK(m["hooklog_http_requests_total{route=\"/v1/sources/{}/"
          "events\",method=\"POST\",code=\"202\"}"] == kEvents);
  CHECK(m["hooklog_http_requests_total{route=\"/v1/sources/{}/"
          "events\",method=\"POST\",code=\"400\"}"] == 1);
  CHECK(m["hooklog_http_request_duration_seconds_count{route=\"/v1/sources/{}/"
          "events\",method=\"POST\"}"] == kEvents + 1);
  CHECK(m["hooklog_log_commit_duration_seconds_count"] == m["hooklog_log_commit_groups_total"]);
  CHECK(m["hooklog_log_commit_duration_seconds_bucket{le=\"+Inf\"}"] ==
        m["hooklog_log_commit_groups_total"]);
  // The writer's time after its commits (answers, index writes), apart from the commits.
  REQUIRE(m.count("hooklog_log_after_commit_seconds_total") == 1);
  CHECK(m["hooklog_log_after_commit_seconds_total"] > 0);
  // Each projection batch applied at least one record.
  CHECK(m["hooklog_projection_batches_total"] >= 1);
  CHECK(m["hooklog_projection_batches_total"] <= m["hooklog_log_head_seq"]);
  CHECK(m["hooklog_build_info{version=\"0.1.0\"}"] == 1);
  CHECK(m["process_resident_memory_bytes"] > 0);
  CHECK(m["process_open_fds"] > 0);
  CHECK(m["process_start_time_seconds"] > 1.7e9);
  CHECK(text.find("status=") == std::string::npos);  // HTTP counters are labelled code
}

TEST_CASE("log_sampler allows N lines a second per key and reports what it left out", "[logs]") {
  hooklog::logging::log_sampler s(3);
  std::uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    CHECK(s.allow_at("401", 100, suppressed));
    CHECK(suppressed == 0);
  }
  CHECK_FALSE(s.allow_at("401", 100, suppressed));
  CHECK_FALSE(s.allow_at("401", 100, suppressed));
  CHECK(s.allow_at("500", 100, suppressed));  // another key has its own budget
  CHECK(suppressed == 0);
  CHECK(s.allow_at("401", 101, suppressed));  // the next second: the two left out are reported
  CHECK(suppressed == 2);
  CHECK(s.allow_at("401", 101, suppressed));
  CHECK(suppressed == 0);
}

TEST_CASE("log_sampler::write writes allowed lines with what it left out, and builds no fields "
          "for a dropped one", "[logs]") {
  namespace logging = hooklog::logging;
  temp_dir dir;
  const auto path = dir / "sampled.log";
  std::FILE* out = std::fopen(path.string().c_str(), "w");
  REQUIRE(out);
  logging::configure(logging::level::info, logging::format::json, out);
  logging::log_sampler s(1);
  int built = 0;
  auto fields = [&] {
    ++built;
    return json{{"n", built}};
  };
  CHECK(s.write_at(100, logging::level::warn, "k", "test.sampled", "first", fields));
  CHECK_FALSE(s.write_at(100, logging::level::warn, "k", "test.sampled", "dropped", fields));
  CHECK_FALSE(s.write_at(100, logging::level::warn, "k", "test.sampled", "dropped", fields));
  CHECK(built == 1);  // a dropped line builds no fields
  CHECK(s.write_at(101, logging::level::warn, "k", "test.sampled", "second", fields));
  // Below the configured level: not written, not counted as left out.
  CHECK_FALSE(s.write_at(102, logging::level::debug, "k", "test.sampled", "debug", fields));
  CHECK(s.write_at(102, logging::level::error, "k", "test.sampled", "third", fields));
  logging::configure(logging::level::info, logging::format::text, stderr);
  std::fclose(out);
  const auto lines = file_lines(path);
  REQUIRE(lines.size() == 3);
  const auto a = json::parse(lines[0]), b = json::parse(lines[1]), c = json::parse(lines[2]);
  CHECK(a["msg"] == "first");
  CHECK(a["n"] == 1);
  CHECK_FALSE(a.contains("suppressed"));
  CHECK(b["msg"] == "second");
  CHECK(b["level"] == "warn");
  CHECK(b["suppressed"] == 2);
  CHECK(c["msg"] == "third");
  CHECK(c["level"] == "error");
  CHECK_FALSE(c.contains("suppressed"));
}

TEST_CASE("answers the server gives before routing are logged and counted by code",
          "[logs][metrics][serve]") {
  temp_dir dir;
  const auto err = dir / "serve.err";
  hooklog_server s({"--log-format", "json", "--body-limit", "100"}, "", err.string());
  // Refused from its Content-Length, before any handler: 413 from the server itself.
  auto r = s.call("POST", "/v1/sources/standard/events", event_body(1) + std::string(200, ' '));
  REQUIRE(r.status == 413);
  auto m = parse_samples(s.get("/metrics").body);
  CHECK(m["hooklog_http_server_refusals_total{code=\"413\"}"] == 1);
  s.process().stop();
  std::vector<json> lines;
  for (const auto& l : file_lines(err)) lines.push_back(json::parse(l));
  const json* refused = find_line(lines, "http.refused", {{"code", 413}});
  INFO(read_file(err));
  REQUIRE(refused);
  CHECK((*refused)["route"] == "(server)");
  CHECK((*refused)["client"] == "127.0.0.1");
  CHECK((*refused)["error"] == "payload_too_large");
  CHECK((*refused)["message"].get<std::string>().find("over the limit") != std::string::npos);
}
