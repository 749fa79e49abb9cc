#include "engine/record.hpp"

#include <array>
#include <charconv>

#include "engine/bytes.hpp"

namespace hooklog {
namespace {

constexpr std::array<std::string_view, kMaxRecordKind + 1> kKindNames = {
    "",
    "event_received",
    "endpoint_created",
    "endpoint_updated",
    "endpoint_deleted",
    "endpoint_disabled",
    "endpoint_enabled",
    "secret_rotated",
    "delivery_attempt",
    "replay_requested",
    "replay_progressed",
    "replay_finished",
    "replay_cancelled",
    "key_issued",
    "key_revoked",
    "tree_head",
};

}  // namespace

bool is_reserved_entity_kind(std::string_view kind) {
  return kind == "endpoint" || kind == "replay" || kind == "key" || kind == "tree_head";
}

std::string_view kind_name(record_kind k) {
  const auto i = static_cast<std::size_t>(k);
  return i < kKindNames.size() && i > 0 ? kKindNames[i] : std::string_view("unknown");
}

std::optional<record_kind> kind_from_name(std::string_view name) {
  for (std::size_t i = 1; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name) return static_cast<record_kind>(i);
  return std::nullopt;
}

record record_view::to_record() const {
  record r;
  r.seq = seq;
  r.kind = kind;
  r.flags = flags;
  r.recorded_at = recorded_at;
  r.occurred_at = occurred_at;
  r.ref_seq = ref_seq;
  r.tenant = tenant;
  r.source = source;
  r.type = type;
  r.entity_kind = entity_kind;
  r.entity_id = entity_id;
  r.idempotency_key = idempotency_key;
  r.native_id = native_id;
  r.status_from = status_from;
  r.status_to = status_to;
  r.body = body;
  if (chain_hash) std::copy(chain_hash, chain_hash + 32, r.chain_hash.begin());
  if (leaf_hash) std::copy(leaf_hash, leaf_hash + 32, r.leaf_hash.begin());
  return r;
}

record_view record::view() const {
  record_view v;
  v.seq = seq;
  v.kind = kind;
  v.flags = flags;
  v.recorded_at = recorded_at;
  v.occurred_at = occurred_at;
  v.ref_seq = ref_seq;
  v.tenant = tenant;
  v.source = source;
  v.type = type;
  v.entity_kind = entity_kind;
  v.entity_id = entity_id;
  v.idempotency_key = idempotency_key;
  v.native_id = native_id;
  v.status_from = status_from;
  v.status_to = status_to;
  v.body = body;
  v.chain_hash = chain_hash.data();
  v.leaf_hash = leaf_hash.data();
  return v;
}

void append_event_id(std::string& out, std::uint64_t seq) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char id[20] = {'e', 'v', 't', '_'};
  for (int i = 0; i < 16; ++i) id[4 + 15 - i] = kDigits[(seq >> (4 * i)) & 0xF];
  out.append(id, sizeof id);
}

std::string event_id_for(std::uint64_t seq) {
  std::string id;
  append_event_id(id, seq);
  return id;
}

std::optional<std::uint64_t> seq_from_event_id(std::string_view id) {
  if (id.size() != 20 || id.substr(0, 4) != "evt_") return std::nullopt;
  std::uint64_t v = 0;
  for (char c : id.substr(4)) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  if (v == 0) return std::nullopt;
  return v;
}

namespace bytes {
std::string to_hex(const void* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string s(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 0xF];
  }
  return s;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return std::nullopt;
    out[i / 2] = static_cast<char>((static_cast<unsigned char>(out[i / 2]) << 4) | d);
  }
  return out;
}
}  // namespace bytes

}  // namespace hooklog
