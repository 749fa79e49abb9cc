// What the hooklog command line prints, through the real binaries: tail --json for every record
// kind (each line parsed), tail's text line of an attempt, timeline as the API shows it (every
// transition, where the route answers pages), and the one time format (RFC 3339 with
// microseconds) in exports, the CLI's JSON and API answers.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "hooklog_build_paths.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

const std::regex kTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");

bool is_time(const nlohmann::json& j) {
  return j.is_string() && std::regex_match(j.get<std::string>(), kTime);
}

template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    INFO(line);
    REQUIRE(j.is_object());
    out.push_back(std::move(j));
  }
  return out;
}

std::string order_event(const std::string& folio, const std::string& status, const std::string& at,
                        int n) {
  return R"({"folio":")" + folio + R"(","n":)" + std::to_string(n) + R"(,"status":")" + status +
         R"(","timestamp":")" + at + R"(","workspace":"jelp"})";
}

}  // namespace

TEST_CASE("tail --json prints every record kind as JSON, text lines show an attempt's outcome",
          "[cli][tail]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  child_process rx(HOOKLOG_RECEIVER,
                   {"--listen", "127.0.0.1:0", "--out", (d.path() / "rx.ndjson").string()});
  auto addr = rx.wait_listening();
  REQUIRE(addr);
  {
    hooklog_server s({"--allow-private-targets"}, data);
    auto ep = s.post(
        "/v1/endpoints",
        {{"url", "http://127.0.0.1:" + std::to_string(addr->port) + "/hook"}, {"tenant", "jelp"}});
    REQUIRE(ep.status == 201);
    const std::string id = ep.json["id"];
    REQUIRE(s.call("POST", "/v1/sources/jelp/events?type=order_update:status_change",
                   order_event("F1", "TRANSIT", "2024-02-10T00:10:00Z", 1))
                .status == 202);
    REQUIRE(eventually(
        [&] { return s.get("/v1/attempts?endpoint_id=" + id).json["items"].size() == 1; }));
    // Endpoint health in the API's one time format too (null = never).
    auto health = s.get("/v1/endpoints/" + id).json["health"];
    CHECK(is_time(health["last_success_at"]));
    CHECK(health["last_failure_at"].is_null());
    REQUIRE(s.post("/v1/endpoints/" + id + "/rotate-secret", nlohmann::json::object()).status ==
            200);
    REQUIRE(s.post("/v1/endpoints/" + id + "/disable", {{"reason", "maintenance"}}).status == 200);
    REQUIRE(s.post("/v1/endpoints/" + id + "/enable", nlohmann::json::object()).status == 200);
    REQUIRE(s.post("/v1/keys", {{"tenant", "jelp"}}).status == 201);
    auto rp = s.post("/v1/replays", {{"endpoint_id", id}});
    REQUIRE(rp.status == 202);
    REQUIRE(eventually([&] {
      return s.get("/v1/replays/" + rp.json["id"].get<std::string>()).json["state"] != "running";
    }));
  }
  auto r = run_hooklog({"tail", "--data", data, "--lines", "1000", "--no-follow", "--json"});
  REQUIRE(r.exit_code == 0);
  auto lines = json_lines(r.out);
  std::set<std::string> kinds;
  for (const auto& j : lines) {
    INFO(j.dump());
    CHECK(j["seq"].is_number_unsigned());
    CHECK(is_time(j["recorded_at"]));
    if (j.contains("_export")) {
      kinds.insert("event_received");
      CHECK(is_time(j["occurred_at"]));
      CHECK(j["occurred_at"] == "2024-02-10T00:10:00.000000Z");
      continue;
    }
    const std::string kind = j["kind"];
    kinds.insert(kind);
    CHECK(j.dump().find("whsec_") == std::string::npos);  // never a secret
    if (kind == "delivery_attempt") {
      CHECK(j["outcome"] == "success");
      CHECK(j["status"] == 200);
      CHECK(j["event_id"].get<std::string>().rfind("evt_", 0) == 0);
    }
    if (kind == "endpoint_created")
      CHECK(j["url"].get<std::string>().find("/hook") != std::string::npos);
    if (kind == "secret_rotated") CHECK(is_time(j["previous_valid_until"]));
    if (kind == "endpoint_disabled") CHECK(j["reason"] == "maintenance");
  }
  for (const char* k : {"event_received", "endpoint_created", "secret_rotated", "endpoint_disabled",
                        "endpoint_enabled", "delivery_attempt", "key_issued", "replay_requested",
                        "replay_finished"})
    CHECK(kinds.count(k) == 1);

  auto text = run_hooklog({"tail", "--data", data, "--kind", "delivery_attempt", "--no-follow"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find(" success status 200 attempt 1 ") != std::string::npos);
  std::string event_id;
  for (const auto& j : lines)
    if (j.value("kind", "") == "delivery_attempt") event_id = j["event_id"];
  CHECK(text.out.find(" " + event_id + " success status 200 attempt 1 ") != std::string::npos);
}

TEST_CASE("timeline shows what the API shows: occurred order, current status, out-of-order marks",
          "[cli][timeline]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  nlohmann::json api;
  {
    hooklog_server s({}, data);
    // Recorded in this order; the second occurred last, the third before it (out of order).
    const char* steps[][2] = {{"TRANSIT", "2024-02-10T00:10:00Z"},
                              {"DELIVERED", "2024-02-10T00:30:00Z"},
                              {"OUT_FOR_DELIVERY", "2024-02-10T00:20:00Z"}};
    int n = 0;
    for (auto& st : steps)
      REQUIRE(s.call("POST", "/v1/sources/jelp/events?type=order_update:status_change",
                     order_event("F9", st[0], st[1], n++))
                  .status == 202);
    auto t = s.get("/v1/entities/order/F9/timeline");
    REQUIRE(t.status == 200);
    api = t.json;
  }
  auto r = run_hooklog({"timeline", "order", "F9", "--data", data, "--json"});
  REQUIRE(r.exit_code == 0);
  auto cli = nlohmann::json::parse(r.out);
  CHECK(cli == api);
  CHECK(cli["current_status"] == "DELIVERED");
  REQUIRE(cli["transitions"].size() == 3);
  CHECK(cli["transitions"][1]["to"] == "OUT_FOR_DELIVERY");
  CHECK(cli["transitions"][1]["out_of_order"] == true);
  CHECK(cli["transitions"][1]["occurred_at"] == "2024-02-10T00:20:00.000000Z");
  auto text = run_hooklog({"timeline", "order", "F9", "--data", data});
  CHECK(text.out.find("current status DELIVERED") != std::string::npos);
  CHECK(text.out.find("TRANSIT -> OUT_FOR_DELIVERY  " +
                      cli["transitions"][1]["event_id"].get<std::string>() + "  (out of order") !=
        std::string::npos);
}

TEST_CASE("timeline prints every transition, past the route's page of 1000", "[cli][timeline]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  constexpr int kSteps = 1005;
  nlohmann::json api = nlohmann::json::array();  // the route's pages, followed through "next"
  std::size_t first_page = 0;
  {
    hooklog_server s({}, data);
    std::string batch;
    for (int i = 0; i < kSteps; ++i)
      batch += nlohmann::json{{"id", "s" + std::to_string(i)},
                              {"type", "order.status"},
                              {"timestamp", 1700000000 + i},
                              {"tenant", "t1"},
                              {"entity", {{"kind", "order"}, {"id", "O1"}}},
                              {"status", {{"to", "S" + std::to_string(i)}}}}
                   .dump() +
               "\n";
    auto r = s.post_ndjson("/v1/sources/standard/events:batch?deliver=false", batch);
    REQUIRE(r.status == 200);
    REQUIRE(r.json["stored"] == kSteps);
    std::string target = "/v1/entities/order/O1/timeline";
    for (int page = 0; page < 5; ++page) {
      auto t = s.get(target);
      REQUIRE(t.status == 200);
      if (page == 0) first_page = t.json["transitions"].size();
      for (auto& x : t.json["transitions"]) api.push_back(x);
      if (t.json["next"].is_null()) break;
      target = "/v1/entities/order/O1/timeline?cursor=" + t.json["next"].get<std::string>();
    }
  }
  CHECK(first_page == 1000);  // more than one page
  auto r = run_hooklog({"timeline", "order", "O1", "--data", data, "--json"});
  REQUIRE(r.exit_code == 0);
  auto cli = nlohmann::json::parse(r.out);
  CHECK(cli["next"].is_null());  // complete
  CHECK(cli["current_status"] == "S1004");
  REQUIRE(cli["transitions"].size() == kSteps);
  CHECK(cli["transitions"] == api);
  auto text = run_hooklog({"timeline", "order", "O1", "--data", data});
  REQUIRE(text.exit_code == 0);
  CHECK(std::count(text.out.begin(), text.out.end(), '\n') == 1 + kSteps);  // a head line, then one each
  CHECK(text.out.find("S1003 -> S1004  ") != std::string::npos);
}

TEST_CASE("one time format: RFC 3339 with microseconds in exports, API answers and stats",
          "[cli][time]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  {
    hooklog_server s({}, data);
    REQUIRE(s.call("POST", "/v1/sources/jelp/events?type=order_update:status_change",
                   order_event("F1", "TRANSIT", "2024-02-10T00:10:00Z", 1))
                .status == 202);
    auto ev = s.get("/v1/events/evt_0000000000000001");
    REQUIRE(ev.status == 200);
    CHECK(ev.json["occurred_at"] == "2024-02-10T00:10:00.000000Z");
    CHECK(is_time(ev.json["recorded_at"]));
    auto ep = s.post("/v1/endpoints", {{"url", "https://example.com/hook"}, {"tenant", "jelp"}});
    REQUIRE(ep.status == 201);
    CHECK(is_time(ep.json["created_at"]));
    CHECK(is_time(ep.json["updated_at"]));
  }
  const std::string file = (d.path() / "out.ndjson").string();
  auto e = run_hooklog({"export", "--data", data, "--out", file});
  REQUIRE(e.exit_code == 0);
  std::ifstream in(file);
  std::stringstream all;
  all << in.rdbuf();
  auto lines = json_lines(all.str());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["occurred_at"] == "2024-02-10T00:10:00.000000Z");
  CHECK(is_time(lines[0]["recorded_at"]));
  // The export imports into an empty directory with the same hash (times round-trip; flags
  // too with --deliver: without it a restored record gets the no-delivery flag).
  const std::string copy = (d.path() / "copy").string();
  auto imp = run_hooklog({"import", "--data", copy, "--deliver", file});
  CHECK(imp.out.find("imported: 1 stored") != std::string::npos);
  auto e2 = run_hooklog({"export", "--data", copy});
  REQUIRE(e2.exit_code == 0);
  CHECK(json_lines(e2.out)[0]["hash"] == lines[0]["hash"]);
  // An older export with integer microseconds still imports.
  auto old = lines[0];
  old["occurred_at"] = 1707523800000000;
  old["recorded_at"] = nullptr;
  old.erase("recorded_at");
  const std::string old_file = (d.path() / "old.ndjson").string();
  std::ofstream(old_file) << old.dump() << "\n";
  auto imp2 = run_hooklog(
      {"import", "--data", (d.path() / "copy2").string(), old_file});
  CHECK(imp2.out.find("imported: 1 stored") != std::string::npos);
  auto stats = run_hooklog({"stats", "--data", data, "--json"});
  REQUIRE(stats.exit_code == 0);
  const auto st = nlohmann::json::parse(stats.out);
  CHECK(is_time(st["first_recorded_at"]));
  // log/ and log/index/ both hold pages (the import's writer built the index env).
  CHECK(st["used_bytes"].get<std::uint64_t>() >= 4096);
  CHECK(st["index_used_bytes"].get<std::uint64_t>() >= 4096);
}

TEST_CASE("import from stdin shows counts and a rate without a total", "[cli][import]") {
  temp_dir d;
  const std::string file = (d.path() / "in.ndjson").string();
  {
    std::ofstream f(file);
    for (int i = 0; i < 20; ++i)
      f << nlohmann::json{{"id", "e" + std::to_string(i)},
                          {"type", "invoice.paid"},
                          {"tenant", "acme"},
                          {"data", {{"n", i}}}}
               .dump()
        << "\n";
  }
  const std::string data = (d.path() / "data").string();
  child_process p("/bin/sh",
                  {"-c", "exec \"$0\" import --data \"$1\" --source standard - < \"$2\" 2>&1",
                   HOOKLOG_BINARY, data, file});
  auto st = p.wait_exit(std::chrono::seconds(60));
  REQUIRE(st);
  CHECK(WEXITSTATUS(*st) == 0);
  const std::string out = p.stdout_text();
  INFO(out);
  CHECK(out.find("progress: 20 done, 0.0 MB read, ") != std::string::npos);
  CHECK(out.find("left") == std::string::npos);
  CHECK(out.find("imported: 20 stored") != std::string::npos);
}
