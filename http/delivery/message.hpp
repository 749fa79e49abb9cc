#pragma once
// Plain HTTP request/response values shared by the server, the client and the routes.
// No Beast/Asio types here: this header is cheap to include.
//
// Thread-safety: plain values; no internal synchronisation.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hooklog::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality, for header names.
bool iequals(std::string_view a, std::string_view b) noexcept;

// First value of header `name` (case-insensitive) in `headers`, or nullopt.
// The view points into `headers` and lives as long as it is not modified.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name);

// Decodes %XX escapes; with `plus_is_space` also '+' -> ' ' (query strings).
// Malformed escapes are kept literally.
std::string url_decode(std::string_view s, bool plus_is_space = false);

// Splits "a=1&b=x%20y&c" into decoded pairs ({"a","1"},{"b","x y"},{"c",""}).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

struct http_request {
  std::string method;   // as sent, e.g. "GET", "POST"
  std::string target;   // raw request target, e.g. "/v1/events?type=a%2Eb"
  std::string path;     // target up to '?', NOT percent-decoded (decode segments with url_decode)
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  header_list headers;  // names as sent; look up with header()
  std::string body;
  std::string remote;   // peer address "127.0.0.1:54321" or "[::1]:54321"
  unsigned version = 11;  // 10 or 11

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  // First value of query parameter `name` (case-sensitive), decoded.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  header_list headers;  // extra headers; Content-Length/Connection are set by the server

  static http_response json(unsigned status, std::string body) {
    return http_response{status, "application/json", std::move(body), {}};
  }
  static http_response text(unsigned status, std::string body) {
    return http_response{status, "text/plain; charset=utf-8", std::move(body), {}};
  }
};

}  // namespace hooklog::http
