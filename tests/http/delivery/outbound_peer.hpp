#pragma once
// The test's side of the outbound client's connections, for the tests that play the endpoint
// themselves (outbound_wire_test, outbound_deadline_test, outbound_batch_test): reading its
// requests off a raw loopback socket, and one delivery waited for.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <chrono>
#include <future>
#include <string>

#include "http/delivery/outbound.hpp"

namespace hooklog::test {

// Reads one request (head up to the blank line, then Content-Length bytes) from `s`, whose
// leftover input is in `buf`; returns its bytes exactly.
inline std::string read_request(boost::asio::ip::tcp::socket& s, boost::asio::streambuf& buf) {
  namespace net = boost::asio;
  const std::size_t head_len = net::read_until(s, buf, "\r\n\r\n");
  std::string head(net::buffers_begin(buf.data()), net::buffers_begin(buf.data()) + head_len);
  buf.consume(head_len);
  std::size_t body_len = 0;
  if (auto at = head.find("Content-Length: "); at != std::string::npos)
    body_len = std::stoul(head.substr(at + 16));
  if (buf.size() < body_len) net::read(s, buf, net::transfer_exactly(body_len - buf.size()));
  std::string body(net::buffers_begin(buf.data()), net::buffers_begin(buf.data()) + body_len);
  buf.consume(body_len);
  return head + body;
}

// The body of one request read by read_request.
inline std::string read_body(boost::asio::ip::tcp::socket& s, boost::asio::streambuf& buf) {
  const std::string request = read_request(s, buf);
  return request.substr(request.find("\r\n\r\n") + 4);
}

// A loopback listener that plays the endpoint (an ephemeral port), and the options of a client
// of it alone: private targets allowed, one connection, `threads` I/O threads.
struct peer_listener {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor{ioc, {boost::asio::ip::address_v4::loopback(), 0}};
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }
};

inline http::outbound_options peer_options(unsigned threads) {
  http::outbound_options o;
  o.allow_private_targets = true;
  o.threads = threads;
  o.max_connections_per_origin = 1;
  return o;
}

// Delivers `r` through `c` and waits (at most 10 s) for its outcome.
inline http::outbound_outcome deliver_sync(http::outbound_client& c, http::outbound_request r) {
  std::promise<http::outbound_outcome> p;
  auto f = p.get_future();
  c.deliver(std::move(r), [&p](http::outbound_outcome&& o) { p.set_value(std::move(o)); });
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return f.get();
}

}  // namespace hooklog::test
