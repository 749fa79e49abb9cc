// The read path (http/delivery/outbound_read.hpp): what a failed answer read means, the outcome
// and reuse decision of a whole answer, and what waits behind an answer in the socket.
#include <catch2/catch.hpp>

#include <boost/asio/ssl/error.hpp>

#include <sys/epoll.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "http/delivery/outbound_read.hpp"
#include "http/delivery/outbound_ready.hpp"

using namespace hooklog;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

TEST_CASE("outbound read: a failed read's kind, message and retry", "[outbound]") {
  const std::string origin = "http://127.0.0.1:9";
  const std::chrono::milliseconds ms{250};
  const boost::beast::error_code eof = net::error::eof;
  // A kept-alive connection the peer closed before any byte: retried once on a fresh one.
  auto r = http::read_failure(eof, false, true, origin, ms);
  CHECK(r.retry_fresh);
  // Not retried again (or a fresh connection): refused, naming the close.
  r = http::read_failure(eof, false, false, origin, ms);
  CHECK_FALSE(r.retry_fresh);
  CHECK(r.kind == http::delivery_errc::refused);
  CHECK(r.message == "connection to " + origin + " closed before an answer: " + eof.message());
  // Part of the answer came: a protocol failure, never retried.
  r = http::read_failure(eof, true, true, origin, ms);
  CHECK_FALSE(r.retry_fresh);
  CHECK(r.kind == http::delivery_errc::protocol);
  CHECK(r.message == "reading the answer of " + origin + ": " + eof.message());
  // The deadline: the same message whether or not bytes came.
  for (bool got_some : {false, true}) {
    r = http::read_failure(boost::beast::error::timeout, got_some, true, origin, ms);
    CHECK_FALSE(r.retry_fresh);
    CHECK(r.kind == http::delivery_errc::timeout);
    CHECK(r.message == "waiting for the answer of " + origin + ": timed out after 250 ms");
  }
  const boost::beast::error_code bad = bhttp::error::bad_version;
  r = http::read_failure(bad, false, true, origin, ms);
  CHECK_FALSE(r.retry_fresh);
  CHECK(r.kind == http::delivery_errc::protocol);
  for (boost::beast::error_code e :
       {boost::beast::error_code(net::error::eof), boost::beast::error_code(net::error::connection_reset),
        boost::beast::error_code(net::error::broken_pipe), boost::beast::error_code(net::error::connection_aborted)})
    CHECK(http::stale_connection_error(e));
  CHECK(http::stale_connection_error(bhttp::error::end_of_stream));
  // A TLS peer that closed an idle kept-alive connection without close_notify (Node's https
  // server does, after 5 s): retried on a fresh connection; before, recorded as "protocol:
  // reading the answer of ...: stream truncated" and left to the retry schedule.
  const boost::beast::error_code truncated = net::ssl::error::stream_truncated;
  CHECK(http::stale_connection_error(truncated));
  CHECK(http::read_failure(truncated, false, true, "https://127.0.0.1:9", ms).retry_fresh);
  r = http::read_failure(truncated, false, false, "https://127.0.0.1:9", ms);
  CHECK(r.kind == http::delivery_errc::refused);
  CHECK(http::read_failure(truncated, true, true, "https://127.0.0.1:9", ms).kind == http::delivery_errc::protocol);
  CHECK_FALSE(http::stale_connection_error(bad));
  CHECK_FALSE(http::stale_connection_error(net::error::operation_aborted));
}

namespace {
// Feeds `text` to a parser as one read would: returns the bytes left over in `buffer`.
void parse(http::answer_parser& p, boost::beast::flat_buffer& buffer, const std::string& text) {
  auto dst = buffer.prepare(text.size());
  std::memcpy(dst.data(), text.data(), text.size());
  buffer.commit(text.size());
  boost::beast::error_code ec;
  while (!p.is_done() && buffer.size() > 0) {
    const auto n = p.put(buffer.data(), ec);
    REQUIRE_FALSE(ec);
    buffer.consume(n);
    if (n == 0) break;
  }
  REQUIRE(p.is_done());
}
}  // namespace

TEST_CASE("outbound read: an answer's outcome and whether the connection is reused", "[outbound]") {
  const std::string answer = "HTTP/1.1 202 Accepted\r\nX-One: 1\r\nContent-Length: 10\r\n\r\n0123456789";
  {
    http::answer_parser p;
    boost::beast::flat_buffer buffer;
    parse(p, buffer, answer);
    bool reusable = false;
    auto o = http::answer_outcome(p, buffer, 4, false, reusable);
    CHECK(o.status == 202);
    CHECK(o.body_excerpt == "0123");
    CHECK(o.body_truncated);  // the body (10 bytes) is longer than the excerpt kept (openapi.yaml)
    REQUIRE(o.headers.size() == 2);
    CHECK(o.headers[0] == std::pair<std::string, std::string>{"X-One", "1"});
    CHECK(o.headers[1] == std::pair<std::string, std::string>{"Content-Length", "10"});
    CHECK(reusable);
    CHECK_FALSE(o.failure);
  }
  {  // bytes after the answer were asked for by no request
    http::answer_parser p;
    boost::beast::flat_buffer buffer;
    parse(p, buffer, answer + "HTTP/1.1 200 OK\r\n");
    bool reusable = true;
    auto o = http::answer_outcome(p, buffer, 100, false, reusable);
    CHECK(o.body_excerpt == "0123456789");
    CHECK_FALSE(o.body_truncated);  // all of it kept
    CHECK_FALSE(reusable);
  }
  {  // Connection: close, and a truncated body
    http::answer_parser p;
    boost::beast::flat_buffer buffer;
    parse(p, buffer, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    bool reusable = true;
    (void)http::answer_outcome(p, buffer, 100, false, reusable);
    CHECK_FALSE(reusable);
    http::answer_parser q;
    boost::beast::flat_buffer b2;
    parse(q, b2, answer);
    reusable = true;
    auto o = http::answer_outcome(q, b2, 100, true, reusable);
    CHECK(o.body_truncated);
    CHECK_FALSE(reusable);
  }
}

namespace {
// A 200 answer of exactly `total` bytes (its body of b's).
std::string answer_of(std::size_t total) {
  std::string a;
  for (std::size_t body = 0; body < total; ++body) {
    a = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n" +
        std::string(body, 'b');
    if (a.size() == total) break;
  }
  REQUIRE(a.size() == total);
  return a;
}

// A loopback connection whose client side reads answers through an enabled answer_wait.
struct waited_connection {
  net::ip::tcp::socket client, server;
  http::answer_wait w;
  waited_connection(net::io_context& ioc, net::ip::tcp::acceptor& acceptor, http::readiness_set& set)
      : client(ioc), server(ioc) {
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    w.enable(client, set, {});
    REQUIRE(w.enabled());
  }
};
}  // namespace

TEST_CASE("outbound read: bytes already waiting behind an answer that filled the read", "[outbound]") {
  // The readiness set is edge-triggered: bytes that are in the socket behind a whole answer bring
  // no readiness, so answer_wait::read() peeks when the answer's last read filled its buffer.
  net::io_context ioc;
  http::readiness_set set(ioc);
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  struct one_case {
    std::size_t answer_size;
    const char* behind;  // bytes sent with the answer, nullptr: the peer closes after it
    bool more_after;
    std::uint32_t events;  // the edge's events, as the readiness set reports them
  };
  // The peer's close that came with a short answer: known from the edge (EPOLLRDHUP), not a read.
  for (const auto& c : {one_case{512, "HTTP/1.1 200 OK\r\n", true, EPOLLIN}, one_case{512, "", false, EPOLLIN},
                        one_case{512, nullptr, true, EPOLLIN}, one_case{300, "", false, EPOLLIN},
                        one_case{300, nullptr, true, EPOLLIN | EPOLLRDHUP}, one_case{300, nullptr, false, EPOLLIN}}) {
    waited_connection conn(ioc, acceptor, set);
    auto& [client, server, w] = conn;
    std::string wire = answer_of(c.answer_size) + (c.behind ? c.behind : "");
    net::write(server, net::buffer(wire));
    if (!c.behind) server.shutdown(net::ip::tcp::socket::shutdown_send);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // all of it in the client's socket
    http::answer_parser p;
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    w.begin_request();
    w.note_events(c.events);
    REQUIRE(w.read(client, buffer, p, ec));
    CHECK_FALSE(ec);
    CHECK(p.is_done());
    CHECK(buffer.size() == 0);  // the read took the answer only
    CHECK(w.more_after() == c.more_after);
    w.begin_request();
    CHECK_FALSE(w.more_after());
    CHECK_FALSE(w.disable());  // not armed
  }
}

TEST_CASE("outbound read: bytes waiting behind an answer read from the buffer after an interim one",
          "[outbound]") {
  // The read that brought a 100 Continue filled its buffer and took the final answer with it: the
  // final answer is then parsed from the buffer alone, and the socket's bytes behind it must still
  // be known (a review found them forgotten, so the connection was reused and they were read as
  // the next request's answer).
  net::io_context ioc;
  http::readiness_set set(ioc);
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  waited_connection conn(ioc, acceptor, set);
  auto& [client, server, w] = conn;
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  // 512 bytes with the interim answer: the first read's size.
  net::write(server, net::buffer(interim + answer_of(512 - interim.size()) + "HTTP/1.1 200 OK\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  boost::beast::flat_buffer buffer;
  boost::beast::error_code ec;
  w.begin_request();
  w.note_events(EPOLLIN);
  http::answer_parser p;
  REQUIRE(w.read(client, buffer, p, ec));
  CHECK(p.status() == 100);
  CHECK(w.more_after());
  http::answer_parser q;
  REQUIRE(w.read(client, buffer, q, ec));
  CHECK_FALSE(ec);
  CHECK(q.is_done());
  CHECK(q.status() == 200);
  CHECK(buffer.size() == 0);
  CHECK(w.more_after());
}
