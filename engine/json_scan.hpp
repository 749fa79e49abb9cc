#pragma once
// The lexical half of the one-pass JSON scan (engine/json_fields.hpp): whitespace, strings
// (UTF-8 and escapes checked), numbers, literals, over a cursor into the text. Internal to the
// engine; every check returns false to bail out (the text is not plain: see json_fields.hpp),
// after which the cursor is meaningless.
//
// Stricter than nlohmann's parser in a few rare cases, never looser: a \u escape of a surrogate
// (the parser checks pairs), a number whose magnitude could pass a double's range.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/utf8.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hooklog::detail {

class json_lexer {
 protected:
  explicit json_lexer(std::string_view text)
      : t_(text), p_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()) {}

  bool at(char c) const { return i_ < n_ && t_[i_] == c; }
  bool digit() const { return i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9'; }
  static bool space(unsigned char c) {
    constexpr std::uint64_t kSpaces = 1ull << ' ' | 1ull << '\n' | 1ull << '\r' | 1ull << '\t';
    return c <= ' ' && ((kSpaces >> c) & 1) != 0;
  }
  // Past the whitespace at the cursor. Inline, only the test of the first byte: compact text
  // has no whitespace, and the scan calls this about four times per member.
  void ws() {
    if (i_ < n_ && space(p_[i_])) skip_space();
  }
  // Pretty-printed text: a newline and an indent before most members, 16 bytes at a time.
  [[gnu::noinline]] void skip_space() {
    std::size_t i = i_;
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(' '), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                  tab = _mm_set1_epi8('\t');
    while (i + 16 <= n_) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
      const __m128i is = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, sp), _mm_cmpeq_epi8(x, nl)),
                                      _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, tab)));
      const int not_space = ~_mm_movemask_epi8(is) & 0xFFFF;
      if (not_space != 0) {
        i_ = i + static_cast<std::size_t>(__builtin_ctz(not_space));
        return;
      }
      i += 16;
    }
#endif
    while (i < n_ && space(p_[i])) ++i;
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
        raw = std::string_view(t_.data() + start, i_ - start);
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

  // The first offset from `i` on that holds a quote, a backslash, a control character or a
  // byte >= 0x80 (n_ when none): 16 bytes at a time with SSE2, else 8 (locals only: a member
  // cursor would be reloaded after every byte read).
  std::size_t plain_run(std::size_t i) const {
    const unsigned char* p = p_;
    const std::size_t n = n_;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      // Signed: bytes >= 0x80 are negative, so "below 0x20" takes them with the controls.
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, slash)),
                       _mm_cmplt_epi8(x, space));
      if (const int m = _mm_movemask_epi8(hit))
        return i + static_cast<std::size_t>(__builtin_ctz(m));
      i += 16;
    }
#endif
    constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
    while (i + 8 <= n) {
      std::uint64_t x;
      std::memcpy(&x, p + i, 8);
      const std::uint64_t quote8 = x ^ (kOnes * '"'), slash8 = x ^ (kOnes * '\\');
      // A zero byte in quote8 or slash8, a byte below 0x20, or a high bit. The lowest byte
      // flagged is a true hit (a borrow runs only upwards from one); bytes are little-endian.
      const std::uint64_t hit =
          (((quote8 - kOnes) & ~quote8) | ((slash8 - kOnes) & ~slash8) | (x - kOnes * 0x20) | x) &
          kHighs;
      if (hit != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return i + static_cast<std::size_t>(__builtin_ctzll(hit) / 8);
#else
        break;
#endif
      }
      i += 8;
    }
    while (i < n && !special(p[i])) ++i;
    return i;
  }

  static bool special(unsigned char c) {
    return c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
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
        const int v = hex4(i_ + 2);
        if (v < 0) return false;
        if (v >= 0xD800 && v <= 0xDFFF) return false;  // surrogates: the parser checks pairs
        i_ += 6;
        return true;
      }
      default:
        return false;
    }
  }

  // The value of the four hex digits at `at`, or -1.
  int hex4(std::size_t at) const {
    int v = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const unsigned char h = p_[k];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= h - '0';
      } else if (h >= 'a' && h <= 'f') {
        v |= h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        v |= h - 'A' + 10;
      } else {
        return -1;
      }
    }
    return v;
  }

  // At a byte >= 0x80: one well-formed UTF-8 sequence (RFC 3629, engine/utf8.hpp).
  bool utf8() {
    const std::size_t len = ::hooklog::utf8::sequence_length(p_ + i_, n_ - i_);
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

  // A number from `start` to the cursor that is an integer of at most 18 digits: its sign and
  // magnitude (the parser types it unsigned when not negative, signed when negative). False
  // for a fraction, an exponent or more digits.
  bool small_integer(std::size_t start, bool& negative, std::uint64_t& magnitude) const {
    negative = p_[start] == '-';
    const std::size_t first = start + (negative ? 1 : 0);
    if (i_ - first > 18) return false;
    std::uint64_t v = 0;
    for (std::size_t k = first; k < i_; ++k) {
      if (p_[k] < '0' || p_[k] > '9') return false;
      v = v * 10 + (p_[k] - '0');
    }
    magnitude = v;
    return true;
  }

  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  std::string_view t_;
  const unsigned char* p_;
  std::size_t n_;
  std::size_t i_ = 0;
};

}  // namespace hooklog::detail
