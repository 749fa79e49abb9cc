#include "http/key_store.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "engine/bytes.hpp"

namespace hooklog::http {

key_store::key_store(key_store&& o) noexcept
    : config_admin_hash_(std::move(o.config_admin_hash_)),
      hash_to_id_(std::move(o.hash_to_id_)),
      by_id_(std::move(o.by_id_)) {}

result<key_store> key_store::load(const event_log& log, std::string config_admin_key) {
  key_store ks;
  if (!config_admin_key.empty()) ks.config_admin_hash_ = hash(config_admin_key);
  scan_query q;
  q.entity_kind = "key";
  std::vector<record> found;
  auto n = log.scan(q, [&](const record_view& v, std::string_view) {
    found.push_back(v.to_record());
    return true;
  });
  if (!n) return n.err();
  // The entity index orders by key id; apply in log order.
  std::sort(found.begin(), found.end(), [](const record& a, const record& b) { return a.seq < b.seq; });
  for (const auto& r : found) ks.apply(r);
  return ks;
}

std::string key_store::hash(std::string_view key) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), md);
  return bytes::to_hex(md, sizeof md);
}

std::string key_store::new_key() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char raw[32];
  RAND_bytes(raw, sizeof raw);
  std::string k = "hk_";
  for (unsigned char c : raw) k.push_back(kAlphabet[c & 63]);
  return k;
}

std::string key_store::new_id() {
  unsigned char raw[8];
  RAND_bytes(raw, sizeof raw);
  return "key_" + bytes::to_hex(raw, sizeof raw);
}

record key_store::issue_record(const key_info& info, const std::string& key_hash) {
  record r;
  r.kind = record_kind::key_issued;
  r.tenant = info.tenant;
  r.entity_kind = "key";
  r.entity_id = info.id;
  nlohmann::json body = {{"id", info.id},
                         {"tenant", info.tenant.empty() ? nlohmann::json() : nlohmann::json(info.tenant)},
                         {"admin", info.admin},
                         {"sha256", key_hash}};
  if (!info.ingest_source.empty()) body["ingest_source"] = info.ingest_source;
  r.body = body.dump();
  return r;
}

record key_store::revoke_record(const key_info& info) {
  record r;
  r.kind = record_kind::key_revoked;
  r.tenant = info.tenant;
  r.entity_kind = "key";
  r.entity_id = info.id;
  r.body = nlohmann::json{{"id", info.id}}.dump();
  return r;
}

void key_store::apply(const record& r) { apply_view(r.view()); }

void key_store::apply_view(const record_view& v) {
  std::unique_lock lock(mutex_);
  if (v.kind == record_kind::key_issued) {
    auto body = nlohmann::json::parse(v.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return;
    key_info k;
    k.id = std::string(v.entity_id);
    k.tenant = std::string(v.tenant);
    k.admin = body.value("admin", false);
    k.ingest_source = body.value("ingest_source", "");
    k.issued_at = v.recorded_at;
    // Applied once per key: applying the issue again (cluster mode's follower sees records
    // this node already applied) must not undo a revocation applied since.
    hash_to_id_.try_emplace(body.value("sha256", ""), k.id);
    by_id_.try_emplace(k.id, k);
  } else if (v.kind == record_kind::key_revoked) {
    auto it = by_id_.find(std::string(v.entity_id));
    if (it != by_id_.end()) it->second.revoked = true;
  }
}

std::optional<principal> key_store::authenticate(std::string_view bearer) const {
  if (bearer.empty()) return std::nullopt;
  // The hash is a pure function of the key, and a client sends the same key on every request:
  // each thread keeps the last key it hashed (the look-up below, revocation included, is done
  // every time).
  thread_local std::string last_bearer, last_hash;
  if (last_hash.empty() || bearer != last_bearer) {
    last_hash = hash(bearer);
    last_bearer.assign(bearer);
  }
  const std::string& h = last_hash;
  std::shared_lock lock(mutex_);
  if (!config_admin_hash_.empty() && h == config_admin_hash_)
    return principal{"config", true, "", ""};
  auto it = hash_to_id_.find(h);
  if (it == hash_to_id_.end()) return std::nullopt;
  const key_info& k = by_id_.at(it->second);
  if (k.revoked) return std::nullopt;
  return principal{k.id, k.admin, k.tenant, k.ingest_source};
}

bool key_store::has_stored_admin() const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, k] : by_id_)
    if (k.admin && !k.revoked) return true;
  return false;
}

std::optional<key_info> key_store::find(std::string_view id) const {
  std::shared_lock lock(mutex_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::vector<key_info> key_store::list() const {
  std::shared_lock lock(mutex_);
  std::vector<key_info> out;
  for (const auto& [id, k] : by_id_) out.push_back(k);
  return out;
}

}  // namespace hooklog::http
