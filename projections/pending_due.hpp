#pragma once
// The values of "pending_due" (layout 2, pending.hpp): the entries of one (due time, event) key,
// one per endpoint in byte order of the ids:
//   endpoint id (u16 LE length, bytes) | attempt u32 LE | replay id (u16 LE length, bytes)
// Pure functions; views point into the value they were read from.
#include <cstdint>
#include <string>
#include <string_view>

#include "projections/key_codec.hpp"

namespace hooklog::projections::pending_due {

// One entry, as read.
struct due_entry {
  std::string_view ep;
  std::uint32_t attempt = 0;
  std::string_view replay;
};
inline void put_due_entry(std::string& v, std::string_view ep, std::uint32_t attempt,
                          std::string_view replay) {
  keys::put_str16(v, ep);
  keys::put_le<std::uint32_t>(v, attempt);
  keys::put_str16(v, replay);
}
// Reads the entry at `at` and advances it; false at the end or when truncated.
inline bool next_due_entry(std::string_view v, std::size_t& at, due_entry& e) {
  auto ep = keys::get_str16(v, at);
  if (!ep || at + 4 > v.size()) return false;
  e.ep = *ep;
  e.attempt = keys::get_le<std::uint32_t>(v, at);
  at += 4;
  auto replay = keys::get_str16(v, at);
  if (!replay) return false;
  e.replay = *replay;
  return true;
}
// Merges two values whose entries are in endpoint order into `out` (an endpoint in both: the
// entry of `add`).
inline void merge_due(std::string& out, std::string_view old, std::string_view add) {
  out.clear();
  std::size_t i = 0, j = 0;
  due_entry a, b;
  bool has_a = next_due_entry(old, i, a), has_b = next_due_entry(add, j, b);
  while (has_a || has_b) {
    if (has_b && (!has_a || b.ep <= a.ep)) {
      if (has_a && a.ep == b.ep) has_a = next_due_entry(old, i, a);
      put_due_entry(out, b.ep, b.attempt, b.replay);
      has_b = next_due_entry(add, j, b);
    } else {
      put_due_entry(out, a.ep, a.attempt, a.replay);
      has_a = next_due_entry(old, i, a);
    }
  }
}

}  // namespace hooklog::projections::pending_due
