#include "http/delivery/answer_parser.hpp"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace hooklog::http {

namespace {
// basic_fields::new_element's trim (Beast's detail::trim): spaces and tabs at both ends.
boost::beast::string_view trimmed(boost::beast::string_view s) {
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && ows(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }
}  // namespace

bool answer_parser::keep_connection() const {
  if (need_eof() || close_token_) return false;
  if (version_ < 11) return keep_alive_token_ && !has_transfer_encoding_;
  return true;
}

void answer_parser::on_response_impl(int code, string_view, int version, error_code& ec) {
  status_ = static_cast<unsigned>(code);
  version_ = version;
  ec = {};
  if (code < 100 || code > 599) ec = boost::beast::http::error::bad_status;
}

void answer_parser::on_field_impl(field name, string_view name_string, string_view value, error_code& ec) {
  namespace bhttp = boost::beast::http;
  value = trimmed(value);
  ec = {};
  if (name == field::connection) {
    bhttp::token_list tokens{value};
    close_token_ = close_token_ || tokens.exists("close");
    keep_alive_token_ = keep_alive_token_ || tokens.exists("keep-alive");
  } else if (name == field::content_length) {
    has_content_length_ = true;
  } else if (name == field::transfer_encoding) {
    has_transfer_encoding_ = true;
  }
  if (has_content_length_ && has_transfer_encoding_) {
    ec = bhttp::error::bad_transfer_encoding;
    return;
  }
  if (headers_.empty()) headers_.reserve(8);
  headers_.emplace_back(std::string(sv(name_string)), std::string(sv(value)));
}

void answer_parser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) {
  if (content_length) excerpt_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*content_length, excerpt_limit_)));
  ec = {};
}

std::size_t answer_parser::on_body_impl(string_view body, error_code& ec) {
  if (excerpt_.size() < excerpt_limit_)
    excerpt_.append(body.data(), std::min(body.size(), excerpt_limit_ - excerpt_.size()));
  body_bytes_ += body.size();
  ec = {};
  if (body_bytes_ > read_limit_) ec = boost::beast::http::error::body_limit;
  return body.size();
}

std::size_t answer_parser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace hooklog::http
