#pragma once
// The keys of the log's databases (layout: docs/FORMAT.md), shared by event_log.cpp and
// event_log_scan.cpp. Internal to the engine.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/bytes.hpp"

namespace hooklog::log_keys {

inline std::string seq_key(std::uint64_t seq) { return bytes::be64(seq); }

inline std::string prefix_key(std::string_view a, std::uint64_t seq) {
  std::string k;
  k.reserve(a.size() + 9);
  k.append(a);
  k.push_back('\0');
  bytes::put_be64(k, seq);
  return k;
}

inline std::string entity_prefix(std::string_view kind, std::string_view id) {
  std::string k;
  k.reserve(kind.size() + id.size() + 2);
  k.append(kind);
  k.push_back('\0');
  k.append(id);
  k.push_back('\0');
  return k;
}

inline std::string occurred_key(std::int64_t occurred, std::uint64_t seq) {
  std::string k;
  bytes::put_be64(k, bytes::ordered_signed(occurred));
  bytes::put_be64(k, seq);
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
