#pragma once
// Key and value codecs of the pending databases (pending.hpp describes the layouts), shared by
// pending.cpp, pending_due.cpp, pending_ix.cpp (writes) and pending_reads.cpp (reads). Internal
// to those files: the helpers have internal linkage, so each keeps its own copy and the compiler
// inlines them as it did when they were local to one file.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "projections/key_codec.hpp"
#include "projections/pending.hpp"

namespace hooklog::projections {
namespace {  // NOLINT(build/namespaces): internal to pending*.cpp

[[maybe_unused]] void due_key(std::string& k, std::int64_t due, std::uint64_t seq) {
  k.clear();
  keys::put_i64_be(k, due);
  keys::put_u64_be(k, seq);
}
// One entry of a pending_due value, as read.
struct due_entry {
  std::string_view ep;
  std::uint32_t attempt = 0;
  std::string_view replay;
};
// Appends one entry in one resize (a new event's value is built entry by entry).
[[maybe_unused]] void put_due_entry(std::string& v, std::string_view ep, std::uint32_t attempt,
                                    std::string_view replay) {
  const std::size_t at = v.size();
  v.resize(at + keys::str16_size(ep) + 4 + keys::str16_size(replay));
  char* p = keys::write_str16(v.data() + at, ep);
  std::memcpy(p, &attempt, 4);
  keys::write_str16(p + 4, replay);
}
// Reads the entry at `at` and advances it; false at the end or when truncated.
[[maybe_unused]] bool next_due_entry(std::string_view v, std::size_t& at, due_entry& e) {
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
[[maybe_unused]] void merge_due(std::string& out, std::string_view old, std::string_view add) {
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

[[maybe_unused]] void ix_key(std::string& k, std::string_view ep, std::uint64_t seq) {
  k.clear();
  keys::put_part(k, ep);
  keys::put_u64_be(k, seq);
}
[[maybe_unused]] void replay_key(std::string& k, std::string_view replay, std::string_view ep,
                                 std::uint64_t seq) {
  k.clear();
  keys::put_part(k, replay);
  keys::put_part(k, ep);
  keys::put_u64_be(k, seq);
}
[[maybe_unused]] void ix_value(std::string& v, const pending_item& it) {
  v.clear();
  v.push_back(it.parked ? 1 : 0);
  keys::put_le<std::int64_t>(v, it.due_us);
  keys::put_le<std::uint32_t>(v, it.attempt);
  v.append(it.replay_id);
}
// An item's value (ix_value) into `it`, its strings assigned in place (no allocation once they
// have the room); false when it is malformed. The endpoint and seq are the caller's.
[[maybe_unused]] bool decode_ix_value(std::string_view v, pending_item& it) {
  if (v.size() < 13) return false;
  it.parked = v[0] != 0;
  it.due_us = keys::get_le<std::int64_t>(v, 1);
  it.attempt = keys::get_le<std::uint32_t>(v, 9);
  it.replay_id.assign(v.substr(13));
  return true;
}

// pending_ix blocks (layout 3): the key of endpoint `ep`'s block `block` (event seq / kIxBlock).
[[maybe_unused]] void ix_block_key(std::string& k, std::string_view ep, std::uint64_t block) {
  k.clear();
  keys::put_part(k, ep);
  keys::put_u64_be(k, block);
}
// One item of a block's value: its seq's offset in the block (u8), its value (ix_value) with a
// u16 LE length.
struct ix_item {
  unsigned offset = 0;
  std::string_view value;
};
[[maybe_unused]] void put_ix_item(std::string& v, unsigned offset, std::string_view value) {
  const std::size_t at = v.size();
  v.resize(at + 1 + keys::str16_size(value));
  v[at] = static_cast<char>(offset);
  keys::write_str16(v.data() + at + 1, value);
}
// Reads the item at `at` and advances it; false at the end or when truncated.
[[maybe_unused]] bool next_ix_item(std::string_view v, std::size_t& at, ix_item& e) {
  if (at >= v.size()) return false;
  e.offset = static_cast<unsigned char>(v[at]);
  std::size_t after = at + 1;
  auto value = keys::get_str16(v, after);
  if (!value) return false;
  e.value = *value;
  at = after;
  return true;
}
// The item of `offset` in a block's value: its value, and [begin, end) of the whole item in
// `v`; nullopt when the block does not hold it.
struct ix_found {
  std::string_view value;
  std::size_t begin = 0, end = 0;
};
[[maybe_unused]] std::optional<ix_found> find_ix_item(std::string_view v, unsigned offset) {
  std::size_t at = 0;
  ix_item e;
  for (std::size_t begin = at; next_ix_item(v, at, e); begin = at) {
    if (e.offset == offset) return ix_found{e.value, begin, at};
    if (e.offset > offset) break;
  }
  return std::nullopt;
}
// The endpoint and block of a pending_ix key; false when it is not one.
[[maybe_unused]] bool split_ix_key(std::string_view key, std::string_view& ep,
                                   std::uint64_t& block) {
  auto nul = key.find('\0');
  if (nul == std::string_view::npos || key.size() != nul + 9) return false;
  ep = key.substr(0, nul);
  block = keys::get_u64_be(key.substr(nul + 1));
  return true;
}

// A "pending_counts" value: queued, parked, dead as u64 LE; all zero when absent or malformed.
[[maybe_unused]] pending_counts decode_counts(std::optional<std::string_view> v) {
  pending_counts c;
  if (v && v->size() == 24) {
    c.queued = keys::get_le<std::uint64_t>(*v, 0);
    c.parked = keys::get_le<std::uint64_t>(*v, 8);
    c.dead = keys::get_le<std::uint64_t>(*v, 16);
  }
  return c;
}

}  // namespace
}  // namespace hooklog::projections
