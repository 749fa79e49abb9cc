#include "projections/json_path.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hooklog::projections {

namespace {

// The first byte in [p, end) that is one of `Cs` (end when none): 16 bytes at a time with SSE2.
// Body strings are short, and a memchr call per string (two with the backslash check) cost more
// than the scan of its bytes.
template <char... Cs>
const char* find_first_of(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_setzero_si128();
    ((hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, _mm_set1_epi8(Cs)))), ...);
    if (const int m = _mm_movemask_epi8(hit)) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  while (p < end && ((*p != Cs) && ...)) ++p;
  return p;
}

// Bytes that end a scalar (number or literal): ',', '}', ']' and JSON whitespace.
constexpr std::array<bool, 256> kScalarEnd = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {',', '}', ']', ' ', '\t', '\n', '\r'}) t[c] = true;
  return t;
}();

class scanner {
 public:
  explicit scanner(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  const char* pos() const { return p_; }
  bool at_end() const { return p_ >= end_; }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  void bump() { ++p_; }
  // Past JSON whitespace; a byte above ' ' (compact text has no whitespace) ends it at once.
  void ws() {
    constexpr std::uint64_t kSpaces = 1ull << ' ' | 1ull << '\n' | 1ull << '\r' | 1ull << '\t';
    while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           ((kSpaces >> static_cast<unsigned char>(*p_)) & 1) != 0)
      ++p_;
  }
  // At '"': moves past the closing quote; `inner` is the raw text between the quotes. A backslash
  // escapes the byte after it (so a quote after an odd run of backslashes is skipped).
  bool string(std::string_view& inner, bool& escaped) {
    if (peek() != '"') return false;
    const char* start = ++p_;
    escaped = false;
    for (const char* from = start;;) {
      const char* q = find_first_of<'"', '\\'>(from, end_);
      if (q < end_ && *q == '\\') {
        escaped = true;
        if (end_ - q >= 2) {
          from = q + 2;
          continue;
        }
        q = end_;  // a backslash ends the text
      }
      if (q == end_) {  // no closing quote
        p_ = end_;
        return false;
      }
      inner = std::string_view(start, static_cast<std::size_t>(q - start));
      p_ = q + 1;
      return true;
    }
  }
  bool value() {
    ws();
    char c = peek();
    if (c == '"') {
      std::string_view s;
      bool e;
      return string(s, e);
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      while ((p_ = find_first_of<'"', '{', '}', '[', ']'>(p_, end_)) < end_) {
        char d = *p_;
        if (d == '"') {
          std::string_view s;
          bool e;
          if (!string(s, e)) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        else if (d == '}' || d == ']') {
          if (--depth == 0) {
            ++p_;
            return true;
          }
        }
        ++p_;
      }
      return false;
    }
    const char* start = p_;
    while (p_ < end_ && !kScalarEnd[static_cast<unsigned char>(*p_)]) ++p_;
    return p_ > start;
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

bool split_json_pointer(std::string_view ptr, std::vector<std::string>& tokens) {
  tokens.clear();
  if (ptr.empty()) return true;
  if (ptr[0] != '/') return false;
  std::string cur;
  for (std::size_t i = 1; i <= ptr.size(); ++i) {
    if (i == ptr.size() || ptr[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (ptr[i] == '~') {
      if (i + 1 >= ptr.size() || (ptr[i + 1] != '0' && ptr[i + 1] != '1')) return false;
      cur.push_back(ptr[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    cur.push_back(ptr[i]);
  }
  return true;
}

path_lookup find_json_value(std::string_view doc, const std::vector<std::string>& tokens,
                            std::string_view& raw) {
  scanner s(doc);
  for (const auto& token : tokens) {
    s.ws();
    char c = s.peek();
    if (c == '{') {
      s.bump();
      bool found = false;
      for (;;) {
        s.ws();
        if (s.peek() == '}') return path_lookup::absent;
        std::string_view key;
        bool escaped;
        if (!s.string(key, escaped) || escaped) return path_lookup::fallback;
        s.ws();
        if (s.peek() != ':') return path_lookup::fallback;
        s.bump();
        // The first byte before the call to memcmp: most keys passed differ there.
        if (key.size() == token.size() && (key.empty() || key[0] == token[0]) && key == token) {
          found = true;  // a duplicate key later would win in a DOM; bodies rarely repeat keys
          break;
        }
        if (!s.value()) return path_lookup::fallback;
        s.ws();
        if (s.peek() == ',') {
          s.bump();
          continue;
        }
        if (s.peek() == '}') return path_lookup::absent;
        return path_lookup::fallback;
      }
      if (!found) return path_lookup::absent;
    } else if (c == '[') {
      std::size_t index = 0;
      if (token.empty() || (token.size() > 1 && token[0] == '0')) return path_lookup::absent;
      auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec != std::errc{} || ptr != token.data() + token.size()) return path_lookup::absent;
      s.bump();
      s.ws();
      if (s.peek() == ']') return path_lookup::absent;
      for (std::size_t i = 0; i < index; ++i) {
        if (!s.value()) return path_lookup::fallback;
        s.ws();
        if (s.peek() == ']') return path_lookup::absent;
        if (s.peek() != ',') return path_lookup::fallback;
        s.bump();
      }
    } else if (c == '\0') {
      return path_lookup::fallback;
    } else {
      return path_lookup::absent;  // a scalar has no members
    }
  }
  s.ws();
  const char* start = s.pos();
  if (!s.value()) return path_lookup::fallback;
  raw = std::string_view(start, static_cast<std::size_t>(s.pos() - start));
  return path_lookup::found;
}

}  // namespace hooklog::projections
