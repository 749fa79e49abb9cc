// How the outbound client reaches an origin (http/delivery/outbound.cpp, start): an address
// literal is connected without the resolver, a host name through it; the SSRF policy is applied
// to the address either way, and a refused connection names its origin.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <thread>

#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"
#include "http/delivery/ssrf_guard.hpp"

using namespace hooklog;
using hooklog::test::deliver_sync;
using hooklog::test::read_body;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A peer on `address` that answers `count` connections one request each, 200 with the body it
// read back, then closes them.
struct echo_peer {
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::thread thread;

  echo_peer(const net::ip::address& address, int count) : acceptor(ioc, {address, 0}) {
    thread = std::thread([this, count] {
      for (int i = 0; i < count; ++i) {
        boost::system::error_code ec;
        tcp::socket s(ioc);
        acceptor.accept(s, ec);
        if (ec) return;
        try {
          net::streambuf buf;
          const std::string body = read_body(s, buf);
          const std::string answer = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body;
          net::write(s, net::buffer(answer));
        } catch (const std::exception&) {
        }
      }
    });
  }
  ~echo_peer() {
    boost::system::error_code ec;
    acceptor.close(ec);
    thread.join();
  }
  unsigned short port() const { return acceptor.local_endpoint().port(); }
};

http::outbound_request to(const std::string& url, const std::string& body) {
  http::outbound_request r;
  r.url = url;
  r.body = body;
  r.timeout = std::chrono::milliseconds(5000);
  return r;
}

}  // namespace

TEST_CASE("outbound: an IPv4 literal, an IPv6 literal and a host name each reach the peer",
          "[outbound][connect]") {
  const unsigned threads = GENERATE(1u, 2u);
  INFO("I/O threads: " << threads);
  http::outbound_client client(test::peer_options(threads));
  {
    echo_peer v4(net::ip::address_v4::loopback(), 2);
    const std::string port = std::to_string(v4.port());
    auto literal = deliver_sync(client, to("http://127.0.0.1:" + port + "/in", "by address"));
    REQUIRE_FALSE(literal.failure);
    CHECK(literal.status == 200);
    CHECK(literal.body_excerpt == "by address");
    // "localhost" goes through the resolver (its ::1 answer, if first, is refused by the
    // peer listening on 127.0.0.1 only; the next address is tried).
    auto named = deliver_sync(client, to("http://localhost:" + port + "/in", "by name"));
    REQUIRE_FALSE(named.failure);
    CHECK(named.status == 200);
    CHECK(named.body_excerpt == "by name");
  }
  std::unique_ptr<echo_peer> v6;
  try {
    v6 = std::make_unique<echo_peer>(net::ip::address_v6::loopback(), 1);
  } catch (const std::exception& e) {
    WARN("SKIPPED the IPv6 literal: no ::1 here (" << e.what() << ")");
    return;
  }
  auto six = deliver_sync(client, to("http://[::1]:" + std::to_string(v6->port()) + "/in", "by v6"));
  REQUIRE_FALSE(six.failure);
  CHECK(six.status == 200);
  CHECK(six.body_excerpt == "by v6");
}

TEST_CASE("outbound: the SSRF policy refuses a private literal and a name that resolves to one, "
          "a refused connection names its origin",
          "[outbound][connect]") {
  http::outbound_options o = test::peer_options(1);
  o.allow_private_targets = false;
  http::outbound_client client(o);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    INFO(host);
    auto r = deliver_sync(client, to("http://" + host + ":9/in", "x"));
    REQUIRE(r.failure);
    CHECK(r.failure_kind() == http::delivery_errc::ssrf);
    CHECK(r.failure->message == http::kTargetNotAllowed);
    INFO(r.detail);
    CHECK(r.detail == "refused: " + host + " is a loopback address; set allow_private_targets to allow it");
    CHECK(r.status == 0);
  }
  // Allowed, nothing listening: connection refused, with the origin in the message.
  http::outbound_client open_client(test::peer_options(1));
  net::io_context ioc;
  tcp::acceptor probe(ioc, {net::ip::address_v4::loopback(), 0});
  const std::string origin = "http://127.0.0.1:" + std::to_string(probe.local_endpoint().port());
  probe.close();
  auto refused = deliver_sync(open_client, to(origin + "/in", "x"));
  REQUIRE(refused.failure);
  CHECK(refused.failure_kind() == http::delivery_errc::refused);
  CHECK(refused.failure->message.rfind("connect to " + origin + ": ", 0) == 0);
}
