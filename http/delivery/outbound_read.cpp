#include "http/delivery/outbound_read.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/system/system_error.hpp>
#include <string>

namespace hooklog::http {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using boost::beast::error_code;

bool stale_connection_error(const error_code& ec) {
  // stream_truncated: a TLS peer that closed the TCP connection without close_notify, as an
  // idle kept-alive connection is commonly closed (Node's https server after 5 s): before, the
  // next request on it was recorded as a protocol failure instead of retried on a fresh one.
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted ||
         ec == net::ssl::error::stream_truncated;
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

namespace {
// The socket as Beast's SyncReadStream, noting whether the last read filled its buffers.
struct filled_probe {
  answer_wait::socket& s;
  bool filled = false;
  bool read = false;  // a socket read happened (a whole answer may come from the buffer alone)

  template <class Buffers>
  std::size_t read_some(const Buffers& b, error_code& ec) {
    const std::size_t n = s.read_some(b, ec);
    filled = !ec && n == net::buffer_size(b);
    read = true;
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& b) {
    error_code ec;
    const std::size_t n = read_some(b, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
};
}  // namespace

void answer_wait::enable(socket& s, readiness_set& set, std::weak_ptr<readiness_set::target> t) {
  error_code nb;
  s.non_blocking(true, nb);
  enabled_ = !nb && set.add(s.native_handle(), std::move(t), key_);
  if (enabled_) set_ = &set;
}

bool answer_wait::disable() {
  const bool owed = armed_;
  if (set_) set_->remove(key_);
  set_ = nullptr;
  armed_ = false;
  return owed;
}

void answer_wait::note_events(std::uint32_t events) {
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) peer_ended_ = true;
}

bool answer_wait::read(socket& s, boost::beast::flat_buffer& buffer, answer_parser& parser, error_code& ec) {
  filled_probe probe{s};
  bhttp::read(probe, buffer, parser, ec);
  // The socket's last read for this request: an answer after an interim one can be parsed from
  // the buffer alone, and must not forget that the read before it filled its buffer.
  if (probe.read) last_read_filled_ = probe.filled;
  if (ec == net::error::would_block) return false;
  if (!ec) more_after_ = peer_ended_ || (last_read_filled_ && idle_connection_ended(s, {}));
  return true;
}

bool idle_connection_ended(answer_wait::socket& s, const error_code& readiness) {
  char byte = 0;
  error_code peek;
  s.receive(net::buffer(&byte, 1), answer_wait::socket::message_peek, peek);
  return readiness || peek != net::error::would_block;
}

outbound_outcome answer_outcome(answer_parser& parser, const boost::beast::flat_buffer& buffer,
                                std::size_t excerpt_limit, bool truncated, bool& reusable) {
  outbound_outcome o;
  o.status = parser.status();
  o.headers = std::move(parser.headers());
  o.body_excerpt = std::move(parser.excerpt());
  if (o.body_excerpt.size() > excerpt_limit) o.body_excerpt.resize(excerpt_limit);
  o.body_truncated = truncated || parser.body_bytes() > o.body_excerpt.size();
  reusable = !truncated && parser.keep_connection() && buffer.size() == 0;
  return o;
}

}  // namespace hooklog::http
