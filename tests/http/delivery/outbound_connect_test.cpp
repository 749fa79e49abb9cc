// How the outbound client reaches an origin (http/delivery/outbound.cpp, start): an address
// literal is connected without a lookup, a host name through the client's lookup threads
// (host_lookup.hpp), where a name that hangs delays no other origin; the SSRF policy is applied
// to the address either way, and a refused connection names its origin.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "http/delivery/outbound.hpp"
#include "http/delivery/lookup_gate.hpp"
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
    // "localhost" goes through a lookup (its ::1 answer, if first, is refused by the
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

TEST_CASE("outbound: a host name whose lookup hangs delays no other origin, and fails at its "
          "deadline, and a lookup's failure and a private answer are refused with their reasons",
          "[outbound][connect][lookup]") {
  const unsigned threads = GENERATE(1u, 2u);
  INFO("I/O threads: " << threads);
  auto gate = std::make_shared<test::lookup_gate>();
  http::outbound_options o = test::peer_options(threads);
  o.lookup = gate->fn();
  http::outbound_client client(o);
  echo_peer peer(net::ip::address_v4::loopback(), 2);
  const std::string port = std::to_string(peer.port());

  std::promise<http::outbound_outcome> hung;
  auto hung_f = hung.get_future();
  auto slow = to("http://hang.test:" + port + "/in", "never sent");
  slow.timeout = std::chrono::milliseconds(4000);
  const auto t0 = std::chrono::steady_clock::now();
  client.deliver(std::move(slow), [&hung](http::outbound_outcome&& r) { hung.set_value(std::move(r)); });
  REQUIRE(gate->wait_entered("hang.test", 1, std::chrono::seconds(10)));

  // Two other names (each its own origin and pool) are delivered while hang.test's lookup hangs.
  for (const std::string host : {"fast.test", "other.test"}) {
    auto r = deliver_sync(client, to("http://" + host + ":" + port + "/in", "to " + host));
    REQUIRE_FALSE(r.failure);
    CHECK(r.status == 200);
    CHECK(r.body_excerpt == "to " + host);
    CHECK(r.remote == "127.0.0.1:" + port);
  }
  CHECK(hung_f.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);

  REQUIRE(hung_f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const auto waited = std::chrono::steady_clock::now() - t0;
  auto h = hung_f.get();
  REQUIRE(h.failure);
  CHECK(h.failure_kind() == http::delivery_errc::timeout);
  CHECK(h.failure->message == "resolve hang.test: timed out");
  CHECK(waited >= std::chrono::milliseconds(3900));
  gate->open();  // the lookup returns; its answer finds the request already answered

  auto missing = deliver_sync(client, to("http://missing.test:" + port + "/in", "x"));
  REQUIRE(missing.failure);
  CHECK(missing.failure_kind() == http::delivery_errc::dns);
  CHECK(missing.failure->message == "resolve missing.test: no such name");

  // A name whose answer is a private address, under the default policy: refused before any
  // connection is tried.
  http::outbound_options closed = test::peer_options(threads);
  closed.allow_private_targets = false;
  closed.lookup = gate->fn();
  http::outbound_client guarded(closed);
  auto inside = deliver_sync(guarded, to("http://inside.test/in", "x"));
  REQUIRE(inside.failure);
  CHECK(inside.failure_kind() == http::delivery_errc::ssrf);
  CHECK(inside.failure->message == http::kTargetNotAllowed);
  CHECK(inside.detail ==
        "refused: inside.test resolves to 10.0.0.5, which is a private address; set "
        "allow_private_targets to allow it");
  CHECK(inside.remote.empty());
}

TEST_CASE("outbound: stopping the client answers a request whose lookup hangs, at once",
          "[outbound][connect][lookup]") {
  auto gate = std::make_shared<test::lookup_gate>();
  http::outbound_options o = test::peer_options(1);
  o.lookup = gate->fn();
  std::promise<http::outbound_outcome> answered;
  auto f = answered.get_future();
  {
    http::outbound_client client(o);
    auto r = to("http://hang.test:9/in", "x");
    r.timeout = std::chrono::milliseconds(20000);
    client.deliver(std::move(r), [&answered](http::outbound_outcome&& out) { answered.set_value(std::move(out)); });
    REQUIRE(gate->wait_entered("hang.test", 1, std::chrono::seconds(10)));
    const auto t0 = std::chrono::steady_clock::now();
    client.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
  REQUIRE(f.wait_for(std::chrono::seconds(1)) == std::future_status::ready);
  auto out = f.get();
  REQUIRE(out.failure);
  CHECK(out.failure_kind() == http::delivery_errc::shutdown);
  gate->open();
  CHECK(gate->wait_returned("hang.test", 1, std::chrono::seconds(10)));
}
