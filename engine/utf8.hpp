#pragma once
// UTF-8 well-formedness (RFC 3629, table 3-7 of Unicode): the one definition the JSON scanner
// (engine/json_scan.hpp) and the checks of text that does not come through it (a URL's ?type=, an
// Idempotency-Key header: engine/source.hpp's find_text_fault) share.
//
// Thread safety: pure functions.
#include <cstddef>
#include <string_view>

namespace hooklog::utf8 {

// The length (2 to 4) of the well-formed sequence that starts at p[0] (a byte >= 0x80), n bytes
// being readable from p; 0 when the bytes are not one (a stray continuation byte, an overlong
// form, a surrogate, past U+10FFFF, or cut short).
inline std::size_t sequence_length(const unsigned char* p, std::size_t n) {
  auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < n && p[k] >= lo && p[k] <= hi;
  };
  const unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// The offset of the first byte of s that does not begin a well-formed sequence, or npos.
inline std::size_t find_invalid(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = sequence_length(p + i, s.size() - i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace hooklog::utf8
