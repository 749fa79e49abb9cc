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
