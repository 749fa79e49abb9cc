// A late event through the real server (issue 12, item 2): the timeline route presents the
// derived `from` of each step from the ordered timeline, before and after a restart and a
// `hooklog rebuild`.
#include <algorithm>
#include <cstdio>
#include <set>

#include <catch2/catch.hpp>

#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;

TEST_CASE("timeline over HTTP: a late jelp TRANSIT becomes the from of the COMPLETED after it",
          "[api][timeline]") {
  temp_dir dir;
  const std::string data = dir.path().string() + "/data";
  auto froms = [](hooklog_server& s) {
    auto t = s.get("/v1/entities/order/L1/timeline");
    INFO(t.body);
    REQUIRE(t.status == 200);
    json f = json::array(), to = json::array();
    for (const auto& x : t.json["transitions"]) {
      f.push_back(x["from"]);
      to.push_back(x["to"]);
    }
    CHECK(to == json({"PENDING", "TRANSIT", "COMPLETED"}));
    CHECK(t.json["current_status"] == "COMPLETED");
    return f;
  };
  const json want = {nullptr, "PENDING", "TRANSIT"};
  {
    hooklog_server s({"--no-deliver"}, data);
    REQUIRE(
        s.call(
             "POST", "/v1/sources/jelp/events?type=order_new",
             R"({"folio":"L1","orderStep":"PENDING","createdAt":"2024-02-10T00:00:00Z","workspaceData":{"slug":"jelp"}})")
            .status == 202);
    REQUIRE(
        s.call(
             "POST", "/v1/sources/jelp/events",
             R"({"folio":"L1","status":"COMPLETED","queueName":"complete_order","timestamp":"2024-02-10T00:30:00Z","workspace":"jelp"})")
            .status == 202);
    REQUIRE(s.get("/v1/entities/order/L1/timeline").status == 200);  // COMPLETED applied first
    REQUIRE(
        s.call(
             "POST", "/v1/sources/jelp/events?type=order_update:status_change",
             R"({"folio":"L1","status":"TRANSIT","timestamp":"2024-02-10T00:10:00Z","workspace":"jelp"})")
            .status == 202);
    CHECK(froms(s) == want);
    auto t = s.get("/v1/entities/order/L1/timeline");
    CHECK(t.json["transitions"][1]["out_of_order"] == true);
  }
  REQUIRE(run_hooklog({"rebuild", "--check", "--data", data}).exit_code == 0);
  REQUIRE(run_hooklog({"rebuild", "--data", data, "timelines"}).exit_code == 0);
  hooklog_server s({"--no-deliver"}, data);
  CHECK(froms(s) == want);
}

TEST_CASE("timeline over HTTP: 2,500 steps come in pages of 1,000 that join to the whole list",
          "[api][timeline]") {
  temp_dir dir;
  hooklog_server s({"--no-deliver"}, dir.path().string() + "/data");
  // Every third step occurred before the one recorded before it (late), so derived `from`s cross
  // the page boundaries.
  std::vector<std::pair<int, std::string>> steps;  // occurred minute, status
  for (int b = 0; b < 5; ++b) {
    std::string batch;
    for (int i = b * 500; i < (b + 1) * 500; ++i) {
      const int at = (i % 3 == 2) ? i - 2 : i;
      char ts[32];
      std::snprintf(ts, sizeof ts, "2024-02-1%dT%02d:%02d:00Z", at / 1440, at / 60 % 24, at % 60);
      steps.emplace_back(at, "S" + std::to_string(i));
      batch += json{{"folio", "BIG"}, {"status", steps.back().second}, {"timestamp", ts},
                    {"workspace", "jelp"}}
                   .dump() +
               "\n";
    }
    auto r = s.call("POST", "/v1/sources/jelp/events:batch?type=order_update:status_change", batch);
    INFO(r.body);
    REQUIRE(r.status == 200);
    REQUIRE(r.json["stored"] == 500);
  }
  // The whole list in occurred order (seq, i.e. arrival, breaks ties), each from the one before.
  std::stable_sort(steps.begin(), steps.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  json want_to = json::array(), want_from = json::array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    want_to.push_back(steps[i].second);
    want_from.push_back(i == 0 ? json() : json(steps[i - 1].second));
  }
  json to = json::array(), from = json::array();
  std::set<std::uint64_t> seqs;
  std::string cursor;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto p = s.get("/v1/entities/order/BIG/timeline" + (cursor.empty() ? "" : "?cursor=" + cursor));
    INFO(p.body.substr(0, 300));
    REQUIRE(p.status == 200);
    CHECK(p.json["current_status"] == "S2499");
    CHECK(p.json["transitions"].size() == (pages < 2 ? 1000u : 500u));  // the default limit
    for (const auto& x : p.json["transitions"]) {
      to.push_back(x["to"]);
      from.push_back(x["from"]);
      seqs.insert(x["seq"].get<std::uint64_t>());
    }
    if (p.json["next"].is_null()) break;
    cursor = p.json["next"].get<std::string>();
  }
  CHECK(pages == 2);
  CHECK(seqs.size() == 2500);
  CHECK(to == want_to);
  CHECK(from == want_from);
  // ?limit= within [1, 1000]; a cursor not given by the server is refused.
  auto small = s.get("/v1/entities/order/BIG/timeline?limit=7");
  REQUIRE(small.status == 200);
  CHECK(small.json["transitions"].size() == 7);
  auto rest = s.get("/v1/entities/order/BIG/timeline?limit=1&cursor=" +
                    small.json["next"].get<std::string>());
  REQUIRE(rest.status == 200);
  CHECK(rest.json["transitions"][0]["to"] == want_to[7]);
  CHECK(rest.json["transitions"][0]["from"] == want_from[7]);
  CHECK(s.get("/v1/entities/order/BIG/timeline?limit=1001").status == 400);
  CHECK(s.get("/v1/entities/order/BIG/timeline?cursor=zz").status == 400);
}
