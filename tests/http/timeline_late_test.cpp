// A late event through the real server (issue 12, item 2): the timeline route presents the
// derived `from` of each step from the ordered timeline, before and after a restart and a
// `hooklog rebuild`.
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
