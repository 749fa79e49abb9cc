// Requests that waited in a pool's queue for a connection (http/delivery/outbound.hpp): sent
// with a fresh webhook-timestamp and signatures when they waited more than a second (receivers
// refuse old timestamps: the Standard Webhooks default tolerance is 5 minutes, and a saturated
// origin's queue can hold a request longer); and their timeout counts the wait: a request whose
// deadline passed in the queue fails as a timeout without being sent.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "http/delivery/delivery_request.hpp"
#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"
#include "http/delivery/signature.hpp"

using namespace hooklog;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The value of header `name` (lower case as hooklog sends it) in a request's head.
std::string header(const std::string& request, const std::string& name) {
  auto at = request.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 4;
  return request.substr(at, request.find("\r\n", at) - at);
}

}  // namespace

TEST_CASE("outbound: a request that waited for a connection is sent with a fresh timestamp",
          "[outbound]") {
  test::peer_listener peer;
  struct seen {
    std::string request;
    std::int64_t at_s;
  };
  std::promise<std::vector<seen>> got;
  std::thread server([&] {
    std::vector<seen> all;
    try {
      tcp::socket s(peer.ioc);
      peer.acceptor.accept(s);
      net::streambuf buf;
      for (int i = 0; i < 3; ++i) {
        auto r = test::read_request(s, buf);
        all.push_back({r, unix_us() / 1'000'000});
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a slow receiver
        net::write(s, net::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
      }
    } catch (const std::exception&) {
    }
    got.set_value(all);
  });

  projections::endpoint e;
  e.id = "ep_1";
  e.tenant = "t1";
  e.url = peer.origin() + "/in";
  e.secret = kSecret;
  e.timeout_ms = 10'000;
  auto p = http::prepare_endpoint(std::move(e), std::nullopt);
  REQUIRE(p->refusal.empty());

  http::outbound_client client(test::peer_options(1));  // one connection: the others queue
  std::vector<std::promise<http::outbound_outcome>> outs(3);
  for (unsigned i = 0; i < 3; ++i) {
    auto r = http::build_delivery_request(*p, {i + 1, "t", "{\"n\":" + std::to_string(i) + "}", "", unix_us(), ""});
    REQUIRE(r);
    client.deliver(std::move(*r), [&outs, i](http::outbound_outcome&& o) { outs[i].set_value(std::move(o)); });
  }
  auto f = got.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto all = f.get();
  REQUIRE(all.size() == 3);
  for (auto& s : all) {
    const auto ts = std::stoll(header(s.request, "webhook-timestamp"));
    const auto body = s.request.substr(s.request.find("\r\n\r\n") + 4);
    INFO(s.request);
    CHECK(s.at_s - ts <= 1);  // fresh when sent: the third waited 3 s
    CHECK(http::verify_v1(kSecret, header(s.request, "webhook-id"), ts, body,
                          header(s.request, "webhook-signature")));
  }
  for (auto& o : outs) CHECK(o.get_future().get().status == 200);
  server.join();
}

TEST_CASE("outbound: a request whose deadline passed in the queue fails without being sent",
          "[outbound]") {
  test::peer_listener peer;
  std::promise<int> connections;
  std::thread server([&] {
    int n = 0;
    try {
      tcp::socket s(peer.ioc);
      peer.acceptor.accept(s);
      ++n;
      net::streambuf buf;
      test::read_request(s, buf);  // never answered: the client times it out at 1 s
      boost::system::error_code ec;
      net::read(s, buf, net::transfer_at_least(1), ec);  // until the client closes it
      peer.acceptor.non_blocking(true);
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (std::chrono::steady_clock::now() < until) {
        tcp::socket t(peer.ioc);
        peer.acceptor.accept(t, ec);
        if (!ec) ++n;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    } catch (const std::exception&) {
    }
    connections.set_value(n);
  });

  http::outbound_client client(test::peer_options(1));
  auto request = [&](int timeout_ms) {
    http::outbound_request r;
    r.url = peer.origin() + "/in";
    r.body = "x";
    r.timeout = std::chrono::milliseconds(timeout_ms);
    return r;
  };
  std::promise<http::outbound_outcome> first, second;
  client.deliver(request(1000), [&](http::outbound_outcome&& o) { first.set_value(std::move(o)); });
  client.deliver(request(800), [&](http::outbound_outcome&& o) { second.set_value(std::move(o)); });
  auto f2 = second.get_future();
  REQUIRE(f2.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto o2 = f2.get();
  CHECK(o2.failure_kind() == http::delivery_errc::timeout);
  CHECK(first.get_future().get().failure_kind() == http::delivery_errc::timeout);
  auto fc = connections.get_future();
  REQUIRE(fc.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(fc.get() == 1);  // the second was never sent
  server.join();
}
