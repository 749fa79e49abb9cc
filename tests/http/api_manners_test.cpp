// HTTP manners of the /v1 API through the real `hooklog serve`: 405 with Allow, 401 with a
// Bearer challenge, HEAD wherever GET is, the Bearer scheme case-insensitive, unknown query
// parameters and values outside an enumeration refused naming the parameter (issue 13).
#include <catch2/catch.hpp>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using hooklog::http::find_header;
using nlohmann::json;

namespace {

std::string header_of(const api_reply& r, const char* name) {
  return std::string(find_header(r.headers, name).value_or("<absent>"));
}

std::string tenant_key(hooklog_server& s, const std::string& tenant) {
  auto r = s.post("/v1/keys", {{"tenant", tenant}});
  REQUIRE(r.status == 201);
  return r.json["key"];
}

// A 400 bad_parameter naming `parameter`, with `allowed` listing what is accepted.
void check_bad_parameter(const api_reply& r, const std::string& parameter, const json& allowed,
                         const std::string& message) {
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.json["error"]["code"] == "bad_parameter");
  CHECK(r.json["error"]["details"]["parameter"] == parameter);
  CHECK(r.json["error"]["details"]["allowed"] == allowed);
  CHECK(r.json["error"]["message"] == message);
}

}  // namespace

TEST_CASE("405 answers name the methods of the path in Allow, before the key is checked",
          "[api][manners]") {
  hooklog_server s;
  auto r = s.call("PUT", "/v1/events", "", "");
  CHECK(r.status == 405);
  CHECK(r.json["error"]["code"] == "method_not_allowed");
  CHECK(r.json["error"]["message"] == "method PUT is not allowed on /v1/events");
  CHECK(header_of(r, "Allow") == "GET, HEAD");
  CHECK(header_of(s.call("DELETE", "/v1/endpoints"), "Allow") == "POST, GET, HEAD");
  CHECK(header_of(s.call("PUT", "/v1/endpoints/ep_0000000000000001"), "Allow") ==
        "GET, HEAD, PATCH, DELETE");
  CHECK(header_of(s.call("GET", "/v1/sources/standard/events"), "Allow") == "POST");
  CHECK(header_of(s.call("POST", "/healthz"), "Allow") == "GET, HEAD");
  // HEAD is not offered where there is no GET.
  auto head = s.call("HEAD", "/v1/keys/key_0000000000000001");
  CHECK(head.status == 405);
  CHECK(header_of(head, "Allow") == "DELETE");
}

TEST_CASE("401 answers carry a Bearer challenge, invalid_token for a wrong key", "[api][manners]") {
  hooklog_server s;
  auto none = s.get("/v1/events", "");
  CHECK(none.status == 401);
  CHECK(none.json["error"]["message"] == "an API key is required: Authorization: Bearer <key>");
  CHECK(header_of(none, "WWW-Authenticate") == "Bearer realm=\"hooklog\"");
  auto wrong = s.get("/v1/events", "not-a-key");
  CHECK(wrong.status == 401);
  CHECK(wrong.json["error"]["message"] == "the API key is not valid");
  CHECK(header_of(wrong, "WWW-Authenticate") ==
        "Bearer realm=\"hooklog\", error=\"invalid_token\"");
  auto basic = s.call("GET", "/v1/events", "", "", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  CHECK(basic.status == 401);
  CHECK(basic.json["error"]["message"] == "the Authorization header must be Bearer <key>");
  CHECK(header_of(basic, "WWW-Authenticate") == "Bearer realm=\"hooklog\"");
  // The admin-only /metrics too.
  CHECK(header_of(s.get("/metrics", ""), "WWW-Authenticate") == "Bearer realm=\"hooklog\"");
}

TEST_CASE("the Bearer scheme is compared case-insensitively", "[api][manners]") {
  hooklog_server s;
  for (const std::string scheme : {"BEARER ", "bearer ", "bEaReR ", "Bearer   "}) {
    auto r = s.call("GET", "/v1/keys", "", "", {{"Authorization", scheme + kAdminKey}});
    INFO(scheme << ": " << r.body);
    CHECK(r.status == 200);
  }
  // The key itself stays case-sensitive.
  std::string upper = kAdminKey;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(s.call("GET", "/v1/keys", "", "", {{"Authorization", "Bearer " + upper}}).status == 401);
}

TEST_CASE("HEAD is answered wherever GET is, with the GET status and no body", "[api][manners]") {
  hooklog_server s;
  auto get = s.get("/healthz", "");
  auto head = s.call("HEAD", "/healthz", "", "");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(header_of(head, "Content-Type") == "application/json");
  CHECK(header_of(head, "Content-Length") == std::to_string(get.body.size()));
  auto ready = s.call("HEAD", "/readyz", "", "");
  CHECK(ready.status == 200);
  CHECK(ready.body.empty());
  CHECK(s.call("HEAD", "/v1/events").status == 200);
  CHECK(s.call("HEAD", "/v1/events", "", kAdminKey, {{"Accept", "application/x-ndjson"}}).status ==
        200);
  CHECK(s.call("HEAD", "/v1/events/evt_0000000000000009").status == 404);
  auto anonymous = s.call("HEAD", "/v1/keys", "", "");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.body.empty());
  // The connection stays usable after bodiless answers.
  CHECK(s.get("/healthz", "").json["status"] == "ok");
}

TEST_CASE("unknown query parameters are refused naming the parameter, nothing is done",
          "[api][manners]") {
  hooklog_server s;
  check_bad_parameter(
      s.get("/v1/events?limt=5"), "limt",
      {"from", "to", "time", "type", "source", "tenant", "entity_kind", "entity_id", "limit",
       "cursor", "order", "min_seq"},
      "unknown query parameter limt: this route takes from, to, time, type, source, "
      "tenant, entity_kind, entity_id, limit, cursor, order, min_seq");
  check_bad_parameter(s.get("/healthz?verbose=1", ""), "verbose", json::array(),
                      "unknown query parameter verbose: this route takes none");
  check_bad_parameter(s.get("/v1/endpoints?limit=1&limit=2"), "limit",
                      {"tenant", "limit", "cursor", "order"},
                      "query parameter limit is given more than once");
  // Refused before the handler runs: no endpoint is created, no event stored.
  check_bad_parameter(s.post("/v1/endpoints?dry_run=true", {{"url", "http://127.0.0.1:9/x"}}),
                      "dry_run", json::array(),
                      "unknown query parameter dry_run: this route takes none");
  check_bad_parameter(
      s.call("POST", "/v1/sources/standard/events?tenant=acme",
             R"({"id":"e1","type":"invoice.paid","timestamp":"2024-05-01T12:00:00Z"})"),
      "tenant", {"type"}, "unknown query parameter tenant: this route takes type");
  CHECK(s.get("/v1/endpoints").json["items"].empty());
  CHECK(s.get("/v1/events").json["items"].empty());
  CHECK(s.get("/healthz", "").json["seq"] == 0);
  // A tenant key is refused the same way (after its key is checked).
  const std::string key = tenant_key(s, "t1");
  check_bad_parameter(
      s.get("/v1/replays?status=running", key), "status",
      {"limit", "cursor", "endpoint_id", "state", "tenant", "order"},
      "unknown query parameter status: this route takes limit, cursor, endpoint_id, "
      "state, tenant, order");
  CHECK(s.get("/v1/replays?zz=1", "").status == 401);
}

TEST_CASE("values outside an enumeration are refused naming the parameter and its values",
          "[api][manners]") {
  hooklog_server s;
  check_bad_parameter(s.get("/v1/replays?state=zzz"), "state",
                      {"running", "finished", "cancelled", "failed"},
                      "state must be one of running, finished, cancelled, failed, not 'zzz'");
  check_bad_parameter(s.get("/v1/events?time=zzz"), "time", {"recorded", "occurred"},
                      "time must be one of recorded, occurred, not 'zzz'");
  check_bad_parameter(s.get("/v1/attempts?outcome="), "outcome",
                      {"success", "failure", "dead_letter"},
                      "outcome must be one of success, failure, dead_letter, not ''");
  check_bad_parameter(s.call("POST", "/v1/sources/standard/events:batch?deliver=maybe", "{}\n"),
                      "deliver", {"true", "false"},
                      "deliver must be one of true, false, not 'maybe'");
  // Good values pass.
  CHECK(s.get("/v1/replays?state=running").status == 200);
  CHECK(s.get("/v1/events?time=occurred").status == 200);
  CHECK(s.get("/v1/attempts?outcome=dead_letter").status == 200);
}

TEST_CASE("the log head is for admin keys: a tenant key gets 403", "[api][manners]") {
  hooklog_server s;
  auto t = s.get("/v1/audit/head", tenant_key(s, "t1"));
  CHECK(t.status == 403);
  CHECK(t.json["error"]["message"] == "this route needs an admin key");
  auto a = s.get("/v1/audit/head");
  CHECK(a.status == 200);
  CHECK(a.json["seq"] == 1);  // the key_issued record
}
