// A session's I/O deadline (http/server_deadline.hpp) and the timeouts built on it: one timer per
// session re-armed per timeout period, not one wait per read or write, and the server's
// timeouts as before (a deadline bounds the I/O in flight, never a handler or a stream's
// producer).
#include <catch2/catch.hpp>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <thread>

#include "http/server.hpp"
#include "http/server_deadline.hpp"
#include "support/process.hpp"

using namespace hooklog::http;
using hooklog::http::detail::io_deadline;
using hooklog::test::raw_connection;
using namespace std::chrono_literals;
using sclock = std::chrono::steady_clock;

namespace {

// Runs `io` until `done` or `limit`, then returns how long that took.
template <class Done>
sclock::duration run_until(boost::asio::io_context& io, Done done, sclock::duration limit = 5s) {
  const auto t0 = sclock::now();
  while (!done() && sclock::now() - t0 < limit) {
    io.restart();
    io.run_for(5ms);
  }
  return sclock::now() - t0;
}

}  // namespace

TEST_CASE("io_deadline: a deadline moved per operation arms its timer once per period",
          "[server]") {
  boost::asio::io_context io;
  io_deadline d(io.get_executor());
  int expired = 0;
  // A keep-alive connection: each request sets the idle deadline, is read, handled (cleared),
  // answered. Beast's stream started and cancelled a timer wait for each read and write.
  for (int i = 0; i < 1000; ++i) {
    d.expires_after(60s, [&] { ++expired; });
    d.expires_after(30s, [&] { ++expired; });  // the read deadline: shorter than the idle one
    d.clear();
  }
  CHECK(d.arms() == 2);  // the first idle deadline, then the first (shorter) read deadline
  io.run_for(20ms);
  CHECK(expired == 0);
  d.cancel();
  io.run_for(20ms);
  CHECK(expired == 0);
}

TEST_CASE("io_deadline: expires at the deadline, also after a later one moved it", "[server]") {
  boost::asio::io_context io;
  io_deadline d(io.get_executor());
  std::atomic<int> expired{0};
  auto on_expiry = [&] { ++expired; };

  SECTION("a deadline that passes runs on_expiry once") {
    d.expires_after(50ms, on_expiry);
    const auto took = run_until(io, [&] { return expired > 0; });
    CHECK(expired == 1);
    CHECK(took >= 45ms);
    CHECK(took < 2s);
    CHECK_FALSE(d.deadline());
    io.restart();
    io.run_for(100ms);
    CHECK(expired == 1);
  }
  SECTION("a later deadline: the timer fires at the first, waits again, expires at the second") {
    d.expires_after(50ms, on_expiry);
    d.expires_after(250ms, on_expiry);
    CHECK(d.arms() == 1);
    const auto took = run_until(io, [&] { return expired > 0; });
    CHECK(expired == 1);
    CHECK(took >= 240ms);
    CHECK(took < 2s);
    CHECK(d.arms() == 2);
  }
  SECTION("an earlier deadline re-arms the timer") {
    d.expires_after(10s, on_expiry);
    d.expires_after(50ms, on_expiry);
    CHECK(d.arms() == 2);
    const auto took = run_until(io, [&] { return expired > 0; });
    CHECK(expired == 1);
    CHECK(took < 2s);
  }
  SECTION("cleared before it passes: nothing expires, and the timer does not wait again") {
    d.expires_after(50ms, on_expiry);
    d.clear();
    io.run_for(150ms);
    CHECK(expired == 0);
    CHECK(d.arms() == 1);
  }
  SECTION("cancel frees what on_expiry holds") {
    auto held = std::make_shared<int>(7);
    d.expires_after(10s, [held, &expired] { ++expired; });
    CHECK(held.use_count() == 2);
    d.cancel();
    io.run_for(20ms);
    CHECK(held.use_count() == 1);
    CHECK(expired == 0);
  }
}

namespace {

struct deadline_server {
  http_server server;
  unsigned short port = 0;
  std::thread later;

  explicit deadline_server(server_options o)
      : server(std::move(o),
               [this](http_request&& req, responder r) { handle(std::move(req), r); }) {
    auto p = server.start();
    REQUIRE(p);
    port = *p;
  }
  ~deadline_server() {
    server.stop(2s);
    if (later.joinable()) later.join();
  }
  static server_options options() {
    server_options o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    o.read_timeout = o.idle_timeout = o.write_timeout = 1s;
    return o;
  }
  void handle(http_request&& req, responder r) {
    if (req.path == "/late") {  // answered after the read and idle timeouts passed
      later = std::thread([r] {
        std::this_thread::sleep_for(1500ms);
        r(http_response::text(200, "late answer"));
      });
      return;
    }
    if (req.path == "/slow-chunks") {  // each chunk takes longer than the write timeout
      auto n = std::make_shared<int>(0);
      return r.stream({200, "text/plain", {}, [n](std::string& chunk) {
                         std::this_thread::sleep_for(1300ms);
                         chunk = "chunk " + std::to_string(++*n) + "\n";
                         return *n < 2;
                       }});
    }
    if (req.path == "/endless") {  // more than any socket buffer holds
      return r.stream({200, "text/plain", {}, [](std::string& chunk) {
                         chunk.assign(256 * 1024, 'x');
                         return true;
                       }});
    }
    r(http_response::text(404, "no route"));
  }
};

}  // namespace

TEST_CASE("a handler or a stream's producer slower than the timeouts is not cut by them",
          "[server]") {
  deadline_server ts(deadline_server::options());
  raw_connection late("127.0.0.1", ts.port);
  REQUIRE(late.send("GET /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string got = late.read_until_close(5s);
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(got.find("late answer") != std::string::npos);

  raw_connection slow("127.0.0.1", ts.port);
  REQUIRE(slow.send("GET /slow-chunks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string chunks = slow.read_until_close(8s);
  CHECK(chunks.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(chunks.find("chunk 1\n") != std::string::npos);
  CHECK(chunks.find("chunk 2\n") != std::string::npos);
}

TEST_CASE("a client that stops reading a stream is closed after the write timeout", "[server]") {
  deadline_server ts(deadline_server::options());
  const auto t0 = sclock::now();  // before the request: every write of the answer starts later
  raw_connection stuck("127.0.0.1", ts.port);
  while (ts.server.connections() == 0 && sclock::now() - t0 < 5s)  // accepted
    std::this_thread::sleep_for(5ms);
  REQUIRE(ts.server.connections() == 1);
  REQUIRE(stuck.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Never read: the server's write waits until the write timeout, then the session closes.
  while (ts.server.connections() != 0 && sclock::now() - t0 < 10s)
    std::this_thread::sleep_for(20ms);
  CHECK(ts.server.connections() == 0);
  CHECK(sclock::now() - t0 >= 900ms);
}
