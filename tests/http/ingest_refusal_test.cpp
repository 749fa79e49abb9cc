// Ingest refusals over HTTP with the real `hooklog serve`: details name the field at fault;
// duplicate keys on read paths and control characters in types, tenants, event ids, entity
// kinds and ids and statuses are refused.
#include <catch2/catch.hpp>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

const std::string kStatusChange = "/v1/sources/jelp/events?type=order_update:status_change";

}  // namespace

TEST_CASE("ingest refusals name the field at fault in details", "[api][fields]") {
  hooklog_server s;
  auto details_of = [&](const std::string& target, const std::string& body,
                        hooklog::http::header_list headers = {}) {
    auto r = s.call("POST", target, body, kAdminKey, std::move(headers));
    INFO(body << " -> " << r.body);
    CHECK(r.status == 422);
    return std::make_pair(r.json["error"]["code"], r.json["error"]["details"]);
  };
  using P = std::pair<json, json>;
  // A required field absent, a nested one, the event type (its first pointer).
  CHECK(details_of("/v1/sources/jelp/events?type=order_new", R"({"orderStep":"PENDING"})") ==
        P{"missing_field", {{"field", "/folio"}}});
  CHECK(details_of("/v1/sources/eudr/events",
                   R"({"event":"dds.submitted","integrationId":"int_abc","data":{}})") ==
        P{"missing_field", {{"field", "/data/ddsNumber"}}});
  CHECK(details_of("/v1/sources/jelp/events", R"({"folio":"F1"})") ==
        P{"missing_field", {{"field", "/queueName"}}});
  // Wrong types, a bad time, too long.
  CHECK(details_of(kStatusChange, R"({"folio":"F1","status":7})") ==
        P{"wrong_type", {{"field", "/status"}}});
  CHECK(details_of("/v1/sources/crowdsender/events",
                   R"({"type":"statusUpdated","data":{"orderId":"o1","newValue":{}}})") ==
        P{"wrong_type", {{"field", "/data/newValue"}}});
  CHECK(details_of("/v1/sources/eudr/events", R"({"event":"sync.completed","timestamp":"soon"})") ==
        P{"wrong_type", {{"field", "/timestamp"}}});
  CHECK(details_of(kStatusChange, R"({"folio":")" + std::string(300, 'x') + R"("})") ==
        P{"wrong_type", {{"field", "/folio"}}});
  // Not a payload field: the URL's type and the Idempotency-Key header.
  CHECK(details_of("/v1/sources/jelp/events?type=" + std::string(300, 't'), R"({"folio":"F1"})") ==
        P{"wrong_type", {{"parameter", "type"}}});
  CHECK(details_of(kStatusChange, jelp_status("F1", "A"),
                   {{"Idempotency-Key", std::string(300, 'k')}}) ==
        P{"wrong_type", {{"header", "Idempotency-Key"}}});

  // Batch items carry the same details.
  auto r = s.post_ndjson("/v1/sources/jelp/events:batch?type=order_update:status_change",
                         jelp_status("F1", "A") + "\n" + R"({"folio":"F1","status":["A"]})" + "\n" +
                             R"({"status":"A"})" + "\n");
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json["items"].size() == 3);
  CHECK(r.json["items"][1]["error"] ==
        json{{"code", "wrong_type"},
             {"status", 422},
             {"message", "field /status must be a string, got array"},
             {"details", {{"field", "/status"}}}});
  CHECK(r.json["items"][2]["error"]["details"] == json{{"field", "/folio"}});
  CHECK(s.get("/v1/audit/head").json["seq"] == 1);
}

TEST_CASE(
    "ingest refuses duplicate keys where hooklog reads, and control characters in "
    "tenants and types",
    "[api][fields]") {
  hooklog_server s;
  // {"status":"TRANSIT","status":"COMPLETED"}: hooklog would index COMPLETED, a receiver that
  // keeps the first would see TRANSIT.
  auto dup = s.call("POST", kStatusChange,
                    R"({"folio":"F1","status":"TRANSIT","status":"COMPLETED","workspace":"jelp"})");
  CHECK(dup.status == 422);
  CHECK(dup.json["error"]["code"] == "duplicate_key");
  CHECK(dup.json["error"]["details"] == json{{"field", "/status"}});
  CHECK(dup.json["error"]["message"] ==
        "duplicate key at /status: hooklog reads this field and a receiver could read the other "
        "copy");
  auto nested = s.call("POST", "/v1/sources/standard/events",
                       R"({"type":"a","entity":{"kind":"order","id":"1","id":"2"}})");
  CHECK(nested.status == 422);
  CHECK(nested.json["error"]["details"] == json{{"field", "/entity/id"}});
  // A repeated key hooklog does not read is the platform's business: stored as sent.
  const std::string unread = R"({"folio":"F1","status":"TRANSIT","note":"a","note":"b"})";
  auto ok = s.call("POST", kStatusChange, unread);
  CHECK(ok.status == 202);

  // NUL and other control characters: in the payload's type and tenant, in ?type=.
  auto nul_type = s.call("POST", "/v1/sources/standard/events", R"({"type":"a\u0000b"})");
  CHECK(nul_type.status == 422);
  CHECK(nul_type.json["error"]["code"] == "invalid_value");
  CHECK(nul_type.json["error"]["details"] == json{{"field", "/type"}});
  CHECK(nul_type.json["error"]["message"] ==
        "the event type from field /type holds the control character U+0000 at byte 1; control "
        "characters are not allowed");
  auto nul_tenant = s.call("POST", kStatusChange, R"({"folio":"F1","workspace":"jelp\u0000x"})");
  CHECK(nul_tenant.status == 422);
  CHECK(nul_tenant.json["error"]["details"] == json{{"field", "/workspace"}});
  auto url_type = s.call("POST", "/v1/sources/jelp/events?type=order_new%00x", R"({"folio":"F1"})");
  CHECK(url_type.status == 422);
  CHECK(url_type.json["error"]["code"] == "invalid_value");
  CHECK(url_type.json["error"]["details"] == json{{"parameter", "type"}});
  auto tab = s.call("POST", "/v1/sources/jelp/events?type=order%09new", R"({"folio":"F1"})");
  CHECK(tab.status == 422);
  // A tenant key's tenant: refused when the key is created.
  auto key = s.post("/v1/keys", {{"tenant", std::string("t\0x", 3)}});
  CHECK(key.status == 422);
  CHECK(key.json["error"]["code"] == "invalid_key");
  CHECK(key.json["error"]["details"] == json{{"field", "/tenant"}});
  // Batch lines too.
  auto r = s.post_ndjson(
      "/v1/sources/standard/events:batch",
      std::string(R"({"type":"ok"})") + "\n" + R"({"type":"x","tenant":"\u001f"})" + "\n");
  REQUIRE(r.status == 200);
  CHECK(r.json["items"][1]["error"]["code"] == "invalid_value");
  CHECK(r.json["items"][1]["error"]["details"] == json{{"field", "/tenant"}});
  CHECK(s.get("/v1/audit/head").json["seq"] == 2);  // the unread repeat and "ok"

  // A raw NUL byte: JSON's parser would stop there and take the rest for the end of the input,
  // storing bytes that are no JSON. Refused where it stands, alone and on a batch line.
  const std::string after_nul("{\"type\":\"a\"}\0{\"type\":\"b\"} ]]] not json", 38);
  auto raw_nul = s.call("POST", "/v1/sources/standard/events", after_nul);
  CHECK(raw_nul.status == 400);
  CHECK(raw_nul.json["error"]["code"] == "bad_json");
  CHECK(raw_nul.json["error"]["message"].get<std::string>().rfind(
            "invalid JSON at line 1, column 13: a NUL byte", 0) == 0);
  auto nul_line = s.post_ndjson("/v1/sources/standard/events:batch",
                                std::string(R"({"type":"ok2"})") + "\n" + after_nul + "\n");
  REQUIRE(nul_line.status == 200);
  CHECK(nul_line.json["items"][0]["error"].is_null());
  CHECK(nul_line.json["items"][1]["error"]["code"] == "bad_json");
  CHECK(s.get("/v1/audit/head").json["seq"] == 3);  // "ok2" only
}

TEST_CASE("ingest refuses control characters in an event id, an entity or a status",
          "[api][fields]") {
  hooklog_server s;
  auto refusal = [&](const std::string& target, const std::string& body) {
    auto r = s.call("POST", target, body);
    INFO(body << " -> " << r.body);
    CHECK(r.status == 422);
    CHECK(r.json["error"]["code"] == "invalid_value");
    return std::make_pair(r.json["error"]["details"]["field"].get<std::string>(),
                          r.json["error"]["message"].get<std::string>());
  };
  using P = std::pair<std::string, std::string>;
  const std::string tail = "; control characters are not allowed";
  const std::string standard = "/v1/sources/standard/events";
  CHECK(refusal(standard, R"({"type":"a","id":"e\u0000"})") ==
        P{"/id", "the event id from field /id holds the control character U+0000 at byte 1" + tail});
  CHECK(refusal(standard, R"({"type":"a","entity":{"kind":"order\n","id":"1"}})") ==
        P{"/entity/kind",
          "the entity kind from field /entity/kind holds the control character U+000A at byte 5" +
              tail});
  // A forged second line in `hooklog tail`'s or `hooklog timeline`'s text output.
  CHECK(refusal(standard,
                R"({"type":"a","entity":{"kind":"order","id":"1\n2024-01-01T00:00:00Z x"}})") ==
        P{"/entity/id",
          "the entity id from field /entity/id holds the control character U+000A at byte 1" + tail});
  CHECK(refusal(kStatusChange, R"({"folio":"F1","status":"\u001b[31mPAID"})") ==
        P{"/status", "the status from field /status holds the control character U+001B at byte 0" +
                         tail});
  CHECK(refusal(standard,
                R"({"type":"a","entity":{"kind":"k","id":"1"},"status":{"from":"\r","to":"B"}})") ==
        P{"/status/from",
          "the previous status from field /status/from holds the control character U+000D at byte 0" +
              tail});
  // Batch lines too; nothing of a refused event is stored.
  auto r = s.post_ndjson("/v1/sources/standard/events:batch",
                         std::string(R"({"type":"ok","entity":{"kind":"k","id":"é"}})") + "\n" +
                             R"({"type":"x","entity":{"kind":"k","id":"\u007f"}})" + "\n");
  REQUIRE(r.status == 200);
  CHECK(r.json["stored"] == 1);
  CHECK(r.json["items"][1]["error"]["code"] == "invalid_value");
  CHECK(r.json["items"][1]["error"]["details"] == json{{"field", "/entity/id"}});
  CHECK(s.get("/v1/audit/head").json["seq"] == 1);
}

TEST_CASE("ingest refuses a ?type= or an Idempotency-Key that is not UTF-8 or holds controls",
          "[api][fields]") {
  hooklog_server s;
  // Bytes the JSON scanner never sees: before, they were stored as sent, and `hooklog export`
  // and `hooklog stats --json` could not write the record out.
  auto url_type = s.call("POST", "/v1/sources/jelp/events?type=ab%FFcd", R"({"folio":"F1"})");
  INFO(url_type.body);
  CHECK(url_type.status == 422);
  CHECK(url_type.json["error"]["code"] == "invalid_value");
  CHECK(url_type.json["error"]["details"] == json{{"parameter", "type"}});
  CHECK(url_type.json["error"]["message"] ==
        "the event type from ?type= holds the byte 0xFF at byte 2, which is not UTF-8; text must "
        "be UTF-8");
  auto key = s.call("POST", "/v1/sources/standard/events", R"({"type":"a"})", kAdminKey,
                    {{"Idempotency-Key", "k\xFF\xFE"}});
  CHECK(key.status == 422);
  CHECK(key.json["error"]["code"] == "invalid_value");
  CHECK(key.json["error"]["details"] == json{{"header", "Idempotency-Key"}});
  CHECK(key.json["error"]["message"] ==
        "Idempotency-Key holds the byte 0xFF at byte 1, which is not UTF-8; text must be UTF-8");
  auto tab = s.call("POST", "/v1/sources/standard/events", R"({"type":"a"})", kAdminKey,
                    {{"Idempotency-Key", "k\tx"}});
  CHECK(tab.status == 422);
  CHECK(tab.json["error"]["message"] ==
        "Idempotency-Key holds the control character U+0009 at byte 1; control characters are "
        "not allowed");
  // Well-formed UTF-8 in both is stored.
  auto ok = s.call("POST", "/v1/sources/jelp/events?type=caf%C3%A9", R"({"folio":"F1"})",
                   kAdminKey, {{"Idempotency-Key", "cl\xC3\xA9-1"}});
  CHECK(ok.status == 202);
  CHECK(ok.json["type"] == "caf\xC3\xA9");
  CHECK(s.get("/v1/audit/head").json["seq"] == 1);
  // A refusal's details carry a line and column only for a JSON syntax error: text the client
  // sent, quoted in another refusal's message, is not read as one.
  auto quoted = s.call("POST", "/v1/sources/eudr/events",
                       R"({"event":"sync.completed","timestamp":"line 99, column 7"})");
  CHECK(quoted.status == 422);
  CHECK(quoted.json["error"]["details"] == json{{"field", "/timestamp"}});
  auto syntax = s.call("POST", "/v1/sources/standard/events", "{\"type\":\n\"a\",}");
  CHECK(syntax.status == 400);
  CHECK(syntax.json["error"]["details"]["line"] == 2);
}

TEST_CASE("a batch over --batch-max-lines is refused whole with 413", "[api][batch][limits]") {
  hooklog_server s({"--no-deliver", "--batch-max-lines", "3"});
  const std::string line = R"({"type":"a"})";
  // Three lines, the last with or without its newline, are within the limit.
  auto three = s.post_ndjson("/v1/sources/standard/events:batch", line + "\n\n" + line + "\n");
  INFO(three.body);
  CHECK(three.status == 200);
  CHECK(three.json["stored"] == 2);
  CHECK(s.post_ndjson("/v1/sources/standard/events:batch", line + "\n" + line + "\n" + line)
            .status == 200);
  // Four (a blank one counts, though it is skipped, not answered) are not, and nothing is stored.
  auto four = s.post_ndjson("/v1/sources/standard/events:batch",
                            line + "\n" + line + "\n\n" + line + "\n");
  CHECK(four.status == 413);
  CHECK(four.json["error"]["code"] == "payload_too_large");
  CHECK(four.json["error"]["message"] ==
        "batch of 4 lines is over the limit of 3 lines per request for POST "
        "/v1/sources/standard/events:batch; nothing was stored, send it in smaller batches");
  CHECK(four.json["error"]["details"] == json{{"line_limit", 3}, {"lines", 4}});
  CHECK(s.get("/v1/audit/head").json["seq"] == 5);
}

TEST_CASE("ingest refusals carry the details the docs name: too_deep and 413 items with their "
          "limit, and blank batch lines are skipped",
          "[api][batch][limits]") {
  hooklog_server s({"--no-deliver", "--body-limit", "4096"});
  const std::string deep = R"({"type":"a","x":)" + std::string(70, '[') + std::string(70, ']') + "}";
  const json deep_details = {{"line", 1}, {"column", 80}, {"limit", 64}};
  auto one = s.call("POST", "/v1/sources/standard/events", deep);
  INFO(one.body);
  CHECK(one.status == 400);
  CHECK(one.json["error"]["code"] == "too_deep");
  CHECK(one.json["error"]["details"] == deep_details);
  // A batch: a deep line, a line over --body-limit, blank lines (skipped: no item, but their
  // numbers count), a good line.
  const std::string big = R"({"type":"a","pad":")" + std::string(5000, 'p') + R"("})";
  auto batch = s.post_ndjson("/v1/sources/standard/events:batch",
                             deep + "\n\n" + big + "\n \t\r\n" + R"({"type":"a"})" + "\n\n");
  INFO(batch.body);
  REQUIRE(batch.status == 200);
  REQUIRE(batch.json["items"].size() == 3);
  CHECK(batch.json["items"][0]["line"] == 1);
  CHECK(batch.json["items"][0]["error"]["details"] == deep_details);
  CHECK(batch.json["items"][1]["line"] == 3);
  CHECK(batch.json["items"][1]["error"]["status"] == 413);
  CHECK(batch.json["items"][1]["error"]["details"] == json{{"limit", 4096}});
  CHECK(batch.json["items"][2]["line"] == 5);
  CHECK(batch.json["stored"] == 1);
  CHECK(s.get("/v1/audit/head").json["seq"] == 1);
}

TEST_CASE("a body in a Content-Encoding is refused 415 naming it", "[api][limits]") {
  hooklog_server s({"--no-deliver"});
  // A body in a content coding hooklog does not decode: 415 naming it, not bad_json.
  for (const std::string target : {"/v1/sources/standard/events", "/v1/endpoints"}) {
    auto gz = s.call("POST", target, std::string("\x1f\x8b\x08\x00", 4), kAdminKey,
                     {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
    INFO(gz.body);
    CHECK(gz.status == 415);
    CHECK(gz.json["error"]["code"] == "unsupported_media_type");
    CHECK(gz.json["error"]["message"] ==
          "Content-Encoding gzip is not supported: send the body uncompressed (identity)");
    CHECK(gz.json["error"]["details"] ==
          json{{"header", "Content-Encoding"}, {"encoding", "gzip"}});
    CHECK(hooklog::http::find_header(gz.headers, "accept-encoding") == "identity");
  }
  // identity is no coding at all.
  CHECK(s.call("POST", "/v1/sources/standard/events", R"({"type":"a"})", kAdminKey,
               {{"Content-Encoding", "identity"}})
            .status == 202);
  CHECK(s.get("/v1/audit/head").json["seq"] == 1);
}
