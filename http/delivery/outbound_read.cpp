#include "http/delivery/outbound_read.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <iterator>
#include <string>

namespace hooklog::http {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using boost::beast::error_code;

bool stale_connection_error(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

answer_failure read_failure(const error_code& ec, bool got_some, bool may_retry, const std::string& origin,
                            std::chrono::milliseconds timeout) {
  const bool closed = !got_some && stale_connection_error(ec);
  if (closed && may_retry) return {true, delivery_errc::refused, {}};
  if (ec == boost::beast::error::timeout)
    return {false, delivery_errc::timeout,
            "waiting for the answer of " + origin + ": timed out after " + std::to_string(timeout.count()) + " ms"};
  if (closed)
    return {false, delivery_errc::refused, "connection to " + origin + " closed before an answer: " + ec.message()};
  return {false, delivery_errc::protocol, "reading the answer of " + origin + ": " + ec.message()};
}

void answer_wait::enable(socket& s) {
  error_code nb;
  s.non_blocking(true, nb);
  enabled_ = !nb;
}

bool read_available(answer_wait::socket& s, boost::beast::flat_buffer& buffer, answer_parser& parser,
                    error_code& ec) {
  bhttp::read(s, buffer, parser, ec);
  return ec != net::error::would_block;
}

bool idle_connection_ended(answer_wait::socket& s, const error_code& readiness) {
  char byte = 0;
  error_code peek;
  s.receive(net::buffer(&byte, 1), answer_wait::socket::message_peek, peek);
  return readiness || peek != net::error::would_block;
}

outbound_outcome answer_outcome(answer_parser& parser, const boost::beast::flat_buffer& buffer,
                                std::size_t excerpt_limit, bool truncated, bool& reusable) {
  auto& msg = parser.get();
  outbound_outcome o;
  o.status = msg.result_int();
  o.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) o.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  auto& body = msg.body();
  o.body_excerpt = body.substr(0, std::min(body.size(), excerpt_limit));
  o.body_truncated = truncated;
  reusable = !truncated && msg.keep_alive() && buffer.size() == 0;
  return o;
}

}  // namespace hooklog::http
