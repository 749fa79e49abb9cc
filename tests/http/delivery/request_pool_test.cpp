// Requests whose buffers are used again (http/delivery/request_pool.hpp), filled in place by
// build_delivery_request() (http/delivery/delivery_request.hpp), and handed back by the outbound
// client (outbound_options::recycle): the request is the same whatever the used one held.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "engine/record.hpp"
#include "http/delivery/delivery_request.hpp"
#include "http/delivery/outbound_peer.hpp"
#include "http/delivery/request_pool.hpp"
#include "http/delivery/signature.hpp"

using namespace hooklog;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kOldSecret = "whsec_c2VjcmV0LW9mLXRoZS1wYXN0LTEyMzQ1Njc4";

std::shared_ptr<http::prepared_endpoint> endpoint(bool rich) {
  projections::endpoint e;
  e.id = rich ? "ep_rich" : "ep_plain";
  e.tenant = rich ? "tenant-with-a-long-name" : "t1";
  e.url =
      rich ? "http://127.0.0.1:9/a/rather/long/path/for/hooks?with=query" : "http://127.0.0.1:9/";
  e.secret = kSecret;
  e.timeout_ms = rich ? 2500 : 10'000;
  if (rich) {
    e.previous_secrets.push_back({kOldSecret, 4'000'000'000'000'000});
    e.headers = {{"x-one", "1"}, {"x-two", "a value longer than fifteen bytes"}};
    e.auth.type = "bearer";
    e.auth.token = "tok";
  }
  auto p = http::prepare_endpoint(std::move(e), std::nullopt);
  REQUIRE(p->refusal.empty());
  return p;
}

http::delivery_input input(bool rich) {
  return {rich ? 7u : 1234567u,
          rich ? "order.created.with.a.long.type" : "t",
          std::string(rich ? 1500 : 300, rich ? 'r' : 'p'),
          rich ? "replay-1" : "",
          1'700'000'000'123'456,
          rich ? "" : "custom-id"};
}

void check_same(const http::outbound_request& a, const http::outbound_request& b) {
  CHECK(a.method == b.method);
  CHECK(a.url == b.url);
  CHECK(a.headers == b.headers);
  CHECK(a.body == b.body);
  CHECK(a.timeout == b.timeout);
  CHECK(a.pool_key == b.pool_key);
}

}  // namespace

TEST_CASE("request pool: a request given back is taken again with its buffers", "[delivery]") {
  http::request_pool pool(2, 4096);
  auto fresh = pool.take();
  CHECK(fresh.method == "POST");
  CHECK(fresh.body.empty());
  CHECK(pool.held() == 0);
  http::outbound_request r;
  r.url = std::string(100, 'u');
  r.body = std::string(2000, 'b');
  r.headers = {{"webhook-signature", std::string(60, 's')}};
  const char* url = r.url.data();
  const char* body = r.body.data();
  const char* sig = r.headers[0].second.data();
  pool.give(std::move(r));
  CHECK(pool.held() == 1);
  auto again = pool.take();
  CHECK(again.url.data() == url);
  CHECK(again.body.data() == body);
  REQUIRE(again.headers.size() == 1);
  CHECK(again.headers[0].second.data() == sig);
  CHECK(pool.held() == 0);
  CHECK(pool.take().body.capacity() < 2000);  // nothing left: a new one
}

TEST_CASE("request pool: bounded in count and in body size", "[delivery]") {
  http::request_pool pool(2, 4096);
  for (int i = 0; i < 5; ++i) {
    http::outbound_request r;
    r.body = std::string(i == 0 ? 10'000 : 1000, 'x');
    pool.give(std::move(r));
  }
  CHECK(pool.held() == 2);
  auto last = pool.take();  // the last one given back comes first
  CHECK(last.body.capacity() >= 1000);
  auto first = pool.take();
  CHECK(first.body.capacity() < 4096);  // the 10,000-byte buffer was not kept
  CHECK(pool.held() == 0);
  // Given back from another thread, taken on this one.
  std::thread t([&] {
    for (int i = 0; i < 3; ++i) pool.give(http::outbound_request{});
  });
  t.join();
  CHECK(pool.held() == 2);
}

TEST_CASE("delivery request: built into a used request, the same as into a new one", "[delivery]") {
  for (bool first_rich : {true, false}) {
    for (bool second_rich : {true, false}) {
      auto a = endpoint(first_rich);
      auto b = endpoint(second_rich);
      auto used = http::build_delivery_request(*a, input(first_rich));
      REQUIRE(used);
      auto expect = http::build_delivery_request(*b, input(second_rich));
      REQUIRE(expect);
      const bool fits = used->body.capacity() >= input(second_rich).body.size();
      const char* kept_body = used->body.data();
      auto got = http::build_delivery_request(*b, input(second_rich), std::move(*used));
      REQUIRE(got);
      check_same(*got, *expect);
      if (fits) CHECK(got->body.data() == kept_body);  // written into the kept buffer
    }
  }
  // The values themselves (Standard Webhooks): id, timestamp, signatures of both secrets.
  auto rich = endpoint(true);
  auto r = http::build_delivery_request(*rich, input(true), http::outbound_request{});
  REQUIRE(r);
  const std::string id = event_id_for(7);
  const std::string body(1500, 'r');
  const http::header_list want = {
      {"content-type", "application/json"},
      {"webhook-id", id},
      {"webhook-timestamp", "1700000000"},
      {"webhook-signature", http::sign_v1(kSecret, id, 1'700'000'000, body) + " " +
                                http::sign_v1(kOldSecret, id, 1'700'000'000, body)},
      {"webhook-event-type", "order.created.with.a.long.type"},
      {"webhook-replay", "replay-1"},
      {"x-one", "1"},
      {"x-two", "a value longer than fifteen bytes"},
      {"authorization", "Bearer tok"}};
  CHECK(r->headers == want);
  CHECK(r->url == "http://127.0.0.1:9/a/rather/long/path/for/hooks?with=query");
  CHECK(r->pool_key == "tenant-with-a-long-name");
  CHECK(r->timeout == std::chrono::milliseconds(2500));
  auto plain = endpoint(false);
  auto p = http::build_delivery_request(*plain, input(false), std::move(*r));
  REQUIRE(p);
  REQUIRE(p->headers.size() == 5);
  CHECK(p->headers[1] == http::header_list::value_type{"webhook-id", "custom-id"});
  CHECK(p->headers[3].second ==
        http::sign_v1(kSecret, "custom-id", 1'700'000'000, std::string(300, 'p')));
}

TEST_CASE("outbound: each request is handed to recycle once, after its answer, before done",
          "[outbound]") {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  std::thread server([&] {
    try {
      tcp::socket s(ioc);
      acceptor.accept(s);
      net::streambuf buf;
      for (int i = 0; i < 2; ++i) {
        (void)hooklog::test::read_request(s, buf);
        net::write(s, net::buffer(std::string("HTTP/1.1 204 No Content\r\n\r\n")));
      }
    } catch (const std::exception&) {
    }
  });
  std::mutex mu;
  std::vector<std::string> events;  // "recycle <body>" and "done <status>", in order
  http::outbound_options o;
  o.allow_private_targets = true;
  o.max_connections_per_origin = 1;
  o.recycle = [&](http::outbound_request&& r) {
    std::lock_guard lk(mu);
    events.push_back("recycle " + r.body + " " + r.url.substr(r.url.rfind('/')));
  };
  {
    http::outbound_client client(o);
    for (const char* body : {"one", "two"}) {
      http::outbound_request r;
      r.url = "http://127.0.0.1:" + std::to_string(port) + "/in";
      r.body = body;
      auto out = hooklog::test::deliver_sync(client, r);
      CHECK(out.status == 204);
      std::lock_guard lk(mu);
      events.push_back("done " + std::to_string(out.status));
    }
    // Refused before it is queued: answered at once, not handed back.
    http::outbound_request bad;
    bad.url = "http://127.0.0.1:" + std::to_string(port) + "/in";
    bad.headers = {{"bad name", "x"}};
    auto refused = hooklog::test::deliver_sync(client, bad);
    CHECK(refused.failure_kind() == http::delivery_errc::invalid_request);
  }
  server.join();
  CHECK(events ==
        std::vector<std::string>{"recycle one /in", "done 204", "recycle two /in", "done 204"});
}
