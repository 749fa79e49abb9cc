#include <catch2/catch.hpp>

#include "engine/secret_box.hpp"
#include <nlohmann/json.hpp>

#include <chrono>
#include <sstream>

#include "hooklog_build_paths.hpp"
#include "http/delivery/client.hpp"
#include "http/delivery/signature.hpp"
#include "support/process.hpp"

using namespace hooklog;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

http::header_list signed_headers(const std::string& secret, const std::string& id,
                                 const std::string& body, std::int64_t ts = now_seconds()) {
  return {{"webhook-id", id},
          {"webhook-timestamp", std::to_string(ts)},
          {"webhook-signature", http::sign_v1(secret, id, ts, body)},
          {"webhook-event-type", "order.created"},
          {"content-type", "application/json"}};
}


}  // namespace

TEST_CASE("receiver verifies signatures, logs requests and rotates statuses", "[receiver]") {
  test::temp_dir dir;
  auto out = dir / "received.ndjson";
  test::child_process rcv(HOOKLOG_RECEIVER,
                          {"--secret", hooklog::generate_secret(), "--secret", kSecret, "--out",
                           out.string(), "--status-mix", "200:2,503:1"});
  auto addr = rcv.wait_listening(10s);
  REQUIRE(addr);
  CHECK(addr->host == "127.0.0.1");
  http::http_client c(addr->host, addr->port);

  const std::string body = R"({"order":"42AT8WT","status":"TRANSIT"})";
  auto ok = c.post("/hooks/orders", body, signed_headers(kSecret, "msg_1", body));
  REQUIRE(ok);
  CHECK(ok->status == 200);

  auto bad = c.post("/hooks/orders", body + " ", signed_headers(kSecret, "msg_2", body));
  REQUIRE(bad);
  CHECK(bad->status == 401);
  CHECK(nlohmann::json::parse(bad->body)["error"]["code"] == "bad_signature");

  auto stale = c.post("/hooks/orders", body, signed_headers(kSecret, "msg_3", body, now_seconds() - 3600));
  REQUIRE(stale);
  CHECK(stale->status == 401);
  auto unsigned_req = c.post("/hooks/orders", body);
  REQUIRE(unsigned_req);
  CHECK(unsigned_req->status == 401);

  // Rotation counts accepted requests only: msg_1 was the first (200).
  std::vector<unsigned> statuses;
  for (int i = 0; i < 5; ++i) {
    auto r = c.post("/hooks/orders", body, signed_headers(kSecret, "msg_r" + std::to_string(i), body));
    REQUIRE(r);
    statuses.push_back(r->status);
  }
  CHECK(statuses == std::vector<unsigned>{200, 503, 200, 200, 503});
  CHECK(c.connections_opened() == 1);

  auto lines = test::read_ndjson(out);
  REQUIRE(lines.size() == 9);
  CHECK(lines[0]["webhook_id"] == "msg_1");
  CHECK(lines[0]["event_type"] == "order.created");
  CHECK(lines[0]["signature_ok"] == true);
  CHECK(lines[0]["status_sent"] == 200);
  CHECK(lines[0]["body"] == body);
  CHECK(lines[0]["headers"]["webhook-id"] == "msg_1");
  CHECK_FALSE(lines[0]["received_at"].get<std::string>().empty());
  CHECK(lines[1]["signature_ok"] == false);
  CHECK(lines[1]["status_sent"] == 401);
  CHECK(lines[1]["body"] == body + " ");
  CHECK(lines[3]["webhook_id"].is_null());
  CHECK(lines[6]["status_sent"] == 200);
  CHECK(lines[5]["status_sent"] == 503);

  int st = rcv.stop();
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("receiver exits after --max-requests and honours --delay-ms", "[receiver]") {
  test::child_process rcv(HOOKLOG_RECEIVER, {"--max-requests", "2", "--delay-ms", "300"});
  auto addr = rcv.wait_listening(10s);
  REQUIRE(addr);
  http::http_client c(addr->host, addr->port);
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.post("/x", "{}");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= 290ms);
  r = c.post("/x", "{}");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto st = rcv.wait_exit(10s);
  REQUIRE(st);
  CHECK(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 0);
}

TEST_CASE("receiver refuses bad flags", "[receiver]") {
  test::child_process rcv(HOOKLOG_RECEIVER, {"--secret", "not base64!"});
  auto st = rcv.wait_exit(10s);
  REQUIRE(st);
  CHECK(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 2);
}

TEST_CASE("process helpers parse the listening line", "[support]") {
  auto a = test::parse_listening_line("listening on [::1]:8080");
  REQUIRE(a);
  CHECK(a->host == "::1");
  CHECK(a->port == 8080);
  auto b = test::parse_listening_line("listening on 127.0.0.1:1");
  REQUIRE(b);
  CHECK(b->host == "127.0.0.1");
  CHECK_FALSE(test::parse_listening_line("hello"));
  CHECK_FALSE(test::parse_listening_line("listening on 127.0.0.1:0"));
}
