// The outbound client's deadlines on kept-alive connections (http/delivery/outbound.cpp: one
// lazy timer per connection for the request's deadline and the idle period, no timer operation
// per request): a request whose deadline comes before the pending wait times out with its own
// message, a connection whose wait fires before the idle period ends waits again and then
// closes, with one I/O thread (no strand) and with two (a strand per pool).
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

// Reads until the peer closes: "closed" on end of file, what came otherwise.
std::string wait_closed(tcp::socket& s, net::streambuf& buf) {
  boost::system::error_code ec;
  net::read(s, buf, net::transfer_at_least(1), ec);
  if (ec == net::error::eof) return "closed";
  return "got " + std::to_string(buf.size()) + " bytes (" + ec.message() + ")";
}


}  // namespace

TEST_CASE("outbound: deadlines and idle closes on kept-alive connections", "[outbound]") {
  const unsigned threads = GENERATE(1u, 2u);
  INFO("I/O threads: " << threads);
  test::peer_listener peer;
  auto& ioc = peer.ioc;
  auto& acceptor = peer.acceptor;
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  std::promise<std::vector<std::string>> seen;
  std::thread server([&] {
    std::vector<std::string> got;
    try {
      // First connection: "one" answered, "two" never (the client times it out and closes).
      tcp::socket a(ioc);
      acceptor.accept(a);
      net::streambuf abuf;
      got.push_back(read_body(a, abuf));
      net::write(a, net::buffer(answer));
      got.push_back(read_body(a, abuf));
      got.push_back(wait_closed(a, abuf));
      // Second connection: "three" answered, then the client closes it when idle.
      tcp::socket b(ioc);
      acceptor.accept(b);
      net::streambuf bbuf;
      got.push_back(read_body(b, bbuf));
      net::write(b, net::buffer(answer));
      got.push_back(wait_closed(b, bbuf));
    } catch (const std::exception& e) {
      got.push_back(std::string("listener: ") + e.what());
    }
    seen.set_value(got);
  });

  http::outbound_options o = test::peer_options(threads);
  o.idle_timeout = std::chrono::milliseconds(600);
  http::outbound_client client(o);
  const std::string origin = peer.origin();
  auto request = [&](std::string body, int timeout_ms) {
    http::outbound_request r;
    r.url = origin + "/in";
    r.body = std::move(body);
    r.timeout = std::chrono::milliseconds(timeout_ms);
    return r;
  };

  // 10 s deadline: the connection's wait is set for it; answered at once.
  auto one = deliver_sync(client, request("one", 10'000));
  REQUIRE_FALSE(one.failure);
  CHECK(one.status == 200);
  CHECK_FALSE(one.reused_connection);
  // 200 ms, before the pending wait: the wait is moved earlier and the request times out.
  auto two = deliver_sync(client, request("two", 200));
  REQUIRE(two.failure);
  CHECK(two.failure_kind() == http::delivery_errc::timeout);
  CHECK(two.failure->message == "waiting for the answer of " + origin + ": timed out after 200 ms");
  CHECK(two.reused_connection);
  CHECK(two.status == 0);
  // A fresh connection (the timed-out one is closed); its wait fires at the request's deadline
  // (300 ms) while the connection is idle until 600 ms after the answer: it waits again, then
  // closes the connection.
  auto three = deliver_sync(client, request("three", 300));
  REQUIRE_FALSE(three.failure);
  CHECK(three.status == 200);
  CHECK(three.body_excerpt == "ok");
  CHECK_FALSE(three.reused_connection);

  auto f = seen.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  server.join();
  CHECK(f.get() == std::vector<std::string>{"one", "two", "closed", "three", "closed"});
  // The close is seen by the listener just before the pool counts the connection out.
  for (int i = 0; i < 500 && client.stats().open_connections > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto st = client.stats();
  CHECK(st.requests == 3);
  CHECK(st.connections_opened == 2);
  CHECK(st.reused == 1);
  CHECK(st.failures == 1);
  CHECK(st.open_connections == 0);
}
