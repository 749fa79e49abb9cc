// The outbound client's name lookups (http/delivery/outbound_lookup.hpp): a name whose lookup
// never answers holds only its own tenant's share of the lookup threads; another tenant's
// endpoint at an IP literal is delivered at once (it is never looked up), and the stuck requests
// fail as timeouts at their own deadline. Before, every lookup ran on Asio's one resolver thread,
// one at a time, and the IP literal's connection waited behind the stuck lookup.
#include <catch2/catch.hpp>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"

using namespace hooklog;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

// A lookup that blocks for "slow.test" until released and records what it was asked.
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::vector<std::string> hosts;
  unsigned running = 0, max_running = 0;
};

}  // namespace

TEST_CASE("outbound: a stuck name lookup delays no other tenant, and times out at its deadline",
          "[outbound]") {
  const unsigned threads = GENERATE(1u, 2u);
  INFO("I/O threads: " << threads);
  test::peer_listener peer;
  std::thread server([&] {
    try {
      tcp::socket s(peer.ioc);
      peer.acceptor.accept(s);
      net::streambuf buf;
      test::read_request(s, buf);
      net::write(s, net::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
    } catch (const std::exception&) {
    }
  });

  auto g = std::make_shared<gate>();
  http::outbound_options o = test::peer_options(threads);
  o.max_connections_per_origin = 8;
  o.lookup = [g](const std::string& host, unsigned short port, std::string& error) {
    std::unique_lock lk(g->mu);
    g->hosts.push_back(host);
    g->max_running = std::max(g->max_running, ++g->running);
    g->cv.wait(lk, [&] { return g->released; });
    --g->running;
    error = "released";
    (void)port;
    return std::vector<tcp::endpoint>{};
  };
  http::outbound_client client(o);

  // Tenant t1: six requests to a name whose lookup hangs, 700 ms each.
  const auto port = std::to_string(peer.acceptor.local_endpoint().port());
  std::vector<std::future<http::outbound_outcome>> slow;
  std::vector<std::promise<http::outbound_outcome>> slow_p(6);
  std::vector<steady::duration> slow_took(6);
  const auto sent = steady::now();
  for (std::size_t i = 0; i < slow_p.size(); ++i) {
    auto& p = slow_p[i];
    slow.push_back(p.get_future());
    http::outbound_request r;
    r.url = "http://slow.test:" + port + "/in";
    r.body = "slow";
    r.timeout = std::chrono::milliseconds(700);
    r.pool_key = "t1";
    client.deliver(std::move(r), [&p, &took = slow_took[i], sent](http::outbound_outcome&& out) {
      took = steady::now() - sent;
      p.set_value(std::move(out));
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the lookups are stuck now

  // Tenant t2: its endpoint at an IP literal is answered at once.
  const auto t0 = steady::now();
  http::outbound_request fast;
  fast.url = peer.origin() + "/fast";
  fast.body = "fast";
  fast.timeout = std::chrono::milliseconds(5000);
  fast.pool_key = "t2";
  auto answer = test::deliver_sync(client, std::move(fast));
  const auto took = steady::now() - t0;
  CHECK(answer.answered());
  CHECK(answer.status == 200);
  CHECK(took < std::chrono::seconds(1));

  // The stuck ones: timeouts at their deadline (700 ms from deliver()).
  for (std::size_t i = 0; i < slow.size(); ++i) {
    REQUIRE(slow[i].wait_for(std::chrono::seconds(3)) == std::future_status::ready);
    auto out = slow[i].get();
    CHECK(out.failure_kind() == http::delivery_errc::timeout);
    CHECK(slow_took[i] >= std::chrono::milliseconds(700));
    CHECK(slow_took[i] < std::chrono::milliseconds(1500));
  }
  {
    std::lock_guard lk(g->mu);
    CHECK(g->max_running <= o.lookups_per_key);  // one tenant's share of the lookup threads
    for (const auto& h : g->hosts) CHECK(h == "slow.test");  // the IP literal was never looked up
    g->released = true;
  }
  g->cv.notify_all();
  client.stop();
  server.join();
}
