// Interim answers (1xx but 101) before the final one, RFC 9110 section 15.2: the outbound client
// skips them and reads the request's own answer. A review found the first 1xx taken as the
// final answer: "103 Early Hints" + "200 OK" in one write was recorded as a failure with status
// 103 (retried, dead-lettered in the end), and a "100 Continue" written alone left the final
// answer on the connection, read as the next request's answer (an outcome on the wrong event).
#include <catch2/catch.hpp>

#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"

using namespace hooklog;
using hooklog::test::deliver_sync;
using hooklog::test::read_body;
namespace net = boost::asio;

namespace {

// Plays an endpoint for `n` requests on one connection: `answer(i, body)` gives what is written
// back, as a list of writes with a pause between them.
template <class Answer>
std::thread play(test::peer_listener& peer, int n, Answer answer) {
  return std::thread([&peer, n, answer] {
    try {
      net::ip::tcp::socket s(peer.ioc);
      peer.acceptor.accept(s);
      net::streambuf buf;
      for (int i = 0; i < n; ++i) {
        const std::string body = read_body(s, buf);
        for (const std::string& part : answer(i, body)) {
          net::write(s, net::buffer(part));
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    } catch (const std::exception&) {
    }
  });
}

http::outbound_request request(const test::peer_listener& peer, const std::string& body) {
  http::outbound_request r;
  r.url = peer.origin() + "/in";
  r.body = body;
  r.timeout = std::chrono::milliseconds(5000);
  return r;
}

std::string ok_with(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("outbound: interim answers are skipped, each request gets its own final answer",
          "[delivery][outbound]") {
  for (unsigned threads : {1u, 2u}) {  // one thread reads on readiness; two post to a strand
    INFO("threads " << threads);
    test::peer_listener peer;
    // Request 0: 103 and the final answer in one write. Request 1: 100 alone, then (100 ms later)
    // the final answer. Request 2, on the same connection, must get its own.
    auto server = play(peer, 3, [](int i, const std::string& body) -> std::vector<std::string> {
      if (i == 0) return {"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + ok_with(body)};
      if (i == 1) return {"HTTP/1.1 100 Continue\r\n\r\n", ok_with(body)};
      return {"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
              "HTTP/1.1 500 Internal Server Error\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\n\r\n" + body};
    });
    http::outbound_client client(test::peer_options(threads));
    const auto a = deliver_sync(client, request(peer, "first"));
    const auto b = deliver_sync(client, request(peer, "second"));
    const auto c = deliver_sync(client, request(peer, "third"));
    server.join();
    CHECK_FALSE(a.failure);
    CHECK(a.status == 200);
    CHECK(a.body_excerpt == "first");
    CHECK(a.headers == http::header_list{{"Content-Length", "5"}});  // not the 103's Link
    CHECK(b.status == 200);
    CHECK(b.body_excerpt == "second");
    CHECK(b.reused_connection);
    CHECK(c.status == 500);
    CHECK(c.body_excerpt == "third");
    CHECK(c.reused_connection);
  }
}

TEST_CASE("outbound: more than 8 interim answers fail the attempt as a protocol error",
          "[delivery][outbound]") {
  test::peer_listener peer;
  auto server = play(peer, 1, [](int, const std::string& body) -> std::vector<std::string> {
    std::string many;
    for (int i = 0; i < 9; ++i) many += "HTTP/1.1 100 Continue\r\n\r\n";
    return {many + ok_with(body)};
  });
  http::outbound_client client(test::peer_options(1));
  const auto o = deliver_sync(client, request(peer, "x"));
  server.join();
  REQUIRE(o.failure);
  CHECK(o.failure->code == http::delivery_errc::protocol);
  CHECK(o.failure->message ==
        "reading the answer of " + peer.origin() + ": more than 8 interim (1xx) answers");
}

TEST_CASE("outbound: a 101 fails the attempt as a protocol error and the connection is not reused",
          "[delivery][outbound]") {
  test::peer_listener peer;
  std::thread server([&peer] {
    try {
      for (int conn = 0; conn < 2; ++conn) {  // the second request must come on a new connection
        net::ip::tcp::socket s(peer.ioc);
        peer.acceptor.accept(s);
        net::streambuf buf;
        const std::string body = read_body(s, buf);
        net::write(s, net::buffer(conn == 0 ? std::string("HTTP/1.1 101 Switching Protocols\r\n"
                                                          "Connection: Upgrade\r\nUpgrade: x\r\n\r\n")
                                            : ok_with(body)));
        boost::system::error_code ec;
        s.read_some(net::buffer(buf.prepare(1)), ec);  // until the client closes or sends more
      }
    } catch (const std::exception&) {
    }
  });
  http::outbound_client client(test::peer_options(1));
  const auto a = deliver_sync(client, request(peer, "first"));
  REQUIRE(a.failure);
  CHECK(a.failure->code == http::delivery_errc::protocol);
  CHECK(a.failure->message == "reading the answer of " + peer.origin() +
                                  ": 101 Switching Protocols to a request that asked for no upgrade");
  const auto b = deliver_sync(client, request(peer, "second"));
  CHECK(b.status == 200);
  CHECK(b.body_excerpt == "second");
  CHECK_FALSE(b.reused_connection);
  client.stop();
  server.join();
}
