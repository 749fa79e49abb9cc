// Idempotency-Key on every POST that creates something, with the real `hooklog serve`: a
// repeat answers the original result (also after a restart), a reused key with another
// body is refused with 422 idempotency_key_reused, keys are scoped per route and tenant.
#include <catch2/catch.hpp>

#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

api_reply post_key(hooklog_server& s, const std::string& target, const json& body,
                   const std::string& idem, const std::string& key = kAdminKey) {
  return s.call("POST", target, body.dump(), key,
                {{"Content-Type", "application/json"}, {"Idempotency-Key", idem}});
}

void check_reused(const api_reply& r) {
  CHECK(r.status == 422);
  CHECK(r.json["error"]["code"] == "idempotency_key_reused");
  CHECK(r.json["error"]["details"]["header"] == "Idempotency-Key");
  CHECK(r.json["error"]["message"].get<std::string>().find("different") != std::string::npos);
}

}  // namespace

TEST_CASE("idempotency: POST /v1/endpoints twice with one key creates one endpoint",
          "[api][idempotency]") {
  hooklog_server s;
  const json body = {{"url", "https://hooks.example.com/a"}, {"tenant", "acme"}};
  auto first = post_key(s, "/v1/endpoints", body, "create-1");
  REQUIRE(first.status == 201);
  const std::string id = first.json["id"];
  const std::string secret = first.json["secret"];
  auto again = post_key(s, "/v1/endpoints", body, "create-1");
  REQUIRE(again.status == 201);
  CHECK(again.json["id"] == id);
  CHECK(again.json["secret"] == secret);
  CHECK(again.json["url"] == "https://hooks.example.com/a");
  CHECK(s.list_all("/v1/endpoints?tenant=acme").size() == 1);

  // The same key with another body is refused, nothing created.
  json other = body;
  other["url"] = "https://hooks.example.com/b";
  check_reused(post_key(s, "/v1/endpoints", other, "create-1"));
  CHECK(s.list_all("/v1/endpoints?tenant=acme").size() == 1);

  // The key is in the log: after a restart the repeat still answers the original.
  s.restart();
  auto after = post_key(s, "/v1/endpoints", body, "create-1");
  REQUIRE(after.status == 201);
  CHECK(after.json["id"] == id);
  CHECK(after.json["secret"] == secret);
  check_reused(post_key(s, "/v1/endpoints", other, "create-1"));
  CHECK(s.list_all("/v1/endpoints?tenant=acme").size() == 1);

  // Another key creates another endpoint; keys are per tenant: a tenant key's "create-1" is
  // its own.
  auto second = post_key(s, "/v1/endpoints", body, "create-2");
  REQUIRE(second.status == 201);
  CHECK(second.json["id"] != id);
  auto k = s.post("/v1/keys", {{"tenant", "globex"}});
  REQUIRE(k.status == 201);
  auto theirs = post_key(s, "/v1/endpoints", {{"url", "https://hooks.example.com/a"}}, "create-1",
                         k.json["key"]);
  REQUIRE(theirs.status == 201);
  CHECK(theirs.json["tenant"] == "globex");
  CHECK(theirs.json["id"] != id);
}

TEST_CASE("idempotency: keys and replays answer the original, per route", "[api][idempotency]") {
  hooklog_server s;
  // POST /v1/keys: the repeat names the same key id, without the key (the log keeps its hash).
  auto k1 = post_key(s, "/v1/keys", {{"tenant", "acme"}}, "same-key");
  REQUIRE(k1.status == 201);
  REQUIRE(k1.json["key"].is_string());
  auto k2 = post_key(s, "/v1/keys", {{"tenant", "acme"}}, "same-key");
  REQUIRE(k2.status == 201);
  CHECK(k2.json["id"] == k1.json["id"]);
  CHECK_FALSE(k2.json.contains("key"));
  CHECK(s.get("/v1/keys").json["items"].size() == 1);
  check_reused(
      post_key(s, "/v1/keys", {{"tenant", "acme"}, {"ingest_source", "standard"}}, "same-key"));

  // POST /v1/replays with the same key string: another route, so no collision with the key's.
  auto ep = s.post("/v1/endpoints", {{"url", "https://hooks.example.com/a"}, {"tenant", "acme"}});
  REQUIRE(ep.status == 201);
  const json spec = {{"endpoint_id", ep.json["id"]}, {"mode", "all"}};
  auto r1 = post_key(s, "/v1/replays", spec, "same-key");
  REQUIRE(r1.status == 202);
  auto r2 = post_key(s, "/v1/replays", spec, "same-key");
  REQUIRE(r2.status == 202);
  CHECK(r2.json["id"] == r1.json["id"]);
  CHECK(s.get("/v1/replays").json["items"].size() == 1);
  check_reused(
      post_key(s, "/v1/replays", {{"endpoint_id", ep.json["id"]}, {"mode", "failed"}}, "same-key"));
  s.restart();
  auto r3 = post_key(s, "/v1/replays", spec, "same-key");
  REQUIRE(r3.status == 202);
  CHECK(r3.json["id"] == r1.json["id"]);
  CHECK(s.get("/v1/replays").json["items"].size() == 1);

  // A key that is too long is refused naming the header.
  auto longer = post_key(s, "/v1/replays", spec, std::string(300, 'k'));
  CHECK(longer.status == 422);
  CHECK(longer.json["error"]["code"] == "invalid_value");
  CHECK(longer.json["error"]["details"]["header"] == "Idempotency-Key");
}

TEST_CASE("idempotency: ingest refuses a reused key with another body and answers the original",
          "[api][idempotency]") {
  hooklog_server s;
  const json a = {{"type", "invoice.paid"}, {"tenant", "acme"}, {"data", {{"n", 1}}}};
  const json b = {{"type", "invoice.voided"}, {"tenant", "acme"}, {"data", {{"n", 2}}}};
  auto first = post_key(s, "/v1/sources/standard/events", a, "ing-1");
  REQUIRE(first.status == 202);
  CHECK(first.json["duplicate"] == false);
  // The same body, spaced differently: a duplicate answering the original.
  auto again =
      s.call("POST", "/v1/sources/standard/events",
             "{ \"data\": {\"n\": 1}, \"tenant\": \"acme\", \"type\": \"invoice.paid\" }",
             kAdminKey, {{"Content-Type", "application/json"}, {"Idempotency-Key", "ing-1"}});
  REQUIRE(again.status == 202);
  CHECK(again.json["duplicate"] == true);
  CHECK(again.json["id"] == first.json["id"]);
  CHECK(again.json["type"] == "invoice.paid");
  // Another body under the same key: refused, nothing stored.
  auto reused = post_key(s, "/v1/sources/standard/events", b, "ing-1");
  check_reused(reused);
  CHECK(reused.json["error"]["message"].get<std::string>().find(
            first.json["id"].get<std::string>()) != std::string::npos);
  CHECK(s.list_all("/v1/events?tenant=acme").size() == 1);
  // Keys derived from the payload's id (batch lines have no header): a repeat answers the
  // original's type, not the repeat's.
  const std::string lines =
      json{{"id", "n-1"}, {"type", "order.created"}, {"tenant", "acme"}}.dump() + "\n" +
      json{{"id", "n-1"}, {"type", "order.cancelled"}, {"tenant", "acme"}}.dump() + "\n";
  auto batch = s.call("POST", "/v1/sources/standard/events:batch", lines, kAdminKey,
                      {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(batch.status == 200);
  REQUIRE(batch.json["items"].size() == 2);
  CHECK(batch.json["items"][1]["duplicate"] == true);
  CHECK(batch.json["items"][1]["type"] == "order.created");
  auto single = s.call("POST", "/v1/sources/standard/events",
                       json{{"id", "n-1"}, {"type", "order.shipped"}, {"tenant", "acme"}}.dump());
  REQUIRE(single.status == 202);
  CHECK(single.json["duplicate"] == true);
  CHECK(single.json["type"] == "order.created");
  CHECK(s.list_all("/v1/events?tenant=acme").size() == 2);
  s.restart();
  check_reused(post_key(s, "/v1/sources/standard/events", b, "ing-1"));
  CHECK(s.list_all("/v1/events?tenant=acme").size() == 2);
}

TEST_CASE("idempotency: a repeat is the same request only when its JSON is written the same",
          "[api][idempotency]") {
  // Whitespace, member order and string escapes aside. nlohmann's == took two integers past
  // 2^64 (both parse to one double), 0.1 and 0.10000000000000001, or a repeated key and its
  // last copy for the same body: the repeat was answered as a duplicate and its body dropped.
  hooklog_server s;
  auto post = [&](const std::string& body, const std::string& key) {
    return s.call("POST", "/v1/sources/standard/events", body, kAdminKey,
                  {{"Content-Type", "Application/JSON"}, {"Idempotency-Key", key}});
  };
  const std::vector<std::pair<std::string, std::string>> differ = {
      {R"({"type":"pay","amount":18446744073709551617})",
       R"({"type":"pay","amount":18446744073709551616})"},
      {R"({"type":"pay","amount":0.1})", R"({"type":"pay","amount":0.10000000000000001})"},
      {R"({"type":"pay","amount":1.0})", R"({"type":"pay","amount":1})"},
      {R"({"type":"pay","note":"1.5"})", R"({"type":"pay","note":1.5})"},
      {R"({"type":"pay","amount":5,"amount":7})", R"({"type":"pay","amount":7})"},
  };
  int n = 0;
  for (const auto& [first, second] : differ) {
    const std::string key = "k-" + std::to_string(n++);
    auto a = post(first, key);
    INFO(first << " then " << second << ": " << a.body);
    REQUIRE(a.status == 202);  // Content-Type in any case is JSON
    auto b = post(second, key);
    INFO(b.body);
    CHECK(b.status == 422);
    CHECK(b.json["error"]["code"] == "idempotency_key_reused");
  }
  // The same text, spaced, reordered or escaped otherwise, is the same request.
  auto a = post(R"({"type":"pay","amount":18446744073709551617,"who":"A"})", "same");
  REQUIRE(a.status == 202);
  auto b = post("{ \"who\" : \"\\u0041\",\n \"amount\": 18446744073709551617, \"type\":\"pay\"}",
                "same");
  INFO(b.body);
  CHECK(b.status == 202);
  CHECK(b.json["duplicate"] == true);
  CHECK(b.json["id"] == a.json["id"]);
  CHECK(s.list_all("/v1/events").size() == differ.size() + 1);
}
