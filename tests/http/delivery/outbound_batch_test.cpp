// outbound_client::deliver(batch) (http/delivery/outbound.hpp): requests handed over together
// go out in order (one connection: the pool's FIFO), each callback gets its own answer, and a
// request refused before sending answers at once without taking a place.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <sys/socket.h>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"

using namespace hooklog;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// A peer on a loopback port that answers the first `n` requests of one connection with
// "seen <body>", and hands over the bodies it read (or what broke).
struct listener : test::peer_listener {
  std::promise<std::vector<std::string>> seen;
  tcp::socket s{ioc};
  std::thread thread;
  // A failed REQUIRE leaves the test early: wake the thread (shutdown of both sockets makes its
  // accept or read fail) and join it, rather than std::terminate on a joinable thread.
  ~listener() {
    if (!thread.joinable()) return;
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    ::shutdown(s.native_handle(), SHUT_RDWR);
    thread.join();
  }
  void run(int n) {
    thread = std::thread([this, n] {
      std::vector<std::string> bodies;
      try {
        acceptor.accept(s);
        net::streambuf buf;
        for (int i = 0; i < n; ++i) {
          const std::string body = hooklog::test::read_body(s, buf);
          bodies.push_back(body);
          const std::string answer =
              "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size() + 5) + "\r\n\r\nseen " + body;
          net::write(s, net::buffer(answer));
        }
      } catch (const std::exception& e) {
        bodies.push_back(std::string("listener: ") + e.what());
      }
      seen.set_value(bodies);
    });
  }
  std::string url() const { return origin() + "/in"; }
};

// A client with one connection per origin, and the answers its callbacks got, in arrival order;
// at(n) is ready once n answers came (ask before delivering).
struct answer_log {
  std::mutex mu;
  std::vector<std::pair<std::string, http::outbound_outcome>> got;
  std::map<std::size_t, std::promise<void>> when;
  http::outbound_client client{test::peer_options(1)};  // last: stopped first, while the log lives
  std::future<void> at(std::size_t n) { return when[n].get_future(); }
  http::outbound_client::callback answer(std::string name) {
    return [this, name](http::outbound_outcome&& oc) {
      std::lock_guard lk(mu);
      got.emplace_back(name, std::move(oc));
      if (auto it = when.find(got.size()); it != when.end()) it->second.set_value();
    };
  }
};
}  // namespace

TEST_CASE("outbound: a batch of requests goes out in order, each answered once", "[outbound]") {
  listener peer;
  peer.run(3);
  answer_log log;
  auto done = log.at(4);
  std::vector<http::outbound_client::delivery> batch;
  for (const char* name : {"one", "bad", "two", "three"}) {
    http::outbound_request r;
    r.url = peer.url();
    r.body = name;
    if (std::string(name) == "bad") r.headers = {{"x-bad", "a\r\nb"}};
    batch.push_back({std::move(r), log.answer(name)});
  }
  log.client.deliver(std::move(batch));
  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto f = peer.seen.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  peer.thread.join();
  CHECK(f.get() == std::vector<std::string>{"one", "two", "three"});
  std::lock_guard lk(log.mu);
  const auto& answers = log.got;
  REQUIRE(answers.size() == 4);
  // The refused one answers at once (on the calling thread), before any answer arrives.
  CHECK(answers[0].first == "bad");
  REQUIRE(answers[0].second.failure);
  CHECK(answers[0].second.failure_kind() == http::delivery_errc::invalid_request);
  CHECK(answers[0].second.failure->message ==
        "not sent: the value of header 'x-bad' has a control character at byte 1");
  for (std::size_t i = 1; i < 4; ++i) {
    const std::string name = answers[i].first;
    INFO(name);
    CHECK(name == std::vector<std::string>{"one", "two", "three"}[i - 1]);
    REQUIRE_FALSE(answers[i].second.failure);
    CHECK(answers[i].second.status == 200);
    CHECK(answers[i].second.body_excerpt == "seen " + name);
  }
  CHECK(answers[3].second.reused_connection);
}

// Two pools in one batch (their jobs made on the I/O thread, one hand-off per pool), a refused
// request between them, then a single deliver(): every request reaches its own origin in order
// and every callback gets its own answer, once.
TEST_CASE("outbound: a batch over two pools, then a single request", "[outbound]") {
  listener a, b;
  a.run(3);  // a1, a2, then the single one
  b.run(2);
  answer_log log;
  auto batch_done = log.at(5);
  auto single_done = log.at(6);
  std::vector<http::outbound_client::delivery> batch;
  for (const char* name : {"a1", "b1", "a2", "bad", "b2"}) {
    http::outbound_request r;
    const bool to_b = std::string(name) == "b1" || std::string(name) == "b2";
    r.url = to_b ? b.url() : a.url();
    r.pool_key = to_b ? "tenant-b" : "tenant-a";
    r.body = name;
    if (std::string(name) == "bad") r.headers = {{"x-bad", "a\rb"}};
    batch.push_back({std::move(r), log.answer(name)});
  }
  log.client.deliver(std::move(batch));
  REQUIRE(batch_done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  http::outbound_request single;
  single.url = a.url();
  single.pool_key = "tenant-a";
  single.body = "a3";
  log.client.deliver(std::move(single), log.answer("a3"));
  REQUIRE(single_done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto fa = a.seen.get_future();
  auto fb = b.seen.get_future();
  REQUIRE(fa.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  REQUIRE(fb.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  a.thread.join();
  b.thread.join();
  CHECK(fa.get() == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(fb.get() == std::vector<std::string>{"b1", "b2"});
  std::lock_guard lk(log.mu);
  const auto& answers = log.got;
  REQUIRE(answers.size() == 6);
  CHECK(answers[0].first == "bad");  // refused on the calling thread, before any answer
  REQUIRE(answers[0].second.failure);
  CHECK(answers[0].second.failure_kind() == http::delivery_errc::invalid_request);
  for (std::size_t i = 1; i < answers.size(); ++i) {
    const auto& [name, oc] = answers[i];
    INFO(name);
    REQUIRE_FALSE(oc.failure);
    CHECK(oc.status == 200);
    CHECK(oc.body_excerpt == "seen " + name);
  }
  CHECK(answers.back().first == "a3");
  CHECK(answers.back().second.reused_connection);
}
