#pragma once
// On-disk layout of a log record (format version 1). See docs/FORMAT.md.
//
// Key:   8-byte big-endian sequence number (1, 2, 3, ...), appended in order.
// Value: a fixed 80-byte prefix, then the content.
//
//   offset size field
//   0      1    version            kFormatVersion
//   1      1    kind               record_kind
//   2      2    flags              record_flags, little-endian
//   4      4    content length     bytes after offset 80, little-endian
//   8      8    checksum           XXH3-64 over bytes [0,8) and [16,end), little-endian
//   16     32   chain hash         SHA-256(previous chain hash || leaf hash)
//   48     32   leaf hash          SHA-256(0x00 || bytes [0,4) || content)   (RFC 6962 leaf)
//   80     ...  content:
//          8    seq                little-endian, equals the key
//          8    recorded_at        microseconds since the Unix epoch, UTC, signed
//          8    occurred_at        microseconds since the Unix epoch, UTC, signed
//          8    ref_seq            the record this one refers to (0 = none)
//          then nine strings, each u16 length + bytes: tenant, source, type,
//          entity_kind, entity_id, idempotency_key, native_id, status_from, status_to
//          then the body: u32 length + bytes, stored byte for byte.
//
// The chain hash of the record before sequence 1 is 32 zero bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hooklog::format {

inline constexpr std::uint8_t kFormatVersion = 1;
inline constexpr std::size_t kPrefixSize = 80;
inline constexpr std::size_t kOffsetKind = 1;
inline constexpr std::size_t kOffsetFlags = 2;
inline constexpr std::size_t kOffsetContentLength = 4;
inline constexpr std::size_t kOffsetChecksum = 8;
inline constexpr std::size_t kOffsetChainHash = 16;
inline constexpr std::size_t kOffsetLeafHash = 48;
inline constexpr std::size_t kFixedContentSize = 32;
inline constexpr std::size_t kStringCount = 9;
inline constexpr std::size_t kMaxStringSize = 0xFFFF;
inline constexpr std::size_t kMaxBodySize = 64u << 20;  // 64 MiB, far above any HTTP limit
// A record's tenant, entity kind and entity id together: they are parts of index and state keys
// (ix_entity: bucket, kind, id, seq; timelines: bucket, tenant, kind, id, occurred, seq), and an
// LMDB key is at most 511 bytes. The 63 bytes left cover every key's own framing.
inline constexpr std::size_t kMaxEntityKeyBytes = 448;

// The same bound on the other keys made of several of a record's fields: the idempotency index
// (tenant, source, key) and the stats by type (tenant, type). Returns what is too long, e.g.
// "the tenant, entity kind and entity id are 502 bytes together, more than the limit of 448",
// or "" when every key fits.
inline std::string key_overflow(std::string_view tenant, std::string_view source,
                                std::string_view type, std::string_view idempotency_key,
                                std::string_view entity_kind, std::string_view entity_id) {
  auto over = [](const char* what, std::size_t n) {
    return std::string(what) + " are " + std::to_string(n) +
           " bytes together, more than the limit of " + std::to_string(kMaxEntityKeyBytes);
  };
  if (const auto n = tenant.size() + entity_kind.size() + entity_id.size(); n > kMaxEntityKeyBytes)
    return over("the tenant, entity kind and entity id", n);
  if (const auto n = tenant.size() + source.size() + idempotency_key.size();
      n > kMaxEntityKeyBytes)
    return over("the tenant, source and idempotency key", n);
  if (const auto n = tenant.size() + type.size(); n > kMaxEntityKeyBytes)
    return over("the tenant and type", n);
  return {};
}
inline constexpr std::size_t kHashSize = 32;
inline constexpr std::uint8_t kLeafHashPrefix = 0x00;

}  // namespace hooklog::format
