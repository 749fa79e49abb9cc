// The HTTP server's framing and abuse limits, in process: obs-fold and Transfer-Encoding refusals
// (RFC 9112), per-route body limits with Expect: 100-continue, the lingering close after a 413,
// and the per-client connection limit. Raw sockets, so each byte on the wire is the test's.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "http/delivery/client.hpp"
#include "http/json_error.hpp"
#include "http/request_head.hpp"
#include "http/server.hpp"
#include "support/process.hpp"

using namespace hooklog::http;
using hooklog::test::raw_connection;
using namespace std::chrono_literals;

namespace {

// Echoes the body's size; "/big" accepts bodies up to 4 MiB, every other path 64 KiB.
struct framing_server {
  http_server server;
  unsigned short port = 0;

  explicit framing_server(server_options o = options())
      : server(std::move(o), [](http_request&& req, responder r) {
          r(http_response::json(
              200, nlohmann::json{{"path", req.path}, {"size", req.body.size()}}.dump()));
        }) {
    auto p = server.start();
    REQUIRE(p);
    port = *p;
  }
  ~framing_server() { server.stop(2s); }

  static server_options options() {
    server_options o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    o.body_limit = 64 * 1024;
    o.body_limit_for = [](std::string_view method, std::string_view target) -> std::size_t {
      return method == "POST" && target.substr(0, 4) == "/big" ? 4 * 1024 * 1024 : 0;
    };
    return o;
  }
};

std::string status_line(const std::string& reply) {
  return reply.substr(0, reply.find("\r\n"));
}

nlohmann::json error_of(const std::string& reply) {
  auto pos = reply.find("\r\n\r\n");
  if (pos == std::string::npos) return {};
  return nlohmann::json::parse(reply.substr(pos + 4), nullptr, false)["error"];
}

// Sends `bytes` on a fresh connection and reads the answer until the server closes.
std::string send_and_read(unsigned short port, const std::string& bytes) {
  raw_connection c("127.0.0.1", port);
  c.send(bytes);
  return c.read_until_close(3s);
}

}  // namespace

TEST_CASE("obs-fold header lines are refused with 400", "[server][framing]") {
  framing_server ts;
  for (const char* fold : {"\r\n continued", "\r\n\tcontinued"}) {
    const std::string reply =
        send_and_read(ts.port, std::string("GET /echo HTTP/1.1\r\nHost: x\r\nX-Test: first") +
                                   fold + "\r\nAccept: */*\r\n\r\n");
    INFO(reply);
    CHECK(status_line(reply) == "HTTP/1.1 400 Bad Request");
    auto e = error_of(reply);
    CHECK(e["code"] == "bad_request");
    CHECK(e["message"].get<std::string>().find(
              "'X-Test' is continued on the next line (obs-fold)") != std::string::npos);
    CHECK(e["details"]["header"] == "X-Test");
  }
  // A value with inner spaces and tabs is no fold.
  const std::string ok = send_and_read(
      ts.port, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Test: a \t b\r\nConnection: close\r\n\r\n");
  CHECK(status_line(ok) == "HTTP/1.1 200 OK");
}

TEST_CASE("Transfer-Encoding other than chunked, or with Content-Length, is refused with 400",
          "[server][framing]") {
  framing_server ts;
  struct bad_case {
    std::string fields;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {"Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
       "Transfer-Encoding 'xchunked' is not supported: only 'chunked' is accepted"},
      {"Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n",
       "Transfer-Encoding 'xchunked' is not supported: only 'chunked' is accepted"},
      {"Transfer-Encoding: gzip, chunked\r\n",
       "Transfer-Encoding 'gzip, chunked' is not supported: only 'chunked' is accepted"},
      {"Transfer-Encoding: identity\r\nContent-Length: 5\r\n",
       "Transfer-Encoding 'identity' is not supported"},
      {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
       "a request may not carry both Transfer-Encoding and Content-Length"},
      {"Content-Length: 5\r\ntransfer-encoding: Chunked\r\n",
       "a request may not carry both Transfer-Encoding and Content-Length"},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
       "Transfer-Encoding appears more than once"},
  };
  for (const auto& bc : cases) {
    const std::string reply = send_and_read(
        ts.port, "POST /echo HTTP/1.1\r\nHost: x\r\n" + bc.fields + "\r\n5\r\nhello\r\n0\r\n\r\n");
    INFO(bc.fields << " -> " << reply);
    CHECK(status_line(reply) == "HTTP/1.1 400 Bad Request");
    auto e = error_of(reply);
    CHECK(e["code"] == "bad_request");
    CHECK(e["message"].get<std::string>().find(bc.message) != std::string::npos);
    CHECK(e["message"].get<std::string>().find("RFC 9112 section 6.1") != std::string::npos);
    CHECK(e["details"]["header"] == "Transfer-Encoding");
  }
  // Exactly "chunked" (any case) is served.
  const std::string ok =
      send_and_read(ts.port,
                    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n"
                    "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  CHECK(status_line(ok) == "HTTP/1.1 200 OK");
  CHECK(ok.find("\"size\":5") != std::string::npos);
}

TEST_CASE("an Idempotency-Key given twice is refused with 400", "[server][framing]") {
  // The server would go by the first; a proxy or the client's retry logic could go by another.
  framing_server ts;
  const std::string reply =
      send_and_read(ts.port,
                    "POST /echo HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\r\n"
                    "idempotency-key: b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  INFO(reply);
  CHECK(status_line(reply) == "HTTP/1.1 400 Bad Request");
  auto e = error_of(reply);
  CHECK(e["code"] == "bad_request");
  CHECK(e["details"]["header"] == "Idempotency-Key");
  CHECK(e["message"].get<std::string>().rfind("Idempotency-Key appears more than once", 0) == 0);
  const std::string once = send_and_read(ts.port,
                                         "POST /echo HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\r\n"
                                         "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
  CHECK(status_line(once) == "HTTP/1.1 200 OK");
}

TEST_CASE("request head helpers", "[server][framing]") {
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody") == 27);
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: x\r\n") == std::string_view::npos);
  CHECK(find_head_end("GET / HTTP/1.1\nHost: x\n\n") == 24);
  CHECK_FALSE(check_request_head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(describe_size(16 * 1024 * 1024) == "16777216 bytes (16 MiB)");
  CHECK(describe_size(65536) == "65536 bytes (64 KiB)");
  CHECK(describe_size(100000) == "100000 bytes");
}

TEST_CASE("body limits are per route, 413 names the limit, before 100 Continue",
          "[server][framing]") {
  framing_server ts;
  {  // Over the route's limit with Expect: 413 at once, no 100 Continue, no body read.
    raw_connection c("127.0.0.1", ts.port);
    c.send(
        "POST /big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n");
    const std::string reply = c.read_until_close(3s);
    INFO(reply);
    CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
    CHECK(reply.find("100 Continue") == std::string::npos);
    auto e = error_of(reply);
    CHECK(e["code"] == "payload_too_large");
    CHECK(e["message"] ==
          "request body of 5000000 bytes is over the limit of 4194304 bytes (4 MiB) for POST /big");
    CHECK(e["details"]["limit"] == 4194304);
    CHECK(e["details"]["size"] == 5000000);
  }
  {  // Within the route's limit (over the default): 100 Continue, then served.
    raw_connection c("127.0.0.1", ts.port);
    c.send(
        "POST /big?x=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n"
        "Connection: close\r\n\r\n");
    CHECK(c.read_until("\r\n\r\n", 3s) == "HTTP/1.1 100 Continue\r\n\r\n");
    REQUIRE(c.send(std::string(1000000, 'b')));
    const std::string reply = c.read_until_close(3s);
    CHECK(status_line(reply) == "HTTP/1.1 200 OK");
    CHECK(reply.find("\"size\":1000000") != std::string::npos);
  }
  {  // Other routes keep the default; a chunked body trips it mid-body (no size known).
    raw_connection c("127.0.0.1", ts.port);
    std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(16 * 1024, 'y');
    for (int i = 0; i < 8; ++i) req += "4000\r\n" + chunk + "\r\n";
    REQUIRE(c.send(req));
    const std::string reply = c.read_until_close(3s);
    CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
    auto e = error_of(reply);
    CHECK(e["message"] == "request body is over the limit of 65536 bytes (64 KiB) for POST /echo");
    CHECK(e["details"]["limit"] == 65536);
    CHECK_FALSE(e["details"].contains("size"));
  }
}

TEST_CASE("a client that writes a 30 MB body before reading gets the whole 413, not a reset",
          "[server][framing]") {
  framing_server ts;
  raw_connection c("127.0.0.1", ts.port);
  const std::size_t size = 30 * 1000 * 1000;
  // Written in one go without reading: the server answers after the head, then keeps reading
  // and discarding (lingering close) so that this write completes.
  const bool sent =
      c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
             "\r\n\r\n" + std::string(size, 'z'));
  CHECK(sent);
  bool closed = false;
  const std::string reply = c.read_until_close(5s, &closed);
  INFO(reply.substr(0, 300));
  CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
  CHECK(reply.find("Connection: close\r\n") != std::string::npos);
  auto e = error_of(reply);
  CHECK(e["code"] == "payload_too_large");
  CHECK(e["message"] ==
        "request body of 30000000 bytes is over the limit of 65536 bytes (64 KiB) for POST /echo");
  CHECK(closed);
}

TEST_CASE("connections per client address are limited, other addresses are still served",
          "[server][framing]") {
  auto o = framing_server::options();
  o.max_connections = 12;
  o.max_connections_per_client = 4;
  framing_server ts(o);
  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 12; ++i)
    flood.push_back(std::make_unique<raw_connection>("127.0.0.1", ts.port));
  // A probe from the same address is refused with 429; once it is, every earlier connection
  // has been accepted or refused (one acceptor, in order).
  raw_connection probe("127.0.0.1", ts.port);
  const std::string refused = probe.read_until_close(3s);
  CHECK(status_line(refused) == "HTTP/1.1 429 Too Many Requests");
  CHECK(error_of(refused)["code"] == "too_many_connections");
  CHECK(error_of(refused)["message"] ==
        "this client address has its maximum of 4 open connections: reuse them (keep-alive) or "
        "close some");
  int answered_429 = 0;
  for (std::size_t i = 4; i < flood.size(); ++i)
    if (status_line(flood[i]->read_until_close(1s)) == "HTTP/1.1 429 Too Many Requests")
      ++answered_429;
  CHECK(answered_429 == 8);
  CHECK(ts.server.connections() == 4);
  // Another client address is served meanwhile (without the per-client limit, the flood
  // would have filled max_connections).
  raw_connection other("127.0.0.1", ts.port, "127.0.0.2");
  other.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(status_line(other.read_until_close(3s)) == "HTTP/1.1 200 OK");
  // The flooder's accepted connections still work; closing them frees its quota.
  flood[0]->send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(status_line(flood[0]->read_until_close(3s)) == "HTTP/1.1 200 OK");
  flood.clear();
  http_client again("127.0.0.1", ts.port);
  hooklog::result<client_response> r = again.get("/echo");
  for (int i = 0; i < 50 && (!r || r->status == 429);
       ++i) {  // the closes may take a moment to land
    std::this_thread::sleep_for(20ms);
    again.close();
    r = again.get("/echo");
  }
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a new connection that sends nothing is closed after first_byte_timeout",
          "[server][framing]") {
  auto o = framing_server::options();
  o.first_byte_timeout = 1s;
  o.read_timeout = 30s;
  framing_server ts(o);
  raw_connection silent("127.0.0.1", ts.port);
  CHECK(silent.closed_within(10s));  // 30 s before: first bytes had the whole read timeout
  // A started request is not cut by it: the read timeout applies from the first byte.
  raw_connection slow("127.0.0.1", ts.port);
  slow.send("GET /echo HTTP/1.1\r\n");
  std::this_thread::sleep_for(1500ms);
  slow.send("Host: x\r\nConnection: close\r\n\r\n");
  CHECK(status_line(slow.read_until_close(3s)) == "HTTP/1.1 200 OK");
}

TEST_CASE("a chunk header or trailer section longer than the header limit is refused with 400",
          "[server][framing][limits]") {
  framing_server ts;  // header_limit: the default 16 KiB
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string expected =
      "malformed request: a chunk header or the trailer section of POST /echo exceeds 16384 bytes";
  // Before, Beast looked for the end of a chunk-size line or of the trailer with no bound, and
  // the session's buffer grew with whatever the client sent until the read deadline.
  for (const std::string& endless :
       {std::string("1;a=") + std::string(64 * 1024, 'b'),                      // chunk extension
        std::string("5\r\nhello\r\n0\r\nX-T: ") + std::string(64 * 1024, 'a')}) {  // trailer
    const std::string reply = send_and_read(ts.port, head + endless);
    INFO(reply.substr(0, 300));
    CHECK(status_line(reply) == "HTTP/1.1 400 Bad Request");
    auto e = error_of(reply);
    CHECK(e["code"] == "bad_request");
    CHECK(e["message"] == expected);
    CHECK(e["details"]["limit"] == 16384);
  }
  // Extensions and trailers within the bound are read as before.
  const std::string ok =
      send_and_read(ts.port, head + "5;name=value\r\nhello\r\n0\r\nX-T: 1\r\nConnection: close\r\n\r\n");
  CHECK(status_line(ok) == "HTTP/1.1 200 OK");
  CHECK(ok.find("\"size\":5") != std::string::npos);
}

TEST_CASE("trailer fields of a chunked request are not taken as its headers", "[server][framing]") {
  // Echoes the names of the request's headers.
  server_options o = framing_server::options();
  http_server server(std::move(o), [](http_request&& req, responder r) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, value] : req.headers) names.push_back(name);
    r(http_response::json(200, nlohmann::json{{"headers", names}, {"body", req.body}}.dump()));
  });
  auto port = server.start();
  REQUIRE(port);
  const std::string reply = send_and_read(
      *port,
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n0\r\nAuthorization: Bearer smuggled\r\nIdempotency-Key: from-trailer\r\n\r\n");
  server.stop(2s);
  INFO(reply);
  REQUIRE(status_line(reply) == "HTTP/1.1 200 OK");
  const auto j = nlohmann::json::parse(reply.substr(reply.find("\r\n\r\n") + 4));
  CHECK(j["headers"] == nlohmann::json{"Host", "Transfer-Encoding", "Connection"});
  CHECK(j["body"] == "hello");
}
