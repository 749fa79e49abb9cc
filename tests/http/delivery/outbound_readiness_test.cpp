// The outbound client reads a plain connection's answers when the socket is readable (one
// wait pending per connection, armed before each request is written and before each read;
// http/delivery/outbound.cpp): an answer in pieces, an answer that comes while the request is
// still being written, the peer's close, half-close or unsolicited bytes while the connection is
// idle, and a stop while an answer is awaited, with one I/O thread and with two (a strand).
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"

using namespace hooklog;
using hooklog::test::deliver_sync;
using hooklog::test::read_body;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Waits (at most 5 s) until the client holds no open connection: it saw the peer's close.
bool all_closed(const http::outbound_client& c) {
  for (int i = 0; i < 500; ++i) {
    if (c.stats().open_connections == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("outbound: answers read on readiness, and idle connections the peer ended", "[outbound]") {
  const unsigned threads = GENERATE(1u, 2u);
  INFO("I/O threads: " << threads);
  test::peer_listener peer;
  const std::string big(8 << 20, 'x');  // more than the loopback socket buffers take at once
  std::promise<void> six_sent, client_done;
  std::promise<std::vector<std::string>> seen;
  std::thread server([&] {
    std::vector<std::string> got;
    auto ok = [](const std::string& body) {
      return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    };
    try {
      // A: "one" answered in three pieces, "two" at once; then A is closed while idle.
      tcp::socket a(peer.ioc);
      peer.acceptor.accept(a);
      net::streambuf abuf;
      got.push_back(read_body(a, abuf));
      const std::string first = ok("abc");
      net::write(a, net::buffer(first.substr(0, 10)));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      net::write(a, net::buffer(first.substr(10, first.size() - 13)));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      net::write(a, net::buffer(first.substr(first.size() - 3)));
      got.push_back(read_body(a, abuf));
      net::write(a, net::buffer(ok("second")));
      a.close();
      // B: "three" answered, then B half-closed (this side keeps reading, never answers again).
      tcp::socket b(peer.ioc);
      peer.acceptor.accept(b);
      net::streambuf bbuf;
      got.push_back(read_body(b, bbuf));
      net::write(b, net::buffer(ok("third")));
      b.shutdown(tcp::socket::shutdown_send);
      // C: "four" answered together with an answer no request asked for; E: "four-b" answered,
      // then such an answer while E is idle.
      tcp::socket c(peer.ioc);
      peer.acceptor.accept(c);
      net::streambuf cbuf;
      got.push_back(read_body(c, cbuf));
      net::write(c, net::buffer(ok("fourth") + ok("stale")));
      tcp::socket e(peer.ioc);
      peer.acceptor.accept(e);
      net::streambuf ebuf;
      got.push_back(read_body(e, ebuf));
      net::write(e, net::buffer(ok("fourth-b")));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      net::write(e, net::buffer(ok("stale")));
      // D: the big request answered after its head only (the client is still writing), its body
      // read afterwards; "six" never answered (the client stops meanwhile).
      tcp::socket d(peer.ioc);
      peer.acceptor.accept(d);
      net::streambuf dbuf;
      const std::size_t head_len = net::read_until(d, dbuf, "\r\n\r\n");
      dbuf.consume(head_len);
      net::write(d, net::buffer(std::string("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig")));
      if (dbuf.size() < big.size()) net::read(d, dbuf, net::transfer_exactly(big.size() - dbuf.size()));
      got.push_back("body of " + std::to_string(dbuf.size()) + " bytes");
      dbuf.consume(big.size());
      got.push_back(read_body(d, dbuf));
      six_sent.set_value();
      client_done.get_future().wait();
    } catch (const std::exception& e) {
      got.push_back(std::string("listener: ") + e.what());
      six_sent.set_value();
    }
    seen.set_value(got);
  });

  http::outbound_options o = test::peer_options(threads);
  http::outbound_client client(o);
  const std::string origin = peer.origin();
  auto request = [&](std::string body) {
    http::outbound_request r;
    r.url = origin + "/in";
    r.body = std::move(body);
    r.timeout = std::chrono::milliseconds(5'000);
    return r;
  };

  auto one = deliver_sync(client, request("one"));
  REQUIRE_FALSE(one.failure);
  CHECK(one.status == 200);
  CHECK(one.body_excerpt == "abc");
  CHECK_FALSE(one.reused_connection);
  auto two = deliver_sync(client, request("two"));
  REQUIRE_FALSE(two.failure);
  CHECK(two.body_excerpt == "second");
  CHECK(two.reused_connection);
  // The close of idle A, the half-close of idle B (a request written on B would wait for its
  // deadline), the bytes after C's answer and the unsolicited answer on idle E each close the
  // connection without a request: the next one opens a fresh connection and gets its own answer.
  auto on_fresh = [&](const std::string& body, const std::string& answer) {
    INFO("request " << body);
    REQUIRE(all_closed(client));
    auto out = deliver_sync(client, request(body));
    REQUIRE_FALSE(out.failure);
    CHECK(out.body_excerpt == answer);
    CHECK_FALSE(out.reused_connection);
  };
  on_fresh("three", "third");
  on_fresh("four", "fourth");
  on_fresh("four-b", "fourth-b");
  REQUIRE(all_closed(client));
  auto five = deliver_sync(client, request(big));
  REQUIRE_FALSE(five.failure);
  CHECK(five.status == 413);
  CHECK(five.body_excerpt == "big");
  CHECK_FALSE(five.reused_connection);
  // Stopped while "six" waits for its answer on D: answered with shutdown.
  std::promise<http::outbound_outcome> six;
  client.deliver(request("six"), [&six](http::outbound_outcome&& out) { six.set_value(std::move(out)); });
  six_sent.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  client.stop();
  auto f6 = six.get_future();
  REQUIRE(f6.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto out6 = f6.get();
  REQUIRE(out6.failure);
  CHECK(out6.failure_kind() == http::delivery_errc::shutdown);
  CHECK(out6.reused_connection);
  client_done.set_value();

  auto f = seen.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  server.join();
  CHECK(f.get() == std::vector<std::string>{"one", "two", "three", "four", "four-b",
                                            "body of " + std::to_string(big.size()) + " bytes", "six"});
  const auto st = client.stats();
  CHECK(st.requests == 7);
  CHECK(st.connections_opened == 5);
  CHECK(st.reused == 2);  // "two" and "six"
  CHECK(st.failures == 1);
  CHECK(st.open_connections == 0);
}
