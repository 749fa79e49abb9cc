#include "http/server_response.hpp"

#include <charconv>

namespace hooklog::http {

namespace {

// As Beast stores a field value (detail::trim): without leading and trailing spaces and tabs.
std::string_view trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(trimmed(value)).append("\r\n");
}

}  // namespace

bool response_head(const http_response& r, const response_framing& f, std::string& h) {
  const unsigned status = r.status;
  const bool bodiless_status = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (bodiless_status && !f.head && !r.body.empty()) return false;
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const std::string_view k = r.headers[i].first;
    if (iequals(k, "connection") || iequals(k, "content-length") ||
        iequals(k, "transfer-encoding") || (!f.server_name.empty() && iequals(k, "server")) ||
        (!r.content_type.empty() && iequals(k, "content-type")))
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (iequals(k, r.headers[j].first)) return false;
  }
  namespace bhttp = boost::beast::http;
  const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  std::size_t size = 80 + reason.size() + f.server_name.size() + r.content_type.size();
  for (const auto& [k, v] : r.headers) size += k.size() + v.size() + 4;
  h.reserve(h.size() + size);
  // "HTTP/X.Y ### <reason>\r\n", digits as Beast's fields writer computes them.
  const char line[] = {'H',
                       'T',
                       'T',
                       'P',
                       '/',
                       static_cast<char>('0' + f.version / 10),
                       '.',
                       static_cast<char>('0' + f.version % 10),
                       ' ',
                       static_cast<char>('0' + status / 100),
                       static_cast<char>('0' + (status / 10) % 10),
                       static_cast<char>('0' + status % 10),
                       ' '};
  h.append(line, sizeof line).append(reason).append("\r\n");
  if (!f.server_name.empty()) append_field(h, "Server", f.server_name);
  if (!r.content_type.empty()) append_field(h, "Content-Type", r.content_type);
  for (const auto& [k, v] : r.headers) append_field(h, k, v);
  // Beast's keep_alive(): HTTP/1.1 says "close" when not kept alive, HTTP/1.0 "keep-alive" when
  // it is; otherwise no Connection header.
  if (f.version < 11) {
    if (f.keep_alive) h.append("Connection: keep-alive\r\n");
  } else if (!f.keep_alive) {
    h.append("Connection: close\r\n");
  }
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr;
  h.append("Content-Length: ").append(digits, end).append("\r\n\r\n");
  return true;
}

}  // namespace hooklog::http
