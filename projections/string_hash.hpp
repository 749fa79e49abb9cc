#pragma once
// A hash of short strings (endpoint ids, tenants, event types) for the projections' in-memory
// maps, which the runner looks up several times per record: eight bytes at a time with a
// multiply-xorshift mix (the tail as one overlapping load).
// Transparent (string_view look-ups of std::string keys). Not seeded, like std::hash.
// Thread safety: stateless.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hooklog::projections {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    const char* p = s.data();
    std::size_t n = s.size();
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    if (n >= 8) {
      const char* last = p + n - 8;
      for (; n > 8; p += 8, n -= 8) h = mix(h ^ load<std::uint64_t>(p));
      h = mix(h ^ load<std::uint64_t>(last));  // the last 8 bytes (may overlap the word before)
    } else if (n >= 4) {
      h = mix(h ^ (load<std::uint32_t>(p) | std::uint64_t{load<std::uint32_t>(p + n - 4)} << 32));
    } else if (n > 0) {
      const auto b = [&](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
      h = mix(h ^ (b(0) | b(n / 2) << 8 | b(n - 1) << 16));
    }
    return static_cast<std::size_t>(h ^ (h >> 29));
  }

 private:
  template <class T>
  static T load(const char* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static std::uint64_t mix(std::uint64_t x) noexcept {
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 31);
  }
};

}  // namespace hooklog::projections
