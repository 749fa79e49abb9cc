// Bounds on what one tenant can send or keep, against the real `hooklog serve`: the nesting and
// size bound of every JSON request body (one parse for all routes), the nesting bound of filter
// values, the endpoint quotas and their flags, and a verify range that checks nothing.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

TEST_CASE("limits: verify refuses a range whose from is after its to (API 400 and CLI exit 2)",
          "[limits]") {
  hooklog_server s({"--no-deliver"});
  REQUIRE(s.call("POST", "/v1/sources/eudr/events", data_file("samples/eudr/dds.approved.json"))
              .status == 202);
  auto r = s.get("/v1/audit/verify?from=5&to=1");
  CHECK(r.status == 400);
  CHECK(r.json["error"]["code"] == "bad_parameter");
  CHECK(r.json["error"]["details"]["parameter"] == "from");
  CHECK(r.json["error"]["message"] ==
        "from (5) is greater than to (1): the range would check nothing");
  auto one = s.get("/v1/audit/verify?from=1&to=1");
  CHECK(one.status == 200);
  CHECK(one.json["checked"] == 1);
  CHECK(one.json["ok"] == true);

  s.kill_hard();
  auto bad = run_hooklog({"verify", "--data", s.data_dir(), "--from", "5", "--to", "1"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());  // nothing reported as OK
  auto good = run_hooklog({"verify", "--data", s.data_dir(), "--from", "1", "--to", "1"});
  CHECK(good.exit_code == 0);
  CHECK(good.out.starts_with("OK: 1 records verified (1..1)"));
}
