#include "engine/json_extract.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace hooklog {
namespace {

using nlohmann::json;

// Bytes a string scan stops at: the closing quote, an escape, a control character, non-ASCII.
constexpr std::array<bool, 256> make_special() {
  std::array<bool, 256> s{};
  for (int c = 0; c < 256; ++c) s[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
  return s;
}
constexpr std::array<bool, 256> kSpecial = make_special();

constexpr std::size_t kMaxWatchedPerObject = 16;  // more watched members met: the full path

// Every member returns false to bail out (the text is not plain, see the header); the cursor
// is then meaningless.
class scanner {
 public:
  scanner(std::string_view text, const key_paths& watched, int max_depth)
      : t_(text),
        p_(reinterpret_cast<const unsigned char*>(text.data())),
        n_(text.size()),
        w_(watched),
        max_depth_(max_depth) {}

  std::optional<json> run() {
    ws();
    if (!at('{')) return std::nullopt;  // not an object, a byte order mark, or not JSON
    json doc = json::object();
    if (!object(0, &doc)) return std::nullopt;
    ws();
    if (i_ != n_) return std::nullopt;
    return doc;
  }

 private:
  bool at(char c) const { return i_ < n_ && t_[i_] == c; }
  bool digit() const { return i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9'; }
  void ws() {
    std::size_t i = i_;
    while (i < n_ && (p_[i] == ' ' || p_[i] == '\n' || p_[i] == '\r' || p_[i] == '\t')) ++i;
    i_ = i;
  }

  // At the opening quote: moves past the closing one. `raw` is the text between the quotes,
  // `escaped` whether it holds a backslash.
  bool string(std::string_view& raw, bool& escaped) {
    const std::size_t start = ++i_;
    escaped = false;
    for (;;) {
      i_ = plain_run(i_);
      if (i_ >= n_) return false;
      const unsigned char c = p_[i_];
      if (c == '"') {
        raw = t_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (!escape()) return false;
      } else if (c < 0x20 || !utf8()) {
        return false;
      }
    }
  }

  // The first offset from `i` on that holds a byte kSpecial names (n_ when none): eight bytes
  // at a time, locals only (a member cursor would be reloaded after every byte read).
  std::size_t plain_run(std::size_t i) const {
    const unsigned char* p = p_;
    const std::size_t n = n_;
    constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
    while (i + 8 <= n) {
      std::uint64_t x;
      std::memcpy(&x, p + i, 8);
      const std::uint64_t quote = x ^ (kOnes * '"'), slash = x ^ (kOnes * '\\');
      // A zero byte in quote or slash, a byte below 0x20, or a high bit: see the bytes one by one.
      const std::uint64_t hit =
          ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | (x - kOnes * 0x20) | x;
      if (hit & kHighs) break;
      i += 8;
    }
    while (i < n && !kSpecial[p[i]]) ++i;
    return i;
  }

  bool escape() {
    if (i_ + 1 >= n_) return false;
    switch (p_[i_ + 1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        i_ += 2;
        return true;
      case 'u': {
        if (i_ + 6 > n_) return false;
        unsigned v = 0;
        for (std::size_t k = 2; k < 6; ++k) {
          const unsigned char h = p_[i_ + k];
          v <<= 4;
          if (h >= '0' && h <= '9') {
            v |= h - '0';
          } else if (h >= 'a' && h <= 'f') {
            v |= h - 'a' + 10;
          } else if (h >= 'A' && h <= 'F') {
            v |= h - 'A' + 10;
          } else {
            return false;
          }
        }
        if (v >= 0xD800 && v <= 0xDFFF) return false;  // surrogates: the parser checks pairs
        i_ += 6;
        return true;
      }
      default:
        return false;
    }
  }

  // At a byte >= 0x80: one well-formed UTF-8 sequence (RFC 3629, the parser's table).
  bool utf8() {
    auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
      return i_ + k < n_ && p_[i_ + k] >= lo && p_[i_ + k] <= hi;
    };
    const unsigned char c = p_[i_];
    std::size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
      len = cont(1) ? 2 : 0;
    } else if (c == 0xE0) {
      len = cont(1, 0xA0) && cont(2) ? 3 : 0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = cont(1) && cont(2) ? 3 : 0;
    } else if (c == 0xED) {
      len = cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    } else if (c == 0xF0) {
      len = cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = cont(1) && cont(2) && cont(3) ? 4 : 0;
    } else if (c == 0xF4) {
      len = cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    } else {
      len = 0;
    }
    i_ += len;
    return len != 0;
  }

  // RFC 8259 number grammar. Numbers whose magnitude could pass a double's range bail out
  // (the parser refuses them as out of range).
  bool number() {
    if (at('-')) ++i_;
    const std::size_t int_start = i_;
    if (at('0')) {
      ++i_;
    } else if (digit()) {
      while (digit()) ++i_;
    } else {
      return false;
    }
    const long int_digits = static_cast<long>(i_ - int_start);
    if (at('.')) {
      ++i_;
      if (!digit()) return false;
      while (digit()) ++i_;
    }
    long exponent = 0;
    if (at('e') || at('E')) {
      ++i_;
      bool negative = false;
      if (at('+') || at('-')) negative = t_[i_++] == '-';
      if (!digit()) return false;
      const std::size_t start = i_;
      while (digit()) {
        if (i_ - start < 6) exponent = exponent * 10 + (p_[i_] - '0');
        ++i_;
      }
      if (i_ - start >= 6) return false;
      if (negative) exponent = -exponent;
    }
    return int_digits + exponent <= 300;
  }

  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  // The text from `start` to the cursor, parsed in full into *out.
  bool parse_span(std::size_t start, json* out) {
    json v = json::parse(t_.begin() + static_cast<std::ptrdiff_t>(start),
                         t_.begin() + static_cast<std::ptrdiff_t>(i_), nullptr, false);
    if (v.is_discarded()) return false;
    *out = std::move(v);
    return true;
  }

  // A number from `start` to the cursor that is an integer of at most 18 digits, as the parser
  // types it (unsigned when not negative, signed when negative); false for anything else.
  bool small_integer(std::size_t start, json* out) const {
    const bool negative = p_[start] == '-';
    const std::size_t first = start + (negative ? 1 : 0);
    if (i_ - first > 18) return false;
    std::uint64_t v = 0;
    for (std::size_t k = first; k < i_; ++k) {
      if (p_[k] < '0' || p_[k] > '9') return false;  // a fraction or an exponent
      v = v * 10 + (p_[k] - '0');
    }
    if (negative) {
      *out = -static_cast<std::int64_t>(v);
    } else {
      *out = v;
    }
    return true;
  }

  // The value at the cursor. `node`: the watched node it is, or -1 (then `out` is unused).
  bool value(int node, json* out) {
    ws();
    if (i_ >= n_) return false;
    const std::size_t start = i_;
    switch (t_[i_]) {
      case '{':
        if (node >= 0 && w_.has_children(node)) {
          *out = json::object();
          return object(node, out);
        }
        return object(-1, nullptr) && (node < 0 || parse_span(start, out));
      case '[':
        return array() && (node < 0 || parse_span(start, out));
      case '"': {
        std::string_view raw;
        bool escaped = false;
        if (!string(raw, escaped)) return false;
        if (node < 0) return true;
        if (escaped) return parse_span(start, out);
        *out = std::string(raw);
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        if (node >= 0) *out = true;
        return true;
      case 'f':
        if (!literal("false")) return false;
        if (node >= 0) *out = false;
        return true;
      case 'n':
        if (!literal("null")) return false;
        if (node >= 0) *out = nullptr;
        return true;
      default:
        if (!number()) return false;
        if (node < 0) return true;
        return small_integer(start, out) || parse_span(start, out);
    }
  }

  // At '{'. `node` >= 0: a watched object; its watched members go into *out.
  bool object(int node, json* out) {
    if (++depth_ > max_depth_) return false;
    ++i_;
    ws();
    if (at('}')) {
      ++i_;
      --depth_;
      return true;
    }
    std::array<int, kMaxWatchedPerObject> seen{};
    std::size_t seen_count = 0;
    for (;;) {
      ws();
      if (!at('"')) return false;
      std::string_view key;
      bool escaped = false;
      if (!string(key, escaped)) return false;
      int child = -1;
      if (node >= 0) {
        if (escaped) return false;  // "typ\u0065" is "type": the full path compares unescaped
        child = w_.child(node, key);
      }
      ws();
      if (!at(':')) return false;
      ++i_;
      if (child >= 0) {
        for (std::size_t k = 0; k < seen_count; ++k)
          if (seen[k] == child) return false;  // a duplicate the full path refuses
        if (seen_count == seen.size()) return false;
        seen[seen_count++] = child;
        if (!value(child, &(*out)[std::string(key)])) return false;
      } else if (!value(-1, nullptr)) {
        return false;
      }
      ws();
      if (at(',')) {
        ++i_;
        continue;
      }
      if (!at('}')) return false;
      ++i_;
      --depth_;
      return true;
    }
  }

  // At '['. Arrays are only validated (a watched one is parsed in full by the caller).
  bool array() {
    if (++depth_ > max_depth_) return false;
    ++i_;
    ws();
    if (at(']')) {
      ++i_;
      --depth_;
      return true;
    }
    for (;;) {
      if (!value(-1, nullptr)) return false;
      ws();
      if (at(',')) {
        ++i_;
        continue;
      }
      if (!at(']')) return false;
      ++i_;
      --depth_;
      return true;
    }
  }

  std::string_view t_;
  const unsigned char* p_;
  std::size_t n_;
  std::size_t i_ = 0;
  const key_paths& w_;
  int max_depth_;
  int depth_ = 0;
};

}  // namespace

std::optional<nlohmann::json> extract_watched(std::string_view text, const key_paths& watched,
                                              int max_depth) {
  return scanner(text, watched, max_depth).run();
}

}  // namespace hooklog
