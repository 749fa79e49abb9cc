#pragma once
// API keys: who may call the management API, and for which tenant.
//
// Keys are issued and revoked as log records (key_issued / key_revoked, entity
// ("key", id)); the log stores only a key's SHA-256, never the key. The store
// is loaded from the log at start and updated by the caller after each such
// record commits. An admin key given in the configuration is checked in memory
// and never stored.
//
// Thread safety: every member may be called from any thread.
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "engine/event_log.hpp"

namespace hooklog::http {

struct principal {
  std::string key_id;
  bool admin = false;
  std::string tenant;         // empty for admin keys
  std::string ingest_source;  // non-empty: an ingest-only key for this source
};

struct key_info {
  std::string id;
  std::string tenant;
  bool admin = false;
  std::string ingest_source;
  std::int64_t issued_at = 0;
  bool revoked = false;
};

class key_store {
 public:
  // Loads every key record of the log.
  static result<key_store> load(const event_log& log, std::string config_admin_key);
  key_store(key_store&& o) noexcept;

  std::optional<principal> authenticate(std::string_view bearer) const;
  bool has_stored_admin() const;

  // A fresh key ("hk_" + 32 random base64url characters) and its id ("key_" + 16 hex).
  static std::string new_key();
  static std::string new_id();
  static std::string hash(std::string_view key);  // SHA-256, hex

  // The record that issues `info` for the key with hash `key_hash`, and the one that revokes `id`.
  static record issue_record(const key_info& info, const std::string& key_hash);
  static record revoke_record(const key_info& info);
  // Applies a committed key record to the in-memory set.
  void apply(const record& r);

  std::optional<key_info> find(std::string_view id) const;
  std::vector<key_info> list() const;

 private:
  key_store() = default;
  void apply_view(const record_view& v);

  mutable std::shared_mutex mutex_;
  std::string config_admin_hash_;
  std::map<std::string, std::string> hash_to_id_;
  std::map<std::string, key_info> by_id_;
};

}  // namespace hooklog::http
