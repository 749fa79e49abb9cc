#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "http/delivery/client.hpp"
#include "http/json_error.hpp"
#include "http/server.hpp"
#include "http/server_core.hpp"
#include "support/process.hpp"

using namespace hooklog::http;
using hooklog::test::raw_connection;
using namespace std::chrono_literals;

namespace {

// Answers from a separate thread, like ingest answering after a group commit.
class async_answerer {
 public:
  ~async_answerer() { join(); }
  void later(std::chrono::milliseconds delay, responder r, http_response res) {
    std::lock_guard lk(mu_);
    threads_.emplace_back([delay, r, res = std::move(res)]() mutable {
      std::this_thread::sleep_for(delay);
      r(std::move(res));
    });
  }
  void join() {
    std::vector<std::thread> ts;
    {
      std::lock_guard lk(mu_);
      ts.swap(threads_);
    }
    for (auto& t : ts) t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

struct test_server {
  async_answerer answerer;
  std::atomic<int> requests{0};
  http_server server;
  unsigned short port = 0;

  explicit test_server(server_options o = make_options())
      : server(std::move(o), [this](http_request&& req, responder r) { handle(std::move(req), r); }) {
    auto p = server.start();
    REQUIRE(p);
    port = *p;
  }
  ~test_server() {
    server.stop(2s);
    answerer.join();
  }

  static server_options make_options() {
    server_options o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    o.read_timeout = 1s;
    o.idle_timeout = 2s;
    return o;
  }

  void handle(http_request&& req, responder r) {
    ++requests;
    if (req.path == "/echo") {
      nlohmann::json j = {{"method", req.method},
                          {"path", req.path},
                          {"target", req.target},
                          {"body", req.body},
                          {"remote", req.remote},
                          {"x_test", std::string(req.header("x-test").value_or(""))},
                          {"q", std::string(req.query_param("q").value_or(""))}};
      return r(http_response::json(200, j.dump()));
    }
    if (req.path == "/async") return answerer.later(50ms, r, http_response::text(202, "later"));
    if (req.path == "/slow") return answerer.later(700ms, r, http_response::text(200, "slow done"));
    if (req.path == "/drop") return;  // responder dropped unanswered -> 500
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/stream") {
      auto n = std::make_shared<int>(0);
      int total = std::stoi(std::string(req.query_param("n").value_or("1000")));
      return r.stream({200, "application/x-ndjson", {}, [n, total](std::string& chunk) {
                         for (int i = 0; i < 10 && *n < total; ++i, ++*n)
                           chunk += "{\"i\":" + std::to_string(*n) + "}\n";
                         return *n < total;
                       }});
    }
    r(json_error(404, "not_found", "no route"));
  }
};

nlohmann::json error_of(const std::string& raw_response) {
  auto pos = raw_response.find("\r\n\r\n");
  if (pos == std::string::npos) return {};
  return nlohmann::json::parse(raw_response.substr(pos + 4), nullptr, false);
}

}  // namespace

TEST_CASE("server answers, decodes query and headers", "[server]") {
  test_server ts;
  http_client c("127.0.0.1", ts.port);
  auto r = c.request("POST", "/echo?q=a%20b&x=1", "hello", {{"X-Test", "yes"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  auto j = nlohmann::json::parse(r->body);
  CHECK(j["method"] == "POST");
  CHECK(j["path"] == "/echo");
  CHECK(j["q"] == "a b");
  CHECK(j["body"] == "hello");
  CHECK(j["x_test"] == "yes");
  CHECK(j["remote"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  auto nf = c.get("/nope");
  REQUIRE(nf);
  CHECK(nf->status == 404);
  CHECK(nlohmann::json::parse(nf->body)["error"]["code"] == "not_found");
}

TEST_CASE("async handler completed from another thread, keep-alive reuse", "[server]") {
  test_server ts;
  http_client c("127.0.0.1", ts.port);
  for (int i = 0; i < 5; ++i) {
    auto r = c.get(i % 2 ? "/async" : "/echo");
    REQUIRE(r);
    CHECK(r->status == (i % 2 ? 202u : 200u));
  }
  CHECK(c.connections_opened() == 1);
  CHECK(ts.requests == 5);
}

TEST_CASE("dropped responder and throwing handler give 500", "[server]") {
  test_server ts;
  http_client c("127.0.0.1", ts.port);
  auto r = c.get("/drop");
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(nlohmann::json::parse(r->body)["error"]["code"] == "internal");
  r = c.get("/throw");
  REQUIRE(r);
  CHECK(r->status == 500);
  r = c.get("/echo");  // connection still usable
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("body over the limit gives 413 JSON and close", "[server]") {
  test_server ts;
  http_client c("127.0.0.1", ts.port);
  std::string big(2 * 1024 * 1024, 'x');
  auto r = c.post("/echo", big);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(nlohmann::json::parse(r->body)["error"]["code"] == "payload_too_large");
  CHECK(r->header("connection") == std::optional<std::string_view>("close"));
  CHECK(ts.requests == 0);
  // Chunked body over the limit, too.
  raw_connection raw("127.0.0.1", ts.port);
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw.send(req);
  std::string chunk(64 * 1024, 'y');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 20; ++i)
    if (!raw.send(size_line + chunk + "\r\n")) break;
  auto got = raw.read_until_close(3s);
  CHECK(got.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("malformed request line gives 400 JSON", "[server]") {
  test_server ts;
  raw_connection raw("127.0.0.1", ts.port);
  raw.send("GARBAGE\x01 / HTTP/1.1\r\n\r\n");
  bool closed = false;
  auto got = raw.read_until_close(3s, &closed);
  CHECK(got.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(error_of(got)["error"]["code"] == "bad_request");
  CHECK(closed);
}

TEST_CASE("header over the limit gives 431", "[server]") {
  test_server ts;
  raw_connection raw("127.0.0.1", ts.port);
  raw.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
  auto got = raw.read_until_close(3s);
  CHECK(got.rfind("HTTP/1.1 431", 0) == 0);
  CHECK(error_of(got)["error"]["code"] == "header_too_large");
}

TEST_CASE("silent and stalled connections time out while others are served", "[server]") {
  test_server ts;  // read_timeout 1 s
  raw_connection silent("127.0.0.1", ts.port);
  raw_connection halfway("127.0.0.1", ts.port);
  halfway.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  auto t0 = std::chrono::steady_clock::now();
  http_client c("127.0.0.1", ts.port);
  for (int i = 0; i < 3; ++i) {
    auto r = c.get("/echo");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(silent.closed_within(4s));
  CHECK(halfway.closed_within(4s));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= 900ms);
  CHECK(elapsed < 4s);
  CHECK(ts.requests == 3);
}

TEST_CASE("idle keep-alive connection is closed after idle_timeout, client reconnects", "[server]") {
  test_server ts;  // idle_timeout 2 s
  http_client c("127.0.0.1", ts.port);
  REQUIRE(c.get("/echo"));
  std::this_thread::sleep_for(2500ms);
  auto r = c.get("/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(c.connections_opened() == 2);
}

TEST_CASE("pipelined requests are answered in order", "[server]") {
  test_server ts;
  raw_connection raw("127.0.0.1", ts.port);
  raw.send("GET /async HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?q=second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto got = raw.read_until_close(3s);
  auto first = got.find("HTTP/1.1 202");
  auto second = got.find("HTTP/1.1 200");
  CHECK(first == 0);
  CHECK(second != std::string::npos);
  CHECK(got.find("second") != std::string::npos);
}

TEST_CASE("streaming response of many chunks", "[server]") {
  test_server ts;
  http_client c("127.0.0.1", ts.port);
  auto r = c.get("/stream?n=20000");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("transfer-encoding") == std::optional<std::string_view>("chunked"));
  CHECK(r->header("content-type") == std::optional<std::string_view>("application/x-ndjson"));
  std::size_t lines = std::count(r->body.begin(), r->body.end(), '\n');
  CHECK(lines == 20000);
  CHECK(r->body.rfind("{\"i\":19999}\n") == r->body.size() - 12);
  // The connection stays usable after the last chunk.
  auto again = c.get("/stream?n=3");
  REQUIRE(again);
  CHECK(again->body == "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
  CHECK(c.connections_opened() == 1);
}

TEST_CASE("graceful stop finishes an in-flight slow request", "[server]") {
  auto ts = std::make_unique<test_server>();
  auto fut = std::async(std::launch::async, [port = ts->port] {
    http_client c("127.0.0.1", port);
    return c.get("/slow");
  });
  raw_connection idle("127.0.0.1", ts->port);  // idle keep-alive: closed at once by stop
  std::this_thread::sleep_for(200ms);
  auto t0 = std::chrono::steady_clock::now();
  ts->server.stop(5s);
  auto took = std::chrono::steady_clock::now() - t0;
  auto r = fut.get();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "slow done");
  CHECK(r->header("connection") == std::optional<std::string_view>("close"));
  CHECK(took < 3s);
  CHECK(idle.closed_within(1s));
  // New connections are refused after stop.
  CHECK_THROWS(raw_connection("127.0.0.1", ts->port));
}

TEST_CASE("connections over max_connections are refused", "[server]") {
  auto o = test_server::make_options();
  o.max_connections = 2;
  test_server ts(o);
  raw_connection a("127.0.0.1", ts.port), b("127.0.0.1", ts.port);
  std::this_thread::sleep_for(200ms);
  CHECK(ts.server.connections() == 2);
  raw_connection extra("127.0.0.1", ts.port);
  CHECK(extra.closed_within(1s));
  a.close();
  b.close();
  std::this_thread::sleep_for(200ms);
  http_client c("127.0.0.1", ts.port);
  auto r = c.get("/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("bad listen addresses are errors", "[server]") {
  for (const char* l : {"nonsense", "127.0.0.1:99999", "[::1:80", "999.1.1.1:0"}) {
    server_options o;
    o.listen = l;
    http_server s(o, [](http_request&&, responder r) { r(http_response{}); });
    CHECK_FALSE(s.start());
  }
}

TEST_CASE("IPv6 loopback", "[server]") {
  auto o = test_server::make_options();
  o.listen = "[::1]:0";
  server_options probe = o;
  http_server s(probe, [](http_request&& req, responder r) { r(http_response::text(200, req.remote)); });
  auto p = s.start();
  if (!p) {
    WARN("no IPv6 loopback here: " << p.err().what());
    return;
  }
  CHECK(s.local_address() == "[::1]:" + std::to_string(*p));
  http_client c("::1", *p);
  auto r = c.get("/");
  REQUIRE(r);
  CHECK(r->body.rfind("[::1]:", 0) == 0);
}

// A self-signed certificate for localhost in `dir`: {cert.pem, key.pem}.
std::pair<std::string, std::string> localhost_cert(const hooklog::test::temp_dir& dir) {
  auto cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  hooklog::test::child_process openssl(
      "/usr/bin/openssl",
      {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
       "subjectAltName=DNS:localhost"});
  auto st = openssl.wait_exit(30s);
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  REQUIRE(WEXITSTATUS(*st) == 0);
  return {cert, key};
}

TEST_CASE("TLS server and verifying client", "[server][tls]") {
  hooklog::test::temp_dir dir;
  const auto [cert, key] = localhost_cert(dir);
  auto o = test_server::make_options();
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  test_server ts(o);

  client_options co;
  co.tls = true;
  co.ca_file = cert;
  http_client good("localhost", ts.port, co);
  auto r = good.get("/echo?q=tls");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(nlohmann::json::parse(r->body)["q"] == "tls");
  r = good.get("/stream?n=100");
  REQUIRE(r);
  CHECK(std::count(r->body.begin(), r->body.end(), '\n') == 100);
  CHECK(good.connections_opened() == 1);
  // A body over the limit: the 413 arrives over TLS too (the server drains what follows).
  r = good.post("/echo", std::string(8 * 1024 * 1024, 'x'));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(nlohmann::json::parse(r->body)["error"]["details"]["limit"] == 1024 * 1024);

  // Untrusted certificate: refused.
  client_options untrusted;
  untrusted.tls = true;
  http_client bad("localhost", ts.port, untrusted);
  CHECK_FALSE(bad.get("/echo"));
  // Wrong host name (IP not in the certificate's SAN): refused.
  http_client wrong_name("127.0.0.1", ts.port, co);
  CHECK_FALSE(wrong_name.get("/echo"));
}

TEST_CASE("TLS: the first-byte timeout covers the handshake and the first byte together",
          "[server][tls]") {
  // The deadline armed at accept was armed again after the handshake: a client that handshook
  // just before it had the whole timeout once more (5.5 s for a 3 s timeout). Here: a handshake
  // 1.8 s into a 3 s timeout, then silence.
  hooklog::test::temp_dir dir;
  const auto [cert, key] = localhost_cert(dir);
  auto o = test_server::make_options();
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  o.first_byte_timeout = 3s;
  o.read_timeout = 30s;
  test_server ts(o);
  namespace ssl = boost::asio::ssl;
  boost::asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);  // the server's deadline is what is tested here
  ssl::stream<boost::asio::ip::tcp::socket> tls(ioc, ctx);
  const auto t0 = std::chrono::steady_clock::now();
  tls.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), ts.port});
  std::this_thread::sleep_for(1800ms);
  boost::system::error_code ec;
  tls.handshake(ssl::stream_base::client, ec);
  REQUIRE_FALSE(ec);
  char byte;
  tls.read_some(boost::asio::buffer(&byte, 1), ec);  // nothing sent: ends when the server closes
  const auto closed_after = std::chrono::steady_clock::now() - t0;
  CHECK(ec);
  CHECK(closed_after < 4200ms);  // 3 s from the accept, not 1.8 + 3
  CHECK(closed_after > 2500ms);
}

// Answers from a thread that runs no io_context go through the core's answer_relay (one post per
// burst, server_core.hpp): a burst of answers given back to back from one thread, as the log
// writer answers a commit group, must each reach its own connection, and a second burst on the
// same connections (after the first drain ended) must be delivered too.
TEST_CASE("a burst of answers from another thread reaches each its own connection, twice", "[server]") {
  constexpr int kConnections = 32;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, responder>> held;
  server_options o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  http_server server(o, [&](http_request&& req, responder r) {
    std::lock_guard lk(mu);
    held.emplace_back(std::string(req.query_param("i").value_or("?")), std::move(r));
    cv.notify_all();
  });
  auto port = server.start();
  REQUIRE(port);
  std::vector<std::unique_ptr<raw_connection>> conns;
  for (int i = 0; i < kConnections; ++i)
    conns.push_back(std::make_unique<raw_connection>("127.0.0.1", *port));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kConnections; ++i)
      REQUIRE(conns[i]->send("GET /held?i=" + std::to_string(round) + "-" + std::to_string(i) +
                             " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::vector<std::pair<std::string, responder>> burst;
    {
      std::unique_lock lk(mu);
      REQUIRE(cv.wait_for(lk, 5s, [&] { return held.size() == kConnections; }));
      burst.swap(held);
    }
    std::thread answerer([&] {
      for (auto& [id, r] : burst) r(http_response::text(200, "answer " + id + "."));
    });
    answerer.join();
    for (int i = 0; i < kConnections; ++i) {
      const std::string want = "answer " + std::to_string(round) + "-" + std::to_string(i) + ".";
      const std::string got = conns[i]->read_until(want, 3s);
      CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
      CHECK(got.find(want) != std::string::npos);
    }
  }
  server.stop(2s);
}

namespace {
// A session that records the answers relayed to it (answer_relay's unit test).
struct recording_session : hooklog::http::detail::session_base {
  std::vector<std::string>* seen = nullptr;
  std::function<void()> on_first;  // run inside the first answer (a relay from within a drain)
  void deliver(hooklog::http::detail::answer&&, std::shared_ptr<void>&&) override {}
  void close_if_idle() override {}
  void force_close() override {}
  void release() override {}
  void answer_relayed(hooklog::http::detail::answer&& a, std::shared_ptr<void>&&) override {
    seen->push_back(std::get<http_response>(a).body);
    if (on_first) std::exchange(on_first, nullptr)();
  }
};
}  // namespace

TEST_CASE("answer_relay: one drain per burst (two at its end), in order, answers relayed meanwhile join it", "[server]") {
  using hooklog::http::detail::answer_relay;
  answer_relay relay;
  std::vector<std::string> seen;
  auto s = std::make_shared<recording_session>();
  s->seen = &seen;
  auto item = [&](std::string body) {
    return answer_relay::item{s, http_response::text(200, std::move(body)), nullptr};
  };
  CHECK(relay.push(item("a")));        // the first of a burst: the caller posts a drain
  CHECK_FALSE(relay.second_drain());   // one answer waits: one drain is enough
  CHECK_FALSE(relay.push(item("b")));  // a drain is queued: rides along
  CHECK(relay.second_drain());         // two wait: a second drain
  CHECK_FALSE(relay.second_drain());   // never a third
  s->on_first = [&] { CHECK_FALSE(relay.push(item("c"))); };  // relayed while a drain runs
  CHECK(relay.drain() == 3);
  CHECK(seen == std::vector<std::string>{"a", "b", "c"});
  CHECK_FALSE(relay.push(item("d")));  // the second drain is still posted: rides along
  CHECK(relay.drain() == 1);           // the second drain
  CHECK(relay.push(item("e")));        // both drains ended: the next answer posts again
  relay.clear();
  CHECK(relay.push(item("f")));        // cleared: the posted drain is forgotten
  CHECK(relay.drain() == 1);
  CHECK(seen == std::vector<std::string>{"a", "b", "c", "d", "f"});
  CHECK(s.use_count() == 1);  // after the drains the relay holds no session
}
