// POST /v1/endpoints with "replay_from" writes two records: the endpoint, then the replay. When
// the replay's record is not written (a crash or a failed write between the two, here the test
// hook HOOKLOG_TEST_FAIL_REPLAY_FROM), the retry with the same Idempotency-Key creates it, once.
#include <cstdlib>

#include <catch2/catch.hpp>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

TEST_CASE("replay_from: a retry with the Idempotency-Key creates the replay the first call lost",
          "[api][replay][idempotency]") {
  temp_dir dir;
  ::setenv("HOOKLOG_TEST_FAIL_REPLAY_FROM", "1", 1);
  hooklog_server s({}, dir.path().string() + "/data");
  ::unsetenv("HOOKLOG_TEST_FAIL_REPLAY_FROM");
  const json body = {{"url", "https://hooks.example.com/a"},
                     {"tenant", "acme"},
                     {"replay_from", "2000-01-01T00:00:00Z"}};
  auto post = [&] {
    return s.call("POST", "/v1/endpoints", body.dump(), kAdminKey,
                  {{"Content-Type", "application/json"}, {"Idempotency-Key", "create-ep-1"}});
  };
  auto first = post();
  INFO(first.body);
  REQUIRE(first.status == 201);
  const std::string id = first.json["id"];
  REQUIRE(first.json["replay"].contains("error"));  // the endpoint is stored, its replay is not
  CHECK(s.get("/v1/replays").json["items"].empty());

  auto again = post();
  INFO(again.body);
  REQUIRE(again.status == 201);
  CHECK(again.json["id"] == id);
  REQUIRE(again.json["replay"].contains("id"));
  const std::string replay = again.json["replay"]["id"];
  CHECK(again.json["replay"]["endpoint_id"] == id);
  auto list = s.get("/v1/replays");
  REQUIRE(list.json["items"].size() == 1);
  CHECK(list.json["items"][0]["id"] == replay);

  // Further retries, also after a restart, answer that replay and create no other.
  CHECK(post().json["replay"]["id"] == replay);
  s.restart();
  auto later = post();
  REQUIRE(later.status == 201);
  CHECK(later.json["id"] == id);
  CHECK(later.json["replay"]["id"] == replay);
  CHECK(s.get("/v1/replays").json["items"].size() == 1);
}

TEST_CASE("replay_from: a time outside years 1 to 9999 is refused, as a replay's own times are",
          "[api][replay]") {
  // Read with get<int64_t> and no range: -62135596800000001 started a replay whose stored spec
  // a restart could not read back (dropped without a word); 2^64-1 wrapped to -1, all history.
  hooklog_server s;
  for (const json& bad : {json(-62135596800000001), json(18446744073709551615ull), json("soon")}) {
    auto r = s.post("/v1/endpoints", {{"url", "https://a.example.com/in"}, {"replay_from", bad}});
    INFO(bad.dump() << " -> " << r.body);
    CHECK(r.status == 422);
    CHECK(r.json["error"]["details"]["field"] == "/replay_from");
    CHECK(r.json["error"]["message"].get<std::string>().rfind("replay_from: ", 0) == 0);
  }
  CHECK(s.get("/v1/endpoints").json["items"].empty());
  CHECK(s.get("/v1/replays").json["items"].empty());
  // The first microsecond of year 1 is a time; null is no replay. An admin's "tenant": null
  // is the default tenant, as an absent one is.
  auto ok = s.post("/v1/endpoints", {{"url", "https://a.example.com/in"},
                                     {"replay_from", -62135596800000000},
                                     {"tenant", nullptr}});
  INFO(ok.body);
  CHECK(ok.status == 201);
  CHECK(ok.json["tenant"] == "default");
  auto none =
      s.post("/v1/endpoints", {{"url", "https://b.example.com/in"}, {"replay_from", nullptr}});
  CHECK(none.status == 201);
  CHECK_FALSE(none.json.contains("replay"));
}
