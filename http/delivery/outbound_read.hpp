#pragma once
// The read path of an outbound connection (outbound.cpp): the readiness wait of a plain
// connection, the read of the answer, and what a readiness of an idle connection means.
//
// Plain connections read answers when the socket is readable, not speculatively after the write
// (Boost 1.81's reactor keeps a socket that returned data in speculative mode, so an async_read
// right after the write costs a recv that finds nothing: one EAGAIN per request).
//
// answer_wait: the readiness wait of one plain connection. enable() puts the socket in
// non-blocking mode (reads that find nothing return would_block) and registers it once in the
// client's readiness_set (outbound_ready.hpp: no kernel entry per request); without both (or on
// TLS connections, whose OpenSSL buffers records so readiness says nothing) the connection reads
// with async_read and arm() does nothing. The wait is armed from the connection's first request
// until it closes: arm() before each request is written and again before each read of the answer
// (read()), so a readiness that comes during or after that read (the peer's close, unsolicited
// bytes) ends a wait; the connection's on_ready() calls its readiness handler only while armed
// (fired() disarms). A readiness that comes while the request is still written is kept
// (note_early) and read once the write ended (take_early). disable() (the socket is about to
// close: deadline, stop, end) removes the registration (the wait stays off; the read path stays
// the readiness one) and answers whether a wait was armed: its handler is then owed one call with
// operation_aborted, which the caller posts.
//
// read(): Beast's synchronous http::read of what the socket holds into `parser` (the same
// read_some loop, parse and errors as async_read), the wait armed by the caller first; false when
// the socket would block (the rest comes with the next readiness), true when `ec` is the read's
// end (success: the answer is whole). The set is edge-triggered, so what is already in the socket
// behind a whole answer brings no readiness of its own: the peer's close or half-close that came
// with the answer's bytes is known from the edge's events (note_events(): EPOLLRDHUP, EPOLLHUP or
// EPOLLERR, kept until the connection closes), and when the answer's last read filled its buffer
// (the socket may hold more bytes) a MSG_PEEK of one byte tells. more_after() is true when bytes
// or the peer's close wait behind the answer: the connection is then not reused (as when such
// bytes came in the same read). Both cost nothing on the usual path (an answer shorter than the
// read, the peer keeping the connection open).
//
// idle_connection_ended(): after a readiness of an idle kept-alive connection, a MSG_PEEK of one
// byte tells: would_block (a readiness of bytes the last read already took) means nothing
// happened, wait again; end of file, an error or bytes no request asked for mean the connection
// is over (close it now, not at the next request).
//
// answer_outcome(): the outcome of a fully read answer (status, headers, the body's first
// `excerpt_limit` bytes: the parser's, answer_parser.hpp, moved out of it) and whether the
// connection may be reused: not after a body cut at the read limit (`truncated`), an answer
// whose framing ends the connection (answer_parser::keep_connection(): a body delimited by the
// end of the stream, `Connection: close` in any field, HTTP/1.0 without keep-alive or with
// Transfer-Encoding), or bytes beyond the answer in `buffer` (asked for by no request).
// body_truncated: the body was longer than the excerpt kept (read to its end or cut at the
// read limit).
//
// read_failure(): what a failed read of an answer means: `retry_fresh` when a kept-alive
// connection that may retry (`may_retry`: it served a request before, and this request was not
// retried yet) got none of the answer and the error says the peer closed it; else the failure
// kind and message: timeout ("waiting for the answer of ORIGIN: timed out after N ms"), refused
// (closed before any answer byte), protocol (anything else). "The peer closed it" includes a
// TLS peer's close without close_notify (stream_truncated).
//
// stale_connection_error(): the errors that mean "the peer closed a kept-alive connection before
// answering" (a request that got none of its answer is then retried once on a fresh connection).
//
// Threads: every function runs on the connection's executor; nothing here locks.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/delivery/answer_parser.hpp"
#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_ready.hpp"

namespace hooklog::http {

bool stale_connection_error(const boost::beast::error_code& ec);

struct answer_failure {
  bool retry_fresh = false;
  delivery_errc kind = delivery_errc::protocol;
  std::string message;
};
answer_failure read_failure(const boost::beast::error_code& ec, bool got_some, bool may_retry,
                            const std::string& origin, std::chrono::milliseconds timeout);

class answer_wait {
 public:
  using socket = boost::asio::ip::tcp::socket;

  void enable(socket& s, readiness_set& set, std::weak_ptr<readiness_set::target> t);
  bool enabled() const { return enabled_; }
  bool disable();

  void arm() { armed_ = enabled_; }
  bool armed() const { return armed_; }
  void fired() { armed_ = false; }

  bool read(socket& s, boost::beast::flat_buffer& buffer, answer_parser& parser, boost::beast::error_code& ec);
  bool more_after() const { return more_after_; }
  void note_events(std::uint32_t events);  // an edge's events (readiness_set)

  // A request is about to be written / a readiness came while it was.
  void begin_request() {
    early_ = false;
    more_after_ = false;
    last_read_filled_ = false;
  }
  void note_early(const boost::beast::error_code& ec) {
    early_ = true;
    early_ec_ = ec;
  }
  bool take_early(boost::beast::error_code& ec) const {
    if (early_) ec = early_ec_;
    return early_;
  }

 private:
  readiness_set* set_ = nullptr;
  std::uint64_t key_ = 0;
  bool enabled_ = false;
  bool armed_ = false;
  bool early_ = false;
  bool more_after_ = false;
  bool last_read_filled_ = false;  // the request's last socket read filled its buffer
  bool peer_ended_ = false;  // an edge said the peer closed or half-closed
  boost::beast::error_code early_ec_;
};

bool idle_connection_ended(answer_wait::socket& s, const boost::beast::error_code& readiness);

outbound_outcome answer_outcome(answer_parser& parser, const boost::beast::flat_buffer& buffer,
                                std::size_t excerpt_limit, bool truncated, bool& reusable);

}  // namespace hooklog::http
