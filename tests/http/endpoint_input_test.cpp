// What an endpoint may hold, checked over the API of the real `hooklog serve` (issue 12):
// no control character in any value that reaches an outbound request (items 7), signing
// secrets that decode (item 13), SSRF refusals that do not tell tenants about addresses
// (item 14), and credentials sealed at rest (item 9).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"
#include "engine/record.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "http/delivery/signature.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kCtlTail =
    "; header values must not contain CR, LF, NUL or other control characters";

json endpoint_with(json auth, json headers = json::object()) {
  return json{{"url", "https://hooks.example.com/in"},
              {"tenant", "t1"},
              {"auth", std::move(auth)},
              {"headers", std::move(headers)}};
}

void check_refusal(const api_reply& r, const std::string& field, const std::string& message) {
  INFO(r.body);
  CHECK(r.status == 422);
  json j = r.json;  // non-const: a missing member reads as null
  CHECK(j["error"]["code"] == "invalid_endpoint");
  CHECK(j["error"]["details"]["field"] == field);
  CHECK(j["error"]["message"] == message);
}

std::string event_body(const std::string& id, const std::string& tenant) {
  return json{{"id", id},
              {"type", "order.updated"},
              {"timestamp", "2024-02-10T00:00:00Z"},
              {"tenant", tenant},
              {"data", {{"n", 1}}}}
      .dump();
}

// Every regular file under `dir`, read whole.
std::vector<std::pair<std::string, std::string>> all_files(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    out.emplace_back(f.path().string(), std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return out;
}

}  // namespace

TEST_CASE("endpoints: control characters in auth and headers are refused at creation",
          "[api][security]") {
  hooklog_server s;
  const std::string smuggle = "abc\r\n\r\nPOST /capture HTTP/1.1\r\nContent-Length: 520\r\n\r\n";
  check_refusal(s.post("/v1/endpoints", endpoint_with({{"type", "bearer"}, {"token", smuggle}})),
                "/auth/token",
                std::string("/auth/token: has a control character (0x0D at byte 3)") + kCtlTail);
  check_refusal(
      s.post("/v1/endpoints",
             endpoint_with({{"type", "header"}, {"name", "X-Key\r\nX-Evil"}, {"value", "v"}})),
      "/auth/name",
      "/auth/name: is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)");
  check_refusal(s.post("/v1/endpoints",
                       endpoint_with({{"type", "header"}, {"name", "X-Key"}, {"value", "v\nw"}})),
                "/auth/value",
                std::string("/auth/value: has a control character (0x0A at byte 1)") + kCtlTail);
  check_refusal(
      s.post("/v1/endpoints",
             endpoint_with({{"type", "basic"}, {"username", "u"}, {"password", "p\r\nw"}})),
      "/auth/password",
      std::string("/auth/password: has a control character (0x0D at byte 1)") + kCtlTail);
  check_refusal(s.post("/v1/endpoints", endpoint_with({{"type", "basic"},
                                                       {"username", std::string("u\0v", 3)},
                                                       {"password", "p"}})),
                "/auth/username",
                std::string("/auth/username: has a control character (0x00 at byte 1)") + kCtlTail);
  check_refusal(s.post("/v1/endpoints",
                       endpoint_with({{"type", "basic"}, {"username", "a:b"}, {"password", "p"}})),
                "/auth/username", "/auth/username: must not contain ':' (RFC 7617)");
  check_refusal(
      s.post("/v1/endpoints", endpoint_with({{"type", "bearer"}, {"token", "enc:v1:AAAA"}})),
      "/auth/token", "/auth/token: must not start with enc:v1: (reserved for sealed values)");
  // The headers field: DEL in a value, a name that is not a token ("/" escaped in the pointer).
  check_refusal(
      s.post("/v1/endpoints", endpoint_with(nullptr, {{"X-Trace", "a\x7f"}})), "/headers/X-Trace",
      std::string("/headers/X-Trace: has a control character (0x7F at byte 1)") + kCtlTail);
  check_refusal(
      s.post("/v1/endpoints", endpoint_with(nullptr, {{"X/Trace", "a"}})), "/headers/X~1Trace",
      "/headers/X~1Trace: is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)");
  // The signing headers hooklog sets on every delivery, in any case, as a header or as auth.
  check_refusal(
      s.post("/v1/endpoints", endpoint_with(nullptr, {{"Webhook-Signature", "v1,Zm9v"}})),
      "/headers/Webhook-Signature",
      "/headers/Webhook-Signature: is set by hooklog on every delivery (webhook-signature); an "
      "endpoint cannot set it");
  check_refusal(s.post("/v1/endpoints",
                       endpoint_with({{"type", "header"}, {"name", "webhook-id"}, {"value", "x"}})),
                "/auth/name",
                "/auth/name: is set by hooklog on every delivery (webhook-id); an endpoint cannot "
                "set it");
  // Nothing was created; a horizontal tab is allowed in a value (RFC 9110).
  CHECK(s.get("/v1/endpoints").json["items"].empty());
  CHECK(s.post("/v1/endpoints", endpoint_with({{"type", "bearer"}, {"token", "a\tb"}})).status ==
        201);
}

TEST_CASE("endpoints: control characters in auth are refused by PATCH, the endpoint is unchanged",
          "[api][security]") {
  hooklog_server s;
  auto c = s.post("/v1/endpoints", endpoint_with({{"type", "bearer"}, {"token", "good-token"}}));
  REQUIRE(c.status == 201);
  const std::string path = "/v1/endpoints/" + c.json["id"].get<std::string>();
  check_refusal(s.call("PATCH", path, json{{"auth", {{"token", "t\r\nX-Evil: 1"}}}}.dump()),
                "/auth/token",
                std::string("/auth/token: has a control character (0x0D at byte 1)") + kCtlTail);
  check_refusal(
      s.call("PATCH", path,
             json{{"auth", {{"type", "header"}, {"name", "X-K"}, {"value", "v\r\n"}}}}.dump()),
      "/auth/value",
      std::string("/auth/value: has a control character (0x0D at byte 1)") + kCtlTail);
  check_refusal(
      s.call("PATCH", path,
             json{{"auth", {{"type", "header"}, {"name", "X K"}, {"value", "v"}}}}.dump()),
      "/auth/name",
      "/auth/name: is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)");
  check_refusal(
      s.call(
          "PATCH", path,
          json{{"auth", {{"type", "basic"}, {"username", "u"}, {"password", "\x1b[31m"}}}}.dump()),
      "/auth/password",
      std::string("/auth/password: has a control character (0x1B at byte 0)") + kCtlTail);
  check_refusal(s.call("PATCH", path, json{{"headers", {{"X-A", "1\r\n2"}}}}.dump()),
                "/headers/X-A",
                std::string("/headers/X-A: has a control character (0x0D at byte 1)") + kCtlTail);
  auto g = s.get(path);
  CHECK(g.json["auth"] == json({{"type", "bearer"}, {"token", "***"}}));
  CHECK(g.json["headers"] == json::object());
  // A PATCH that does not touch auth keeps the stored (sealed) token and passes.
  CHECK(s.call("PATCH", path, R"({"description":"x"})").status == 200);
}

TEST_CASE("endpoints: the signing secret must be whsec_ + base64 of 24 to 64 bytes",
          "[api][security]") {
  hooklog_server s;
  auto with_secret = [](const std::string& secret) {
    return json{{"url", "https://hooks.example.com/in"}, {"tenant", "t1"}, {"secret", secret}};
  };
  const std::string why = "/secret: must be whsec_ followed by base64 of 24 to 64 bytes";
  check_refusal(s.post("/v1/endpoints", with_secret("whsec_!!!")), "/secret",
                why + " (the part after whsec_ is not base64)");
  check_refusal(s.post("/v1/endpoints",
                       with_secret("whsec_" + hooklog::http::base64_encode(std::string(16, 'k')))),
                "/secret", why + " (it decodes to 16 bytes)");
  check_refusal(s.post("/v1/endpoints",
                       with_secret("whsec_" + hooklog::http::base64_encode(std::string(65, 'k')))),
                "/secret", why + " (it decodes to 65 bytes)");
  check_refusal(s.post("/v1/endpoints", with_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")), "/secret",
                why);
  check_refusal(s.post("/v1/endpoints", with_secret("enc:v1:AAAA")), "/secret", why);
  CHECK(s.get("/v1/endpoints").json["items"].empty());
  auto ok = s.post("/v1/endpoints", with_secret(kSecret));  // 24 bytes
  REQUIRE(ok.status == 201);
  CHECK(s.post("/v1/endpoints",
               with_secret("whsec_" + hooklog::http::base64_encode(std::string(64, 'k'))))
            .status == 201);
  const std::string rotate = "/v1/endpoints/" + ok.json["id"].get<std::string>() + "/rotate-secret";
  check_refusal(s.post(rotate, {{"secret", "whsec_!!!"}}), "/secret",
                why + " (the part after whsec_ is not base64)");
  check_refusal(s.post(rotate, {{"secret", 42}}), "/secret",
                "/secret: must be a string (whsec_ followed by base64 of 24 to 64 bytes)");
  CHECK(
      s.get("/v1/endpoints/" + ok.json["id"].get<std::string>()).json["previous_secrets"].empty());
  CHECK(s.post(rotate, json::object()).status == 200);  // generated
  CHECK(s.post(rotate, {{"secret", kSecret}}).status == 200);
}

TEST_CASE("endpoints: an SSRF refusal tells a tenant only that the target is not allowed",
          "[api][security][ssrf]") {
  hooklog_server s;  // private targets not allowed
  auto k = s.post("/v1/keys", {{"tenant", "t1"}});
  REQUIRE(k.status == 201);
  const std::string key = k.json["key"];
  for (const char* url : {"http://10.0.0.5/x", "http://127.0.0.1:9/x", "http://api.localhost/x",
                          "http://169.254.169.254/latest/meta-data"}) {
    INFO(url);
    auto r = s.post("/v1/endpoints", {{"url", url}}, key);
    CHECK(r.status == 422);
    CHECK(r.json["error"]["message"] == "url: the delivery target is not allowed");
    CHECK(r.json["error"]["details"]["field"] == "/url");
  }
  auto c = s.post("/v1/endpoints", {{"url", "https://hooks.example.com/in"}}, key);
  REQUIRE(c.status == 201);
  auto p = s.call("PATCH", "/v1/endpoints/" + c.json["id"].get<std::string>(),
                  R"({"url":"http://192.168.1.1/"})", key);
  CHECK(p.status == 422);
  CHECK(p.json["error"]["message"] == "url: the delivery target is not allowed");
  // An admin sees why.
  auto a = s.post("/v1/endpoints", {{"url", "http://10.0.0.5/x"}, {"tenant", "t1"}});
  CHECK(a.status == 422);
  CHECK(a.json["error"]["message"] ==
        "url: refused: 10.0.0.5 is a private address; set allow_private_targets to allow it");
}

TEST_CASE("endpoints: auth credentials are sealed at rest, deliveries still carry them",
          "[api][security][delivery]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  const std::string token = "tok-SECRET-123", password = "pw-SECRET-456", value = "hv-SECRET-789";
  auto bearer = s.post("/v1/endpoints", {{"url", rx.url("/bearer")},
                                         {"tenant", "t1"},
                                         {"secret", kSecret},
                                         {"auth", {{"type", "bearer"}, {"token", token}}}});
  auto basic =
      s.post("/v1/endpoints",
             {{"url", rx.url("/basic")},
              {"tenant", "t1"},
              {"secret", kSecret},
              {"auth", {{"type", "basic"}, {"username", "user"}, {"password", password}}}});
  auto header =
      s.post("/v1/endpoints",
             {{"url", rx.url("/header")},
              {"tenant", "t1"},
              {"secret", kSecret},
              {"auth", {{"type", "header"}, {"name", "X-Api-Key"}, {"value", "placeholder"}}}});
  REQUIRE(bearer.status == 201);
  REQUIRE(basic.status == 201);
  REQUIRE(header.status == 201);
  CHECK(bearer.json["auth"]["token"] == "***");
  CHECK(basic.json["auth"]["password"] == "***");
  // PATCH sets a credential (sealed too) and, on the others, keeps the stored ones.
  const std::string header_path = "/v1/endpoints/" + header.json["id"].get<std::string>();
  REQUIRE(s.call("PATCH", header_path, json{{"auth", {{"value", value}}}}.dump()).status == 200);
  REQUIRE(s.call("PATCH", "/v1/endpoints/" + bearer.json["id"].get<std::string>(),
                 R"({"description":"b"})")
              .status == 200);
  CHECK(s.get(header_path).json["auth"] ==
        json({{"type", "header"}, {"name", "X-Api-Key"}, {"value", "***"}}));

  auto delivered = [&](std::size_t n) {
    return eventually([&] { return rx.lines().size() >= n; }, std::chrono::seconds(20));
  };
  REQUIRE(s.call("POST", "/v1/sources/standard/events", event_body("e-1", "t1")).status == 202);
  REQUIRE(delivered(3));
  s.restart();  // the state is read back from disk: still opened at delivery
  REQUIRE(s.call("POST", "/v1/sources/standard/events", event_body("e-2", "t1")).status == 202);
  REQUIRE(delivered(6));
  std::map<std::string, int> seen;
  for (auto l : rx.lines()) {
    INFO(l.dump());
    CHECK(l["signature_ok"] == true);
    auto& h = l["headers"];
    if (l["target"] == "/bearer") CHECK(h["authorization"] == "Bearer " + token);
    if (l["target"] == "/basic")
      CHECK(h["authorization"] == "Basic " + hooklog::http::base64_encode("user:" + password));
    if (l["target"] == "/header") CHECK(h["x-api-key"] == value);
    seen[l["target"]]++;
  }
  CHECK(seen == std::map<std::string, int>{{"/basic", 2}, {"/bearer", 2}, {"/header", 2}});

  // No file of the data directory (log, state, anything) holds a credential in clear.
  std::size_t files = 0;
  for (const auto& [path, bytes] : all_files(s.data_dir())) {
    INFO(path);
    ++files;
    CHECK(bytes.find(token) == std::string::npos);
    CHECK(bytes.find(password) == std::string::npos);
    CHECK(bytes.find(value) == std::string::npos);
    CHECK(bytes.find(hooklog::http::base64_encode("user:" + password)) == std::string::npos);
  }
  CHECK(files >= 3);  // the log, the state and the key file at least
}

TEST_CASE(
    "endpoints: a credential of an older plaintext record still works and the next PATCH seals it",
    "[api][security][delivery]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  const std::string data = (dir.path() / "data").string();
  const std::string token = "legacy-SECRET-1";
  auto endpoint_records = [&] {
    hooklog::log_options lo;
    lo.dir = data;
    auto log = hooklog::event_log::open(lo);
    REQUIRE(log);
    std::vector<json> bodies;
    REQUIRE((*log)->for_each(1, UINT64_MAX, [&](const hooklog::record_view& v) {
      if (v.kind == hooklog::record_kind::endpoint_created ||
          v.kind == hooklog::record_kind::endpoint_updated)
        bodies.push_back(json::parse(v.body));
      return true;
    }));
    return bodies;
  };
  {
    // As a version before sealing wrote it: the token in clear.
    hooklog::log_options lo;
    lo.dir = data;
    auto log = hooklog::event_log::open(lo);
    REQUIRE(log);
    hooklog::log_writer w(**log);
    hooklog::record r;
    r.kind = hooklog::record_kind::endpoint_created;
    r.tenant = "t1";
    r.entity_kind = "endpoint";
    r.entity_id = "ep_legacy";
    r.body = json{{"id", "ep_legacy"},
                  {"url", rx.url("/legacy")},
                  {"secret", kSecret},
                  {"auth", {{"type", "bearer"}, {"token", token}}}}
                 .dump();
    REQUIRE(w.append(std::move(r)));
    w.stop();
  }
  {
    hooklog_server s({"--allow-private-targets"}, data);
    CHECK(s.get("/v1/endpoints/ep_legacy").json["auth"]["token"] == "***");
    REQUIRE(s.call("POST", "/v1/sources/standard/events", event_body("e-1", "t1")).status == 202);
    REQUIRE(eventually([&] { return rx.lines().size() == 1; }, std::chrono::seconds(20)));
    REQUIRE(s.call("PATCH", "/v1/endpoints/ep_legacy", R"({"description":"sealed now"})").status ==
            200);
    REQUIRE(s.call("POST", "/v1/sources/standard/events", event_body("e-2", "t1")).status == 202);
    REQUIRE(eventually([&] { return rx.lines().size() == 2; }, std::chrono::seconds(20)));
  }
  for (auto l : rx.lines()) {
    CHECK(l["signature_ok"] == true);
    CHECK(l["headers"]["authorization"] == "Bearer " + token);
  }
  auto bodies = endpoint_records();
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0]["auth"]["token"] == token);  // the old record is never rewritten
  const std::string sealed = bodies[1]["auth"]["token"];
  CHECK(sealed.rfind("enc:v1:", 0) == 0);
}

TEST_CASE(
    "endpoints: a body that is not JSON is refused without quoting it, and Content-Type "
    "is matched in any case",
    "[api][endpoints]") {
  // The parser's message quotes the last 40 bytes it read: a pasted token with a stray newline
  // went into the answer and the refusal log.
  temp_dir dir;
  const std::string err = (dir / "serve.err").string();
  {
    hooklog_server s({}, "", err);
    const std::string body =
        "{\"url\":\"https://a.example.com/in\",\"auth\":{\"type\":\"bearer\",\"token\":"
        "\"tok-SECRET-123\n\"}}";
    auto r = s.call("POST", "/v1/endpoints", body);
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(r.json["error"]["code"] == "bad_json");
    CHECK(r.json["error"]["details"]["line"] == 1);
    CHECK(r.body.find("SECRET") == std::string::npos);
    auto ok = s.call("POST", "/v1/endpoints", R"({"url":"https://a.example.com/in"})", kAdminKey,
                     {{"Content-Type", "Application/JSON; Charset=UTF-8"}});
    CHECK(ok.status == 201);
  }
  std::ifstream in(err);
  const std::string logged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(logged.find("bad_json") != std::string::npos);  // the refusal was logged
  CHECK(logged.find("SECRET") == std::string::npos);
}
