// Reading an endpoint's signing secret back (GET /v1/endpoints/{id}/secret), previous
// secrets told apart once expired, and the "***" mask a GET shows sent back by a PATCH
// (it means "unchanged"), with the real `hooklog serve` and receiver.
#include <catch2/catch.hpp>

#include <thread>

#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSecret2 = "whsec_C2FtZSBzZWNyZXQgZm9yIHJvdGF0aW9uIHRlc3Q=";
constexpr const char* kSecret3 = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
}  // namespace

TEST_CASE("endpoints: the secret can be read back by admin and the endpoint's tenant",
          "[api][secret]") {
  hooklog_server s;
  auto k = s.post("/v1/keys", {{"tenant", "acme"}});
  auto other = s.post("/v1/keys", {{"tenant", "globex"}});
  REQUIRE(k.status == 201);
  auto ep =
      s.post("/v1/endpoints",
             {{"url", "https://hooks.example.com/a"}, {"tenant", "acme"}, {"secret", kSecret}});
  REQUIRE(ep.status == 201);
  const std::string path = "/v1/endpoints/" + ep.json["id"].get<std::string>();
  auto admin = s.get(path + "/secret");
  REQUIRE(admin.status == 200);
  CHECK(admin.json ==
        json{{"id", ep.json["id"]}, {"secret", kSecret}, {"previous_secrets", json::array()}});
  auto tenant = s.get(path + "/secret", k.json["key"]);
  REQUIRE(tenant.status == 200);
  CHECK(tenant.json["secret"] == kSecret);
  auto stranger = s.get(path + "/secret", other.json["key"]);
  CHECK(stranger.status == 404);
  CHECK(stranger.json["error"]["code"] == "not_found");

  // After a rotation with an overlap the old secret is listed with its expiry: it still signs.
  auto rot = s.call("POST", path + "/rotate-secret",
                    json{{"secret", kSecret2}, {"overlap_seconds", 3600}}.dump());
  REQUIRE(rot.status == 200);
  auto after = s.get(path + "/secret");
  REQUIRE(after.status == 200);
  CHECK(after.json["secret"] == kSecret2);
  REQUIRE(after.json["previous_secrets"].size() == 1);
  CHECK(after.json["previous_secrets"][0]["secret"] == kSecret);
  CHECK(after.json["previous_secrets"][0]["expires_at"] == rot.json["previous_valid_until"]);
  auto shown = s.get(path);
  REQUIRE(shown.json["previous_secrets"].size() == 1);
  CHECK(shown.json["previous_secrets"][0]["expired"] == false);
  CHECK_FALSE(shown.json["previous_secrets"][0].contains("secret"));

  // kSecret2 is replaced with a one-second overlap; once that second has passed it no longer
  // signs: left out of /secret, listed as expired by the endpoint (until the next rotation).
  REQUIRE(s.call("POST", path + "/rotate-secret",
                 json{{"secret", kSecret3}, {"overlap_seconds", 1}}.dump())
              .status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto third = s.get(path + "/secret");
  CHECK(third.json["secret"] == kSecret3);
  REQUIRE(third.json["previous_secrets"].size() == 1);
  CHECK(third.json["previous_secrets"][0]["secret"] == kSecret);
  auto listed = s.get(path).json["previous_secrets"];
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["expired"] == false);
  CHECK(listed[1]["expired"] == true);
  s.restart();  // read from the state on disk
  CHECK(s.get(path + "/secret").json == third.json);

  // An overlap past ten years is refused (before, 9223372036854 s overflowed now + overlap into
  // a time in the year -290251 and dropped the old secret at once); nothing is rotated.
  for (const json& bad : {json(9223372036854LL), json(315576001), json(18446744073709551615ULL)}) {
    INFO(bad.dump());
    auto r = s.call("POST", path + "/rotate-secret", json{{"overlap_seconds", bad}}.dump());
    CHECK(r.status == 422);
    CHECK(r.json["error"]["code"] == "invalid_endpoint");
    CHECK(r.json["error"]["details"]["field"] == "/overlap_seconds");
  }
  CHECK(s.get(path + "/secret").json == third.json);
  CHECK(s.call("POST", path + "/rotate-secret", json{{"overlap_seconds", 315576000}}.dump()).status == 200);
}

TEST_CASE("endpoints: a PATCH that sends back the *** mask keeps the stored credential",
          "[api][secret][delivery]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  const std::string token = "tok-KEEP-123";
  auto ep = s.post("/v1/endpoints", {{"url", rx.url("/b")},
                                     {"tenant", "t1"},
                                     {"secret", kSecret},
                                     {"auth", {{"type", "bearer"}, {"token", token}}}});
  REQUIRE(ep.status == 201);
  const std::string path = "/v1/endpoints/" + ep.json["id"].get<std::string>();
  // Read, change the description, send it all back: the mask included.
  json shown = s.get(path).json;
  REQUIRE(shown["auth"]["token"] == "***");
  auto p = s.call("PATCH", path, json{{"description", "edited"}, {"auth", shown["auth"]}}.dump());
  REQUIRE(p.status == 200);
  CHECK(p.json["description"] == "edited");
  CHECK(p.json["auth"]["token"] == "***");
  REQUIRE(
      s.call("POST", "/v1/sources/standard/events",
             json{{"id", "e-1"}, {"type", "order.updated"}, {"tenant", "t1"}, {"data", {{"n", 1}}}}
                 .dump())
          .status == 202);
  REQUIRE(eventually([&] { return rx.lines().size() >= 1; }, std::chrono::seconds(20)));
  auto line = rx.lines().at(0);
  CHECK(line["signature_ok"] == true);
  CHECK(line["headers"]["authorization"] == "Bearer " + token);
}
