#pragma once
// The keys of the log's databases (layout: docs/FORMAT.md), shared by event_log.cpp and
// event_log_scan.cpp. Internal to the engine.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/bytes.hpp"

namespace hooklog::log_keys {

inline std::string seq_key(std::uint64_t seq) { return bytes::be64(seq); }

// The append_ forms write a key at the end of `out` (many keys in one buffer: index_key_list).
inline void append_prefix_key(std::string& out, std::string_view a, std::uint64_t seq) {
  out.append(a);
  out.push_back('\0');
  bytes::put_be64(out, seq);
}

inline std::string prefix_key(std::string_view a, std::uint64_t seq) {
  std::string k;
  k.reserve(a.size() + 9);
  append_prefix_key(k, a, seq);
  return k;
}

inline void append_entity_prefix(std::string& out, std::string_view kind, std::string_view id) {
  out.append(kind);
  out.push_back('\0');
  out.append(id);
  out.push_back('\0');
}

inline std::string entity_prefix(std::string_view kind, std::string_view id) {
  std::string k;
  k.reserve(kind.size() + id.size() + 2);
  append_entity_prefix(k, kind, id);
  return k;
}

// ix_entity's keys in an index env of format 2 (docs/FORMAT.md): the record's seq bucket
// (seq >> bucket_bits, 4 bytes BE) in front of kind \0 id \0 seq. A bucket's keys are a region
// of the tree of their own, so the puts of a group land among the last bucket's leaves however
// long the log is (engine/index_walk.hpp reads them back in the order without the bucket).
inline constexpr unsigned kEntityBucketBits = 20;  // 1,048,576 seqs per bucket
inline constexpr std::size_t kBucketSize = 4;

// Capped, not wrapped: every seq past the last bucket's start shares the last bucket, so bucket
// order stays seq order (and a query's to_seq far past the log maps to the last bucket).
inline std::uint32_t entity_bucket(std::uint64_t seq, unsigned bucket_bits) {
  const std::uint64_t b = bucket_bits >= 64 ? 0 : seq >> bucket_bits;
  return b > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(b);
}

// Writes the bucket's 4 bytes at `p` (a key built in place); returns past them.
inline char* write_bucket(char* p, std::uint32_t bucket) {
  for (int shift = 24; shift >= 0; shift -= 8) *p++ = static_cast<char>(bucket >> shift);
  return p;
}

inline void append_bucket(std::string& out, std::uint32_t bucket) {
  char b[kBucketSize];
  write_bucket(b, bucket);
  out.append(b, kBucketSize);
}

inline std::uint32_t get_bucket(std::string_view key) {
  std::uint32_t b = 0;
  for (std::size_t i = 0; i < kBucketSize; ++i) b = (b << 8) | static_cast<unsigned char>(key[i]);
  return b;
}

inline void append_occurred_key(std::string& out, std::int64_t occurred, std::uint64_t seq) {
  bytes::put_be64(out, bytes::ordered_signed(occurred));
  bytes::put_be64(out, seq);
}

inline std::string occurred_key(std::int64_t occurred, std::uint64_t seq) {
  std::string k;
  append_occurred_key(k, occurred, seq);
  return k;
}

inline std::string idem_key(std::string_view tenant, std::string_view source, std::string_view key) {
  std::string k;
  k.reserve(tenant.size() + source.size() + key.size() + 2);
  k.append(tenant);
  k.push_back('\0');
  k.append(source);
  k.push_back('\0');
  k.append(key);
  return k;
}

}  // namespace hooklog::log_keys
