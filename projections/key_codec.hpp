#pragma once
// Byte helpers for projection keys and values. Integers in keys are big-endian
// so LMDB's byte order is numeric order; signed values have their sign bit
// flipped first so negative times sort before positive ones. Values use
// little-endian fixed-width fields. All functions are pure and thread-safe.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace hooklog::projections::keys {

// Big-endian word `w` of a key (zero past its end): comparing the words compares the bytes.
inline std::uint64_t be_word(const char* key, std::size_t size, std::size_t w) {
  unsigned char b[8] = {};
  if (size > w * 8) std::memcpy(b, key + w * 8, size - w * 8 < 8 ? size - w * 8 : 8);
  std::uint64_t v;
  std::memcpy(&v, b, 8);
  return __builtin_bswap64(v);
}

// A key's first 32 bytes as four big-endian words (zero-padded), kept beside the key by the sorts
// of staged keys: comparing heads compares most keys without touching their bytes. 32, not 24:
// a timeline key spends 4 bytes on its bucket and ~14 on tenant and kind before its entity id.
struct key_head {
  static constexpr std::size_t kWords = 4;
  std::uint64_t w[kWords];
};
inline key_head head_of(const char* key, std::size_t size) {
  key_head h;
  for (std::size_t i = 0; i < key_head::kWords; ++i) h.w[i] = be_word(key, size, i);
  return h;
}
// Orders keys as their bytes do (a shorter key before a longer one it prefixes): the heads, then
// the bytes past them, then the size. Returns <0, 0 or >0.
inline int compare_keys(const key_head& ha, std::string_view a, const key_head& hb,
                        std::string_view b) {
  for (std::size_t i = 0; i < key_head::kWords; ++i)
    if (ha.w[i] != hb.w[i]) return ha.w[i] < hb.w[i] ? -1 : 1;
  constexpr std::size_t kBytes = key_head::kWords * 8;
  const std::string_view ar = a.substr(std::min(kBytes, a.size()));
  const std::string_view br = b.substr(std::min(kBytes, b.size()));
  if (const int c = ar.compare(br); c != 0) return c;
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

// Writers at `p` for keys and values built in one resize: each returns past what it wrote, the
// same bytes as the put_ function of the same name, which appends them.
inline char* write_u64_be(char* p, std::uint64_t v) {
  v = __builtin_bswap64(v);  // little-endian hosts only, like write_le
  std::memcpy(p, &v, 8);
  return p + 8;
}
inline char* write_i64_be(char* p, std::int64_t v) {
  return write_u64_be(p, static_cast<std::uint64_t>(v) ^ (1ull << 63));
}
template <class T>
inline char* write_le(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  return p + sizeof(T);
}

inline void put_u64_be(std::string& out, std::uint64_t v) {
  char b[8];
  out.append(b, write_u64_be(b, v) - b);
}
inline std::uint64_t get_u64_be(std::string_view in) {
  std::uint64_t v;
  std::memcpy(&v, in.data(), 8);
  return __builtin_bswap64(v);
}
inline void put_i64_be(std::string& out, std::int64_t v) {
  char b[8];
  out.append(b, write_i64_be(b, v) - b);
}
inline std::int64_t get_i64_be(std::string_view in) {
  return static_cast<std::int64_t>(get_u64_be(in) ^ (1ull << 63));
}

template <class T>
inline void put_le(std::string& out, T v) {
  char b[sizeof(T)];
  out.append(b, write_le(b, v) - b);
}
template <class T>
inline T get_le(std::string_view in, std::size_t at = 0) {
  T v{};
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

// A u16-length string: a u16 LE length and the bytes of `s`, at most 0xFFFF of them (a longer
// string is cut there, its length saying what was kept). str16_size(): how many bytes that is.
inline std::size_t str16_size(std::string_view s) {
  return 2 + (s.size() < 0xFFFF ? s.size() : 0xFFFF);
}
// Writes them at `p`, which has str16_size(s) bytes of room; returns past them (for values built
// in one resize).
inline char* write_str16(char* p, std::string_view s) {
  const auto n = static_cast<std::uint16_t>(str16_size(s) - 2);
  std::memcpy(p, &n, 2);                        // little-endian hosts only, like put_le
  if (n != 0) std::memcpy(p + 2, s.data(), n);  // an empty view may have no data()
  return p + 2 + n;
}
// write_str16 of the first n bytes at `bytes` (n <= N), copying all N of them: a copy of fixed
// size (no call) for short strings kept in fixed arrays. `p` needs N - n bytes of room past the
// str16's own, which the caller cuts off after.
template <std::size_t N>
inline char* write_str16_fixed(char* p, const char* bytes, std::uint16_t n) {
  std::memcpy(p, &n, 2);  // little-endian hosts only, like write_str16
  std::memcpy(p + 2, bytes, N);
  return p + 2 + n;
}
inline void put_str16(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + str16_size(s));
  write_str16(out.data() + at, s);
}
// Reads a u16-length string at `at` and advances it; nullopt when truncated.
inline std::optional<std::string_view> get_str16(std::string_view in, std::size_t& at) {
  if (at + 2 > in.size()) return std::nullopt;
  auto n = get_le<std::uint16_t>(in, at);
  if (at + 2 + n > in.size()) return std::nullopt;
  auto s = in.substr(at + 2, n);
  at += 2 + n;
  return s;
}

// "a\0b" style composite key parts; ids never contain NUL (validated on input). write_part()
// writes one at `p` (part_size(s) bytes of room) and returns past it; put_part() appends it.
inline std::size_t part_size(std::string_view s) { return s.size() + 1; }
inline char* write_part(char* p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view may have no data()
  p[s.size()] = '\0';
  return p + s.size() + 1;
}
inline void put_part(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + part_size(s));
  write_part(out.data() + at, s);
}

}  // namespace hooklog::projections::keys
