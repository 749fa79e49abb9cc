// Management bodies over the real `hooklog serve`: what they may not hold (repeated keys,
// members a request does not take, headers that clash with hooklog's own, an empty tenant),
// where a refusal points (details.field as a JSON pointer), and the times an answer shows (the
// stored record's, as a read and a restart show them).
#include <catch2/catch.hpp>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

void check_refusal(const api_reply& r, const std::string& code, const std::string& field,
                   const std::string& message) {
  INFO(r.body);
  CHECK(r.status == 422);
  json j = r.json;  // non-const: a missing member reads as null
  CHECK(j["error"]["code"] == code);
  CHECK(j["error"]["details"]["field"] == field);
  CHECK(j["error"]["message"] == message);
}

json endpoint(json headers, json auth = nullptr) {
  json e{{"url", "https://hooks.example.com/in"}, {"tenant", "t1"}, {"headers", std::move(headers)}};
  if (!auth.is_null()) e["auth"] = std::move(auth);
  return e;
}

std::string created_id(const api_reply& r) {
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json["id"].get<std::string>();
}

}  // namespace

TEST_CASE("management: a key repeated in an object is refused, wherever it is",
          "[api][security]") {
  hooklog_server s;
  // Read last-wins this was an admin key; a first-wins reader saw tenant x.
  check_refusal(s.call("POST", "/v1/keys", R"({"tenant":"x","tenant":null})"), "duplicate_key",
                "/tenant", "duplicate key at /tenant: a key may appear once in an object");
  check_refusal(
      s.call("POST", "/v1/endpoints",
             R"({"url":"https://h.example.com/a","auth":{"type":"bearer","token":"a","token":"b"}})"),
      "duplicate_key", "/auth/token", "duplicate key at /auth/token: a key may appear once in an object");
  check_refusal(s.call("POST", "/v1/endpoints",
                       R"({"url":"https://h.example.com/a","filter":{"all":[{"path":"/a","op":"eq",)"
                       R"("value":1},{"path":"/b","path":"/c","op":"eq","value":2}]}})"),
                "duplicate_key", "/filter/all/1/path",
                "duplicate key at /filter/all/1/path: a key may appear once in an object");
  // The same keys in different objects are no repeat.
  created_id(s.call("POST", "/v1/endpoints",
                    R"({"url":"https://h.example.com/a","tenant":"t1","headers":{"url":"x"}})"));
  auto keys = s.get("/v1/keys");
  REQUIRE(keys.status == 200);
  CHECK(keys.json["items"].empty());  // nothing was issued
}

TEST_CASE("management: unknown members and ill-typed reasons are refused, not ignored",
          "[api]") {
  hooklog_server s;
  const std::string id = created_id(s.post("/v1/endpoints", endpoint(json::object())));
  // A misspelled overlap kept the old (leaked) secret signing for a day.
  check_refusal(s.post("/v1/endpoints/" + id + "/rotate-secret", {{"overlap_secs", 0}}),
                "invalid_endpoint", "/overlap_secs",
                "overlap_secs: unknown field (this request takes secret, overlap_seconds)");
  auto secret = s.get("/v1/endpoints/" + id + "/secret");
  REQUIRE(secret.status == 200);
  CHECK(secret.json["previous_secrets"].empty());  // not rotated
  check_refusal(s.post("/v1/endpoints/" + id + "/disable", {{"reason", 5}}), "invalid_endpoint",
                "/reason", "reason: must be a string of at most 1024 bytes");
  check_refusal(s.post("/v1/endpoints/" + id + "/disable", {{"why", "x"}}), "invalid_endpoint",
                "/why", "why: unknown field (this request takes reason)");
  check_refusal(s.call("DELETE", "/v1/endpoints/" + id, R"({"reason":"x","force":true})"),
                "invalid_endpoint", "/force", "force: unknown field (this request takes reason)");
  auto got = s.get("/v1/endpoints/" + id);
  REQUIRE(got.status == 200);
  CHECK(got.json["disabled"] == false);
  auto ok = s.post("/v1/endpoints/" + id + "/disable", {{"reason", nullptr}});
  INFO(ok.body);
  CHECK(ok.status == 200);
  CHECK(ok.json["disabled_reason"] == "disabled by API");
}

TEST_CASE("management: endpoint headers that clash with hooklog's or repeat are refused",
          "[api]") {
  hooklog_server s;
  check_refusal(s.post("/v1/endpoints", endpoint({{"X-Team", "a"}, {"x-team", "b"}})),
                "invalid_endpoint", "/headers/x-team",
                "/headers/x-team: repeats the header X-Team (header names are compared without "
                "regard to case)");
  check_refusal(s.post("/v1/endpoints", endpoint({{"Content-Type", "text/plain"}})),
                "invalid_endpoint", "/headers/Content-Type",
                "/headers/Content-Type: is set by hooklog on every delivery (content-type); an "
                "endpoint cannot set it");
  check_refusal(s.post("/v1/endpoints", endpoint({{"Host", "evil.example"}})), "invalid_endpoint",
                "/headers/Host",
                "/headers/Host: is set by the HTTP client (host); an endpoint cannot set it");
  check_refusal(s.post("/v1/endpoints", endpoint({{"Authorization", "Bearer custom"}},
                                                 {{"type", "bearer"}, {"token", "real"}})),
                "invalid_endpoint", "/headers/Authorization",
                "/headers/Authorization: is the header auth sets (auth.type bearer); set it there");
  check_refusal(
      s.post("/v1/endpoints", endpoint({{"x-api-key", "1"}},
                                       {{"type", "header"}, {"name", "X-Api-Key"}, {"value", "2"}})),
      "invalid_endpoint", "/headers/x-api-key",
      "/headers/x-api-key: is the header auth sets (auth.type header); set it there");
  // Without auth, Authorization is the endpoint's own header.
  created_id(s.post("/v1/endpoints", endpoint({{"Authorization", "Bearer mine"}})));
}

TEST_CASE("management: details.field points at a member whose name has a dot or a colon",
          "[api]") {
  hooklog_server s;
  check_refusal(s.post("/v1/endpoints", endpoint({{"X.a", std::string(9000, 'v')}})),
                "invalid_endpoint", "/headers/X.a",
                "headers.X.a: must be a string of at most 8192 bytes");
  const std::string id = created_id(s.post("/v1/endpoints", endpoint(json::object())));
  auto r = s.call("PATCH", "/v1/endpoints/" + id, R"({"col.our: x":1})");
  check_refusal(r, "invalid_endpoint", "/col.our: x", "col.our: x: unknown field");
}

TEST_CASE("management: an endpoint's tenant is 1-256 bytes without control characters",
          "[api]") {
  hooklog_server s;
  for (const std::string& t : {std::string(), std::string("a\nb"), std::string(257, 't')}) {
    json e = endpoint(json::object());
    e["tenant"] = t;
    auto r = s.post("/v1/endpoints", e);
    INFO(r.body);
    CHECK(r.status == 422);
    CHECK(r.json["error"]["details"]["field"] == "/tenant");
  }
  CHECK(s.get("/v1/endpoints").json["items"].empty());
}

TEST_CASE("management: a retry member set to null takes its default", "[api]") {
  hooklog_server s;
  json e = endpoint(json::object());
  e["retry"] = {{"max_attempts", nullptr}, {"strategy", nullptr}, {"base_ms", 250}};
  auto r = s.post("/v1/endpoints", e);
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(r.json["retry"]["base_ms"] == 250);
  CHECK(r.json["retry"]["strategy"] == "default");
}

TEST_CASE("management: a filter over the conditions quota is quota_exceeded with its limit",
          "[api]") {
  hooklog_server s;
  json all = json::array();
  for (int i = 0; i < 33; ++i)
    all.push_back({{"path", "/n" + std::to_string(i)}, {"op", "eq"}, {"value", i}});
  json e = endpoint(json::object());
  e["filter"] = {{"all", all}};
  auto r = s.post("/v1/endpoints", e);
  INFO(r.body);
  CHECK(r.status == 422);
  CHECK(r.json["error"]["code"] == "quota_exceeded");
  CHECK(r.json["error"]["details"]["limit"] == 32);
}

TEST_CASE("management: answers show the stored time, the same after a restart", "[api]") {
  // The answers took the clock after the write; the record holds the writer's time.
  hooklog_server s;
  auto key = s.post("/v1/keys", {{"tenant", "z"}});
  INFO(key.body);
  REQUIRE(key.status == 201);
  auto made = s.post("/v1/endpoints", endpoint(json::object()));
  const std::string id = created_id(made);
  auto patched = s.call("PATCH", "/v1/endpoints/" + id, R"({"description":"d"})");
  REQUIRE(patched.status == 200);
  CHECK(s.get("/v1/endpoints/" + id).json["updated_at"] == patched.json["updated_at"]);
  auto disabled = s.post("/v1/endpoints/" + id + "/disable", json::object());
  REQUIRE(disabled.status == 200);
  CHECK(disabled.json["updated_at"] != patched.json["updated_at"]);
  s.restart();
  auto keys = s.get("/v1/keys");
  REQUIRE(keys.json["items"].size() == 1);
  CHECK(keys.json["items"][0]["issued_at"] == key.json["issued_at"]);
  auto now = s.get("/v1/endpoints/" + id);
  REQUIRE(now.status == 200);
  CHECK(now.json["created_at"] == made.json["created_at"]);
  CHECK(now.json["updated_at"] == disabled.json["updated_at"]);
}
