// The server's answers on the wire: response_head() (the status line and headers written into one
// string, http/server_response.hpp) gives byte for byte what Beast's serializer gives for the
// message the server built before, over the answers the server gives (2xx JSON, errors with
// their extra headers, HEAD, HTTP/1.0 and 1.1, keep-alive and close); and a real server's bytes
// on a raw socket are those of Beast's serializer.
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include "http/json_error.hpp"
#include "http/server.hpp"
#include "http/server_response.hpp"
#include "support/process.hpp"

using namespace hooklog::http;
using hooklog::test::raw_connection;
using namespace std::chrono_literals;

namespace {

// What Beast's serializer writes for the answer (the server's way before response_head).
std::string beast_bytes(const http_response& r, const response_framing& f) {
  auto m = beast_response(r, f);
  std::ostringstream out;
  out << m;
  return out.str();
}

// What the server writes now: response_head, then the body unless the request was HEAD.
std::optional<std::string> direct_bytes(const http_response& r, const response_framing& f) {
  std::string out;
  if (!response_head(r, f, out)) return std::nullopt;
  if (!f.head) out += r.body;
  return out;
}

std::vector<http_response> sample_answers() {
  std::vector<http_response> out;
  out.push_back(http_response::json(
      202, R"({"duplicate":false,"entity":{"id":"ord-1","kind":"order"},"id":"evt_1","seq":1})"));
  out.push_back(http_response::json(200, "{}"));
  out.push_back(http_response::json(201, std::string(70000, 'x')));
  out.push_back(http_response::text(200, "ok\n"));
  out.push_back(json_error(400, "bad_json", "the body is not JSON"));
  out.push_back(json_error(404, "not_found", "no route for /nope"));
  out.push_back(json_error(413, "payload_too_large", "request body is over the limit"));
  out.push_back(json_error(500, "internal", "the request handler did not answer"));
  auto storage = json_error(503, "storage_full", "the log cannot take writes now");
  storage.headers.emplace_back("Retry-After", "30");
  out.push_back(storage);
  auto not_allowed = json_error(405, "method_not_allowed", "method PUT is not allowed");
  not_allowed.headers.emplace_back("Allow", "GET, HEAD, POST");
  out.push_back(not_allowed);
  auto unauthorized = json_error(401, "unauthorized", "the API key is not valid");
  unauthorized.headers.emplace_back("WWW-Authenticate",
                                    "Bearer realm=\"hooklog\", error=\"invalid_token\"");
  out.push_back(unauthorized);
  http_response console{200, "text/html; charset=utf-8", "<!doctype html><title>x</title>", {}};
  console.headers = {{"Content-Security-Policy", "default-src 'self'"},
                     {"X-Content-Type-Options", "nosniff"},
                     {"Referrer-Policy", "no-referrer"},
                     {"X-Frame-Options", "DENY"},
                     {"ETag", "\"abc\""},
                     {"Cache-Control", "no-cache"}};
  out.push_back(console);
  http_response moved{308, "", "", {{"Location", "/console/"}}};
  out.push_back(moved);
  out.push_back(http_response{204, "", "", {}});
  out.push_back(http_response{304, "application/json", "", {{"etag", "\"v1\""}}});
  out.push_back(http_response{299, "application/json", "{}", {}});  // no reason Beast knows
  out.push_back(http_response{200, "application/json", "", {{"x-lower-case", "  padded\t "}}});
  return out;
}

}  // namespace

TEST_CASE("response head: the same bytes as Beast's serializer", "[server][response]") {
  int compared = 0;
  for (const auto& r : sample_answers())
    for (unsigned version : {10u, 11u})
      for (bool keep_alive : {true, false})
        for (bool head : {false, true})
          for (std::string_view server : {"hooklog", ""}) {
            const response_framing f{version, keep_alive, head, server};
            INFO("status " << r.status << " version " << version << " keep_alive " << keep_alive
                           << " head " << head << " server '" << server << "'");
            const auto direct = direct_bytes(r, f);
            REQUIRE(direct);
            CHECK(*direct == beast_bytes(r, f));
            ++compared;
          }
  CHECK(compared == 17 * 16);
  // One spelled out, so that a change in both would show.
  const response_framing f{11, false, false, "hooklog"};
  CHECK(*direct_bytes(http_response::json(202, "{}"), f) ==
        "HTTP/1.1 202 Accepted\r\nServer: hooklog\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nContent-Length: 2\r\n\r\n{}");
}

TEST_CASE("response head: answers Beast would rearrange are left to Beast", "[server][response]") {
  const response_framing f{11, true, false, "hooklog"};
  std::string out = "kept";
  http_response twice = http_response::json(200, "{}");
  twice.headers = {{"Link", "<a>"}, {"X-Other", "1"}, {"link", "<b>"}};
  CHECK_FALSE(response_head(twice, f, out));
  for (const char* name :
       {"Connection", "content-length", "Transfer-Encoding", "server", "Content-Type"}) {
    INFO(name);
    http_response r = http_response::json(200, "{}");
    r.headers.emplace_back(name, "x");
    CHECK_FALSE(response_head(r, f, out));
  }
  CHECK_FALSE(response_head(http_response{204, "", "body", {}}, f, out));
  CHECK(out == "kept");
  // Without a server name or a content type, those names are the answer's own.
  http_response own{200, "", "{}", {{"Server", "other"}, {"Content-Type", "text/plain"}}};
  const response_framing bare{11, true, false, ""};
  REQUIRE(direct_bytes(own, bare));
  CHECK(*direct_bytes(own, bare) == beast_bytes(own, bare));
}

TEST_CASE("server answers on the wire are Beast's bytes", "[server][response]") {
  // The answer is chosen by the path: /<index into sample_answers()>; /big is larger than the
  // socket's send buffer (written in part at once, the rest asynchronously).
  const auto answers = sample_answers();
  const http_response big = http_response::json(200, std::string(16 * 1024 * 1024, 'b'));
  server_options o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  http_server server(o, [&answers, &big](http_request&& req, responder res) {
    res(req.path == "/big" ? big : answers.at(std::stoul(req.path.substr(1))));
  });
  auto port = server.start();
  REQUIRE(port);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    INFO("answer " << i << " status " << answers[i].status);
    const std::string path = "/" + std::to_string(i);
    raw_connection c("127.0.0.1", *port);
    // Keep-alive GET and HEAD, then a GET that closes; and an HTTP/1.0 request on its own.
    REQUIRE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\nHEAD " + path +
                   " HTTP/1.1\r\nHost: x\r\n\r\nGET " + path +
                   " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const std::string expected = beast_bytes(answers[i], {11, true, false, "hooklog"}) +
                                 beast_bytes(answers[i], {11, true, true, "hooklog"}) +
                                 beast_bytes(answers[i], {11, false, false, "hooklog"});
    CHECK(c.read_until_close(5s) == expected);
    raw_connection old("127.0.0.1", *port);
    REQUIRE(old.send("GET " + path + " HTTP/1.0\r\n\r\n"));
    CHECK(old.read_until_close(5s) == beast_bytes(answers[i], {10, false, false, "hooklog"}));
  }
  raw_connection c("127.0.0.1", *port);
  REQUIRE(
      c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /0 HTTP/1.1\r\nConnection: close\r\n\r\n"));
  std::this_thread::sleep_for(200ms);  // let the server fill the socket before reading
  CHECK(c.read_until_close(10s) == beast_bytes(big, {11, true, false, "hooklog"}) +
                                       beast_bytes(answers[0], {11, false, false, "hooklog"}));
  server.stop(2s);
}
