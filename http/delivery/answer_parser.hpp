#pragma once
// The parser of an outbound answer (outbound.cpp, outbound_read.hpp): Beast's HTTP/1 response
// parsing (boost::beast::http::basic_parser<false>: the status line, the fields, Content-Length,
// chunked and end-of-file bodies, header_limit, body_limit and every error, unchanged), with the
// answer kept only as the outcome and the attempt record use it: the status, the fields in a
// header_list and the body's first excerpt_limit() bytes. Beast's response_parser<string_body>
// made one heap node per field, a buffer for the reason phrase and the whole body (reserved to
// Content-Length), all copied again into the outcome and freed with the parser, per answer.
//
// What it keeps and how it differs from response_parser<string_body> (answer_parser_test):
// * status(): 100 to 599; any other three digits fail the parse with error::bad_status (RFC 9110
//   15: a client treats such a code as a protocol failure here; before, 000 was recorded as
//   status 0, which the API reads as "no answer");
// * headers(): names as received, values trimmed of spaces and tabs at both ends
//   (basic_fields::new_element), in the order received (a repeated name stays where it came;
//   basic_fields moved it beside the first of its name);
// * excerpt(): the body's first excerpt_limit() bytes (the body pieces as Beast hands them, chunk
//   framing removed); the rest of the body is counted (body_bytes()) and dropped; past
//   read_limit() body bytes the parse fails with error::body_limit, after the excerpt is kept
//   (Beast's own body_limit refused a longer Content-Length before any body byte);
// * Transfer-Encoding together with Content-Length fails the parse with
//   error::bad_transfer_encoding in either order (RFC 9112 6.3: a sign of response splitting;
//   Beast refused only Content-Length after a chunked Transfer-Encoding);
// * keep_connection(): whether the connection may carry another request after this answer:
//   not when the body ended at the end of the stream (need_eof()), not when any Connection
//   field has "close", for HTTP/1.0 only with "keep-alive" and without Transfer-Encoding
//   (RFC 9112 6.1, 9.3).
// One answer per parser (as Beast's: construct a new one for the next answer).
//
// Threads: none of its own; used by one connection's handlers.
#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "http/delivery/message.hpp"

namespace hooklog::http {

class answer_parser : public boost::beast::http::basic_parser<false> {
 public:
  answer_parser() = default;

  // Body bytes kept (default: all of them) and read at most (default: no bound). Set before
  // the body is parsed; the parser's own body_limit is turned off.
  void excerpt_limit(std::size_t n) { excerpt_limit_ = n; }
  void read_limit(std::uint64_t n) {
    read_limit_ = n;
    body_limit(boost::none);
  }

  unsigned status() const { return status_; }
  int version() const { return version_; }
  header_list& headers() { return headers_; }
  std::string& excerpt() { return excerpt_; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  bool keep_connection() const;

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;
  using field = boost::beast::http::field;
  using verb = boost::beast::http::verb;

  void on_request_impl(verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(field name, string_view name_string, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override { ec = {}; }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override { ec = {}; }

  unsigned status_ = 0;
  int version_ = 0;
  header_list headers_;
  std::string excerpt_;
  std::size_t excerpt_limit_ = std::numeric_limits<std::size_t>::max();
  std::uint64_t read_limit_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t body_bytes_ = 0;
  bool close_token_ = false;       // a Connection field has "close"
  bool keep_alive_token_ = false;  // a Connection field has "keep-alive"
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
};

}  // namespace hooklog::http
