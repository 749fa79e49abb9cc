#pragma once
// Internal to the HTTP server (http/server_session.hpp): Beast's HTTP/1 request parser
// (basic_parser: the same syntax checks, limits and framing as request_parser) writing straight
// into the http_request the handler gets: method, target, path, query, each header as sent and
// the body. Beast's request_parser<string_body> built a Beast message (one allocation per header
// field) that the server then copied field by field into an http_request.
//
// Thread-safety: one reader per request, used on the session's strand.
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "http/delivery/message.hpp"

namespace hooklog::http::detail {

class request_reader : public boost::beast::http::basic_parser<true> {
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

 public:
  // The request as read so far: method, target, path, query, version once the request line is
  // parsed, the headers once the head is, the body once is_done().
  http_request& request() { return req_; }
  const http_request& request() const { return req_; }

  // As Beast's message::keep_alive() for the same head: the first Connection header's tokens
  // ("keep-alive" for HTTP/1.0, no "close" for HTTP/1.1).
  bool keep_alive() const {
    const auto connection = find_header(req_.headers, "connection");
    namespace bhttp = boost::beast::http;
    if (req_.version < 11)
      return connection &&
             bhttp::token_list{string_view(connection->data(), connection->size())}.exists(
                 "keep-alive");
    return !connection ||
           !bhttp::token_list{string_view(connection->data(), connection->size())}.exists("close");
  }

  // The announced Content-Length is reserved up front (as string_body's reader) only once the
  // session said so: after server_options::admit_head admitted the request. Before that, the
  // body grows as its bytes arrive (bounded by the body limit), so that a client that announces
  // a large body it may never send holds no more memory than it sent.
  void reserve_announced(bool yes) { reserve_announced_ = yes; }

 private:
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code&) override {
    req_.method.assign(method.data(), method.size());
    req_.target.assign(target.data(), target.size());
    const std::string_view t(target.data(), target.size());
    const auto q = t.find('?');
    req_.path.assign(t.substr(0, q));
    if (q != std::string_view::npos) req_.query = parse_query(t.substr(q + 1));
    req_.version = static_cast<unsigned>(version);
    req_.headers.reserve(kHeaderTextReserve);
  }

  void on_response_impl(int, string_view, int, error_code&) override {}

  // Names as sent; values as Beast's fields store them (trimmed of spaces and tabs). Fields of a
  // chunked body's trailer section (after the head) are read and dropped: a trailer is not a
  // header (RFC 9110 section 6.5.1), and taking one as Authorization or Idempotency-Key would
  // pass by what a proxy in front checked in the head.
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    if (in_trailer_) return;
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    req_.headers.emplace_back(std::string_view(name.data(), name.size()),
                              std::string_view(value.data(), value.size()));
  }

  void on_header_impl(error_code&) override { in_trailer_ = true; }

  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    if (!length) return;
    if (*length > req_.body.max_size()) {
      ec = boost::beast::http::error::buffer_overflow;
      return;
    }
    if (reserve_announced_) req_.body.reserve(static_cast<std::size_t>(*length));
  }

  std::size_t on_body_impl(string_view body, error_code& ec) override { return append(body, ec); }

  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return append(body, ec);
  }

  void on_finish_impl(error_code&) override {}

  std::size_t append(string_view body, error_code& ec) {
    if (body.size() > req_.body.max_size() - req_.body.size()) {
      ec = boost::beast::http::error::buffer_overflow;
      return 0;
    }
    req_.body.append(body.data(), body.size());
    return body.size();
  }

  // The names and values of a usual request head fit (curl's or a client library's six to ten
  // fields); more grows the string.
  static constexpr std::size_t kHeaderTextReserve = 384;

  http_request req_;
  bool in_trailer_ = false;  // the head is read: further fields are the trailer's
  bool reserve_announced_ = false;
};

}  // namespace hooklog::http::detail
