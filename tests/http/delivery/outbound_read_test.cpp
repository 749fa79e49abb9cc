// The read path's pure parts (http/delivery/outbound_read.hpp): what a failed answer read
// means, and the outcome and reuse decision of a whole answer.
#include <catch2/catch.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>

#include "http/delivery/outbound_read.hpp"

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
    CHECK_FALSE(o.body_truncated);
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
