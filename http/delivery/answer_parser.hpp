#pragma once
// The parser of an outbound answer (outbound.cpp, outbound_read.hpp): Beast's HTTP/1 response
// parsing (boost::beast::http::basic_parser<false>: the status line, the fields, Content-Length,
// chunked and end-of-file bodies, header_limit, body_limit and every error, unchanged), with the
// answer kept only as the outcome and the attempt record use it: the status, the fields in a
// header_list and the body's first excerpt_limit() bytes. Beast's response_parser<string_body>
// made one heap node per field, a buffer for the reason phrase and the whole body (reserved to
// Content-Length), all copied again into the outcome and freed with the parser, per answer.
//
// The values are exactly what response_parser<string_body> followed by a copy of its message's
// fields and body gave (tests/http/delivery/answer_parser_test.cpp compares the two):
// * headers(): in the message's iteration order: the order received, except that a field whose
//   name equals an earlier one's (ASCII case-insensitive) goes right after the last such field
//   (basic_fields keeps duplicates together); names as received, values trimmed of spaces and
//   tabs at both ends (basic_fields::new_element);
// * excerpt(): the body's first excerpt_limit() bytes (the body pieces as Beast hands them, chunk
//   framing removed); the rest of the body is parsed and dropped;
// * keep_alive_as_message(): message::keep_alive() of that message: by the first Connection
//   field only: HTTP/1.1 and later keep alive unless its token list has "close", HTTP/1.0 only
//   when it has "keep-alive". (basic_parser::keep_alive() reads every Connection field and says
//   no to an answer delimited by the end of the stream; the outbound client decided by the
//   message, and still does.)
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

  // Body bytes kept (default: all of them). Set before the body is parsed.
  void excerpt_limit(std::size_t n) { excerpt_limit_ = n; }

  unsigned status() const { return status_; }
  int version() const { return version_; }
  header_list& headers() { return headers_; }
  std::string& excerpt() { return excerpt_; }
  bool keep_alive_as_message() const;

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
  bool has_connection_ = false;
  std::string connection_;  // the first Connection field's value
};

}  // namespace hooklog::http
