#include "http/delivery/answer_parser.hpp"

#include <algorithm>
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

bool answer_parser::keep_alive_as_message() const {
  namespace bhttp = boost::beast::http;
  if (version_ < 11) return has_connection_ && bhttp::token_list{connection_}.exists("keep-alive");
  return !has_connection_ || !bhttp::token_list{connection_}.exists("close");
}

void answer_parser::on_response_impl(int code, string_view, int version, error_code& ec) {
  status_ = static_cast<unsigned>(code);
  version_ = version;
  ec = {};
}

void answer_parser::on_field_impl(field name, string_view name_string, string_view value, error_code& ec) {
  value = trimmed(value);
  if (name == field::connection && !has_connection_) {
    has_connection_ = true;
    connection_.assign(value.data(), value.size());
  }
  if (headers_.empty()) headers_.reserve(8);
  // basic_fields keeps fields of one name together: a repeat goes after the last of its name.
  const auto n = sv(name_string);
  auto last = std::find_if(headers_.rbegin(), headers_.rend(), [&](const auto& h) { return iequals(h.first, n); });
  auto at = last == headers_.rend() ? headers_.end() : last.base();
  headers_.emplace(at, std::string(n), std::string(sv(value)));
  ec = {};
}

void answer_parser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) {
  if (content_length) excerpt_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*content_length, excerpt_limit_)));
  ec = {};
}

std::size_t answer_parser::on_body_impl(string_view body, error_code& ec) {
  if (excerpt_.size() < excerpt_limit_)
    excerpt_.append(body.data(), std::min(body.size(), excerpt_limit_ - excerpt_.size()));
  ec = {};
  return body.size();
}

std::size_t answer_parser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace hooklog::http
