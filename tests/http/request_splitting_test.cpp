// Outbound requests cannot be split, signed requests are never sent unsigned, and tenants never
// share a connection (issue 12, items 7, 13 and 14): the request builder, the outbound client
// and the real server with a record planted in its log the way an older version could write it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <map>

#include "engine/record.hpp"
#include "engine/secret_box.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "http/delivery/outbound.hpp"
#include "support/hooklog_server.hpp"
#include "support/stored_records.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kCtlTail =
    "; header values must not contain CR, LF, NUL or other control characters";
// The shape of the reported attack: the token ends the request's header block, then starts a
// request whose body (520 bytes) swallows whatever the connection carries next.
const std::string kSmuggle =
    "x\r\n\r\nPOST /capture HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
    "text/plain\r\nContent-Length: 520\r\n\r\n";

json once() {
  return json{{"strategy", "fixed"}, {"base_ms", 10}, {"max_attempts", 1}, {"max_ms", 60000}};
}

http::outbound_outcome deliver_sync(http::outbound_client& c, http::outbound_request r) {
  std::promise<http::outbound_outcome> p;
  auto f = p.get_future();
  c.deliver(std::move(r), [&p](http::outbound_outcome&& o) { p.set_value(std::move(o)); });
  REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return f.get();
}

}  // namespace

TEST_CASE("outbound: a header with a control character or a bad name is never sent",
          "[outbound][security]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {});
  http::outbound_options o;
  o.allow_private_targets = true;
  http::outbound_client client(o);
  struct bad_case {
    http::header_list headers;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {{{"authorization", "Bearer " + kSmuggle}},
       "not sent: the value of header 'authorization' has a control character at byte 8"},
      {{{"x-a", std::string("a\0b", 3)}},
       "not sent: the value of header 'x-a' has a control character at byte 1"},
      {{{"x-a", "a\x7f"}}, "not sent: the value of header 'x-a' has a control character at byte 1"},
      {{{"x-a\r\nx-b", "v"}}, "not sent: header name 'x-a\\x0D\\x0Ax-b' is not an HTTP token"},
      {{{"x a", "v"}}, "not sent: header name 'x\\x20a' is not an HTTP token"},
  };
  for (const auto& c : cases) {
    http::outbound_request r;
    r.url = rx.url();
    r.headers = c.headers;
    r.body = "{}";
    auto out = deliver_sync(client, std::move(r));
    INFO(c.message);
    REQUIRE(out.failure);
    CHECK(out.failure_kind() == http::delivery_errc::invalid_request);
    CHECK(out.failure->message == c.message);
  }
  http::outbound_request bad_method;
  bad_method.method = "POST /x HTTP/1.1\r\n";
  bad_method.url = rx.url();
  auto m = deliver_sync(client, std::move(bad_method));
  CHECK(m.failure_kind() == http::delivery_errc::invalid_request);
  CHECK(client.stats().connections_opened == 0);
  // A tab is allowed; the receiver saw only this one.
  http::outbound_request ok;
  ok.url = rx.url();
  ok.headers = {{"x-a", "a\tb"}};
  CHECK(deliver_sync(client, std::move(ok)).status == 200);
  REQUIRE(rx.lines().size() == 1);
  CHECK(rx.lines()[0]["headers"]["x-a"] == "a\tb");
}

TEST_CASE("outbound: requests with different pool keys never share a connection",
          "[outbound][security]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {});
  http::outbound_options o;
  o.allow_private_targets = true;
  http::outbound_client client(o);
  auto req = [&](const std::string& key) {
    http::outbound_request r;
    r.url = rx.url();
    r.body = "{}";
    r.pool_key = key;
    return r;
  };
  auto a1 = deliver_sync(client, req("tenant-a"));
  REQUIRE(a1.status == 200);
  CHECK_FALSE(a1.reused_connection);
  // Same origin, another key: a connection of its own although tenant-a's is idle.
  auto b1 = deliver_sync(client, req("tenant-b"));
  REQUIRE(b1.status == 200);
  CHECK_FALSE(b1.reused_connection);
  CHECK(client.stats().connections_opened == 2);
  // Each key reuses its own.
  CHECK(deliver_sync(client, req("tenant-a")).reused_connection);
  CHECK(deliver_sync(client, req("tenant-b")).reused_connection);
  CHECK(client.stats().connections_opened == 2);
}

TEST_CASE("delivery: an endpoint whose request cannot be made safely is never sent to",
          "[delivery][security]") {
  auto box = secret_box::from_key_text(std::string(64, 'a'));
  auto other_box = secret_box::from_key_text(std::string(64, 'b'));
  REQUIRE(box);
  REQUIRE(other_box);
  http::dispatcher_options o;
  o.box = *box;
  delivery_fixture f(o);
  receiver_proc rx(f.dir, "rx", {"--secret", kSecret});
  const json prev_bad = json::array({json{{"secret", "whsec_!!!"}, {"valid_until", INT64_MAX}}});
  // Records as an older version (or anything but the API) could have written them.
  f.add_endpoint("bad-secret",
                 {{"url", rx.url("/bad-secret")}, {"secret", "whsec_!!!"}, {"retry", once()}});
  f.add_endpoint("no-secret", {{"url", rx.url("/no-secret")}, {"retry", once()}});
  f.add_endpoint(
      "other-key",
      {{"url", rx.url("/other-key")}, {"secret", other_box->seal(kSecret)}, {"retry", once()}});
  f.add_endpoint("crlf-token", {{"url", rx.url("/crlf-token")},
                                {"secret", kSecret},
                                {"retry", once()},
                                {"auth", {{"type", "bearer"}, {"token", kSmuggle}}}});
  f.add_endpoint(
      "crlf-sealed",
      {{"url", rx.url("/crlf-sealed")},
       {"secret", kSecret},
       {"retry", once()},
       {"auth", {{"type", "header"}, {"name", "X-Key"}, {"value", box->seal("v\r\nX-Evil: 1")}}}});
  f.add_endpoint("crlf-header", {{"url", rx.url("/crlf-header")},
                                 {"secret", kSecret},
                                 {"retry", once()},
                                 {"headers", {{"X-A", "1\r\nX-Evil: 1"}}}});
  f.add_endpoint("bad-name",
                 {{"url", rx.url("/bad-name")},
                  {"secret", kSecret},
                  {"retry", once()},
                  {"auth", {{"type", "header"}, {"name", "X-Key\r\nX-Evil"}, {"value", "v"}}}});
  // Fine: a sealed token opened at delivery; an undecodable previous secret only adds nothing.
  f.add_endpoint("good", {{"url", rx.url("/good")},
                          {"secret", box->seal(kSecret)},
                          {"previous_secrets", prev_bad},
                          {"auth", {{"type", "bearer"}, {"token", box->seal("tok-1")}}}});
  f.add_event("E1", "{\"n\":1}");
  const std::map<std::string, std::string> expected = {
      {"bad-secret",
       "invalid_request: not sent: the signing secret is not whsec_<base64> (rotate it); never "
       "sent unsigned"},
      {"no-secret",
       "invalid_request: not sent: the endpoint has no signing secret; never sent unsigned"},
      {"other-key",
       "invalid_request: not sent: the signing secret cannot be opened (sealed secret does not "
       "verify "
       "(wrong master key or altered bytes)); never sent unsigned"},
      {"crlf-token",
       std::string(
           "invalid_request: not sent: /auth/token: has a control character (0x0D at byte 1)") +
           kCtlTail},
      {"crlf-sealed",
       std::string(
           "invalid_request: not sent: /auth/value: has a control character (0x0D at byte 1)") +
           kCtlTail},
      {"crlf-header",
       std::string(
           "invalid_request: not sent: /headers/X-A: has a control character (0x0D at byte 1)") +
           kCtlTail},
      {"bad-name",
       "invalid_request: not sent: /auth/name: is not a valid header name (letters, digits and "
       "!#$%&'*+-.^_`|~ only)"},
  };
  REQUIRE(eventually([&] {
    for (const auto& [ep, _] : expected)
      if (f.attempts(ep).empty()) return false;
    return !f.attempts("good").empty();
  }));
  for (const auto& [ep, error] : expected) {
    auto a = f.attempts(ep);
    INFO(ep << ": " << a[0].dump());
    REQUIRE(a.size() == 1);
    CHECK(a[0]["outcome"] == "failure");
    CHECK(a[0]["dead_letter"] == true);
    CHECK(a[0]["status"] == 0);
    CHECK(a[0]["error"] == error);
  }
  CHECK(f.attempts("good")[0]["outcome"] == "success");
  REQUIRE(rx.lines().size() == 1);  // nothing else reached the receiver
  auto l = rx.lines()[0];
  CHECK(l["target"] == "/good");
  CHECK(l["signature_ok"] == true);
  CHECK(l["headers"]["authorization"] == "Bearer tok-1");
  const std::string sig = l["headers"]["webhook-signature"];
  CHECK(std::count(sig.begin(), sig.end(), ' ') == 0);  // the bad previous secret added nothing
}

TEST_CASE(
    "delivery: a planted CRLF token neither splits a request nor captures another tenant's "
    "delivery",
    "[delivery][serve][security]") {
  temp_dir dir;
  const std::string attacker_secret = generate_secret();
  receiver_proc rx(dir, "rx", {"--secret", kSecret, "--secret", attacker_secret});
  const std::string data = (dir.path() / "data").string();
  // The attacker's endpoint as a version without the checks let a tenant create it.
  store_record(data,
               endpoint_created_record("mallory", "ep_mallory",
                                       json{{"id", "ep_mallory"},
                                            {"url", rx.url("/hook")},
                                            {"secret", attacker_secret},
                                            {"retry", once()},
                                            {"auth", {{"type", "bearer"}, {"token", kSmuggle}}}}
                                           .dump()));
  hooklog_server s({"--allow-private-targets"}, data);
  auto victim = s.post("/v1/endpoints", {{"url", rx.url("/hook")},
                                         {"tenant", "alice"},
                                         {"secret", kSecret},
                                         {"auth", {{"type", "bearer"}, {"token", "alice-token"}}}});
  REQUIRE(victim.status == 201);
  auto event = [](const std::string& id, const std::string& tenant) {
    return json{{"id", id},
                {"type", "order.updated"},
                {"timestamp", "2024-02-10T00:00:00Z"},
                {"tenant", tenant},
                {"data", {{"who", tenant}, {"pad", std::string(100, 'p')}}}}
        .dump();
  };
  // The attacker's delivery first (it would leave the poisoned connection idle), then the victim's.
  REQUIRE(s.call("POST", "/v1/sources/standard/events", event("m-1", "mallory")).status == 202);
  const std::string attempts = "/v1/attempts?endpoint_id=ep_mallory";
  REQUIRE(eventually([&] { return s.get(attempts).json["items"].size() == 1; }));
  auto a = s.get(attempts).json["items"][0];
  INFO(a.dump());
  CHECK(a["error"] ==
        std::string(
            "invalid_request: not sent: /auth/token: has a control character (0x0D at byte 1)") +
            kCtlTail);
  const std::string victim_body = event("a-1", "alice");
  auto posted = s.call("POST", "/v1/sources/standard/events", victim_body);
  REQUIRE(posted.status == 202);
  REQUIRE(eventually([&] { return !rx.lines().empty(); }, std::chrono::seconds(20)));
  const std::string victim_attempts =
      "/v1/attempts?outcome=success&endpoint_id=" + victim.json["id"].get<std::string>();
  REQUIRE(eventually([&] { return s.get(victim_attempts).json["items"].size() == 1; }));
  // Exactly the victim's request arrived: intact, signed, with its own auth; no /capture.
  auto lines = rx.lines();
  for (const auto& line : lines) UNSCOPED_INFO("received: " << line.dump());
  REQUIRE(lines.size() == 1);
  auto& l = lines[0];
  CHECK(l["method"] == "POST");
  CHECK(l["target"] == "/hook");
  CHECK(l["webhook_id"] == posted.json["id"]);
  CHECK(l["signature_ok"] == true);
  CHECK(l["headers"]["authorization"] == "Bearer alice-token");
  CHECK(l["body"] == victim_body);
}
