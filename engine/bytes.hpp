#pragma once
// Little helpers for fixed-width integers in byte strings. Keys use big-endian
// so that LMDB's lexicographic order is numeric order; record fields use
// little-endian.
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace hooklog::bytes {

inline void put_le64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
inline void put_le32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 4);
}
inline void put_le16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v));
  out.push_back(static_cast<char>(v >> 8));
}
inline std::uint64_t get_le(const void* p, int n) {
  // One load for the usual widths on a little-endian host (n is a constant where this is
  // inlined, so the tests fold away; the byte loop was ~20 instructions per field of a record).
  if constexpr (std::endian::native == std::endian::little) {
    if (n == 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    if (n == 4) {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    if (n == 2) {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
  }
  const auto* b = static_cast<const unsigned char*>(p);
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}
inline void store_le64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

inline void put_be64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * (7 - i)));
  out.append(b, 8);
}
inline std::uint64_t get_be64(std::string_view s) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
inline std::string be64(std::uint64_t v) {
  std::string s;
  put_be64(s, v);
  return s;
}
// Signed values ordered correctly as unsigned big-endian (sign bit flipped).
inline std::uint64_t ordered_signed(std::int64_t v) {
  return static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63);
}

std::string to_hex(const void* data, std::size_t n);
// The bytes of lowercase hex (to_hex's form); nullopt for an odd length or any other character.
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace hooklog::bytes
