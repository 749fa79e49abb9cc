// The bytes the outbound client writes (http/delivery/outbound.cpp builds the request head
// itself, no longer through Beast's serializer): a loopback listener in this test reads them
// and answers, and the test compares them byte for byte, for two requests on one connection.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <future>
#include <optional>
#include <random>
#include <thread>

#include "http/delivery/endpoint_validation.hpp"
#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_peer.hpp"

using namespace hooklog;
using hooklog::test::deliver_sync;
using hooklog::test::read_request;
namespace net = boost::asio;
using tcp = net::ip::tcp;

TEST_CASE("outbound: the request on the wire, byte for byte, twice on one connection",
          "[outbound]") {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  std::promise<std::vector<std::string>> seen;
  std::thread server([&] {
    std::vector<std::string> got;
    try {
      tcp::socket s(ioc);
      acceptor.accept(s);
      net::streambuf buf;
      for (int i = 0; i < 2; ++i) {
        got.push_back(read_request(s, buf));
        const std::string answer = i == 0 ? "HTTP/1.1 204 No Content\r\n\r\n"
                                          : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        net::write(s, net::buffer(answer));
      }
    } catch (const std::exception& e) {
      got.push_back(std::string("listener: ") + e.what());
    }
    seen.set_value(got);
  });

  http::outbound_options o;
  o.allow_private_targets = true;
  http::outbound_client client(o);
  const std::string host = "127.0.0.1:" + std::to_string(port);
  http::outbound_request r;
  r.url = "http://" + host + "/hooks/in?x=1";
  // Host, Content-Length, Transfer-Encoding and Connection are the client's own: given ones are
  // dropped. The rest go out in order.
  r.headers = {{"webhook-id", "evt_1"}, {"Host", "evil.example"}, {"content-type", "application/json"},
               {"Content-Length", "999"}, {"Transfer-Encoding", "chunked"}, {"connection", "close"}};
  r.body = R"({"a":1})";
  auto first = deliver_sync(client, r);
  REQUIRE_FALSE(first.failure);
  CHECK(first.status == 204);
  http::outbound_request second = r;
  second.headers = {{"User-Agent", "custom/2"}};
  second.body.clear();
  auto again = deliver_sync(client, second);
  REQUIRE_FALSE(again.failure);
  CHECK(again.status == 200);
  CHECK(again.body_excerpt == "ok");
  CHECK(again.reused_connection);

  auto f = seen.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const auto got = f.get();
  server.join();
  REQUIRE(got.size() == 2);
  CHECK(got[0] ==
        "POST /hooks/in?x=1 HTTP/1.1\r\nHost: " + host +
            "\r\nwebhook-id: evt_1\r\ncontent-type: application/json\r\n"
            "User-Agent: hooklog-webhooks/0.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
  // An empty POST still says its length; a given User-Agent replaces the client's.
  CHECK(got[1] == "POST /hooks/in?x=1 HTTP/1.1\r\nHost: " + host +
                      "\r\nUser-Agent: custom/2\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("outbound: the header checks find what a byte-by-byte reading finds",
          "[delivery][outbound]") {
  // The reference: RFC 9110 tchar for names; for values the first byte below 0x20 other than a
  // tab, or 0x7F.
  auto token = [](std::string_view s) {
    if (s.empty()) return false;
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (std::isalnum(c) == 0 && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos)
        return false;
    }
    return true;
  };
  auto control = [](std::string_view s) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if ((c < 0x20 && c != '\t') || c == 0x7F) return i;
    }
    return std::nullopt;
  };
  for (int c = 0; c < 256; ++c) {  // every byte alone, and at every place of a 0..24-byte run
    for (std::size_t len = 0; len <= 24; ++len) {
      for (std::size_t at = 0; at <= len; ++at) {
        std::string s(len, 'a');
        s.insert(at, 1, static_cast<char>(c));
        INFO(c << " at " << at << " of " << len + 1);
        CHECK(http::http_token(s) == token(s));
        CHECK(http::first_control(s) == control(s));
      }
    }
  }
  std::mt19937 rng(9110);
  const std::string bytes = std::string("\t\x01\x1F\x7F\x80\x9F\xA0\xFF !~aZ0:\"", 16) + '\0';
  for (int k = 0; k < 20000; ++k) {
    std::string s(rng() % 40, 'x');
    for (char& ch : s)
      if (rng() % 4 == 0) ch = bytes[rng() % bytes.size()];
    INFO(s);
    CHECK(http::http_token(s) == token(s));
    CHECK(http::first_control(s) == control(s));
  }
  CHECK_FALSE(http::http_token(""));
  CHECK(http::first_control("") == std::nullopt);
}
