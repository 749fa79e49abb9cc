#pragma once
// Plain HTTP request/response values shared by the server, the client and the routes.
// No Beast/Asio types here: this header is cheap to include.
//
// Thread-safety: plain values; no internal synchronisation.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
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

// A request's header fields, in the order sent: names and values in one string (a request's
// fields cost one allocation, not one per value longer than std::string's inline 15 bytes, as
// Authorization and Content-Type are), their places in an array inside the object (a vector only
// past kInline fields). Iterating gives pair<string_view, string_view>, valid until the next
// change.
class request_headers {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;
  static constexpr std::size_t kInline = 12;

  request_headers() = default;
  request_headers(std::initializer_list<value_type> fields) {
    for (const auto& [name, value] : fields) emplace_back(name, value);
  }

  void emplace_back(std::string_view name, std::string_view value) {
    const place p{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()),
                  static_cast<std::uint32_t>(value.size())};
    text_.append(name).append(value);
    if (size_ < kInline)
      inline_[size_] = p;
    else
      more_.push_back(p);
    ++size_;
  }
  // Room for `bytes` of names and values (one allocation for a usual request head).
  void reserve(std::size_t bytes) { text_.reserve(bytes); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept {
    text_.clear();
    more_.clear();
    size_ = 0;
  }
  // The first value of field `name` (case-insensitive, as iequals).
  std::optional<std::string_view> find(std::string_view name) const noexcept {
    const std::string_view all(text_);
    for (std::size_t i = 0; i < size_; ++i) {
      const place& p = i < kInline ? inline_[i] : more_[i - kInline];
      if (p.name == name.size() && same_name(all.data() + p.at, name.data(), p.name))
        return all.substr(p.at + p.name, p.value);
    }
    return std::nullopt;
  }
  value_type operator[](std::size_t i) const noexcept {
    const place& p = i < kInline ? inline_[i] : more_[i - kInline];
    const std::string_view all(text_);
    return {all.substr(p.at, p.name), all.substr(p.at + p.name, p.value)};
  }

  class const_iterator {
   public:
    using value_type = request_headers::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    using iterator_category = std::forward_iterator_tag;
    const_iterator() = default;
    const_iterator(const request_headers* h, std::size_t i) : h_(h), i_(i) {}
    value_type operator*() const { return (*h_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }

   private:
    const request_headers* h_ = nullptr;
    std::size_t i_ = 0;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  // iequals for two names of `n` bytes, eight bytes at a time: ASCII 'A'-'Z' lowered in each
  // word (bytes over 0x7F compared as they are), then the words compared.
  static std::uint64_t lower_word(const char* p, std::size_t n) noexcept {
    std::uint64_t x = 0;
    std::memcpy(&x, p, n);
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const std::uint64_t low7 = x & ~kHigh;
    const std::uint64_t above_z = low7 + kOnes * (0x7F - 'Z');  // high bit: byte > 'Z'
    const std::uint64_t from_a = low7 + kOnes * (0x80 - 'A');   // high bit: byte >= 'A'
    const std::uint64_t upper = from_a & ~above_z & ~x & kHigh;  // ASCII 'A'-'Z'
    return x | (upper >> 2);
  }
  static bool same_name(const char* a, const char* b, std::size_t n) noexcept {
    for (; n >= 8; a += 8, b += 8, n -= 8)
      if (lower_word(a, 8) != lower_word(b, 8)) return false;
    return n == 0 || lower_word(a, n) == lower_word(b, n);
  }

  struct place {
    std::uint32_t at = 0;  // offset of the name in text_; the value follows it
    std::uint32_t name = 0;
    std::uint32_t value = 0;
  };
  std::string text_;
  std::array<place, kInline> inline_{};
  std::vector<place> more_;
  std::size_t size_ = 0;
};

// First value of header `name` (case-insensitive) in `headers`, or nullopt; the view lives as
// long as `headers` is not modified.
inline std::optional<std::string_view> find_header(const request_headers& headers,
                                                   std::string_view name) {
  return headers.find(name);
}

struct http_request {
  std::string method;   // as sent, e.g. "GET", "POST"
  std::string target;   // raw request target, e.g. "/v1/events?type=a%2Eb"
  std::string path;     // target up to '?', NOT percent-decoded (decode segments with url_decode)
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  request_headers headers;  // names as sent; look up with header()
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
