#pragma once
// A log record: one fact, appended once, never changed.
//
// `record` owns its fields; `record_view` points into bytes owned by someone
// else (an LMDB read transaction or a buffer) and is valid only as long as
// those bytes are.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hooklog {

enum class record_kind : std::uint8_t {
  event_received = 1,
  endpoint_created = 2,
  endpoint_updated = 3,
  endpoint_deleted = 4,
  endpoint_disabled = 5,
  endpoint_enabled = 6,
  secret_rotated = 7,
  delivery_attempt = 8,
  replay_requested = 9,
  replay_progressed = 10,
  replay_finished = 11,
  replay_cancelled = 12,
  key_issued = 13,
  key_revoked = 14,
  tree_head = 15,  // a published signed tree head (engine/tree_head.hpp)
};
inline constexpr std::uint8_t kMaxRecordKind = 15;

// Entity kinds hooklog files its own records under: "endpoint" (endpoint_*, secret_rotated,
// delivery_attempt), "replay" (replay_*), "key" (key_*), "tree_head" (tree_head). No event may
// name one: what reads those records by entity would take an event for them.
bool is_reserved_entity_kind(std::string_view kind);

// Stable lower-case names ("event_received", ...) used in JSON, docs and the CLI.
std::string_view kind_name(record_kind k);
std::optional<record_kind> kind_from_name(std::string_view name);

// Bit flags in the record header.
namespace record_flags {
inline constexpr std::uint16_t kTestMode = 1u << 0;       // event from a test/sandbox mode
inline constexpr std::uint16_t kUncataloged = 1u << 1;    // type not in its source's catalog
inline constexpr std::uint16_t kNoDelivery = 1u << 2;     // backfill import: do not schedule deliveries
}  // namespace record_flags

using hash256 = std::array<std::uint8_t, 32>;

struct record_view;

// Field meanings by kind:
//   event_received:   tenant, source, type, entity (kind,id), idempotency_key (per tenant+source),
//                     native_id (the payload's own id), status_from/to; body = original payload.
//   endpoint_*, secret_rotated: entity = ("endpoint", endpoint id), tenant; body = JSON.
//   delivery_attempt: entity = ("endpoint", endpoint id), ref_seq = the event's seq, type = event
//                     type, tenant; body = JSON (attempt, outcome, status, latency, error, ...).
//   replay_*:         entity = ("replay", replay id), ref_seq = the replay_requested seq; body = JSON.
//   key_*:            entity = ("key", key id), tenant; body = JSON (never the key itself).
//   tree_head:        entity = ("tree_head", tree size, 20 digits); source "hooklog"; body =
//                     the signed head's JSON (engine/tree_head.hpp).
struct record {
  std::uint64_t seq = 0;  // assigned by the log on append
  record_kind kind = record_kind::event_received;
  std::uint16_t flags = 0;
  std::int64_t recorded_at = 0;  // µs since epoch; the log sets it on append when 0
  std::int64_t occurred_at = 0;  // µs since epoch; from the payload, or recorded_at
  // In memory only (not encoded): the producer gave occurred_at, so append keeps it even when
  // it is 0 (1970-01-01T00:00:00Z); otherwise a 0 is "none" and becomes recorded_at.
  bool occurred_given = false;
  std::uint64_t ref_seq = 0;
  std::string tenant;
  std::string source;
  std::string type;
  std::string entity_kind;
  std::string entity_id;
  std::string idempotency_key;
  std::string native_id;
  std::string status_from;
  std::string status_to;
  std::string body;
  hash256 chain_hash{};  // filled by the log on append / by decode
  hash256 leaf_hash{};

  // A view of this record's fields; valid while the record lives unchanged.
  record_view view() const;
};

struct record_view {
  std::uint64_t seq = 0;
  record_kind kind = record_kind::event_received;
  std::uint16_t flags = 0;
  std::int64_t recorded_at = 0;
  std::int64_t occurred_at = 0;
  std::uint64_t ref_seq = 0;
  std::string_view tenant;
  std::string_view source;
  std::string_view type;
  std::string_view entity_kind;
  std::string_view entity_id;
  std::string_view idempotency_key;
  std::string_view native_id;
  std::string_view status_from;
  std::string_view status_to;
  std::string_view body;
  const std::uint8_t* chain_hash = nullptr;  // 32 bytes
  const std::uint8_t* leaf_hash = nullptr;   // 32 bytes

  record to_record() const;
};

// The public id of an event: "evt_" + 16 lower-case hex digits of its seq.
// It is the Standard Webhooks `webhook-id`, stable across retries and replays.
std::string event_id_for(std::uint64_t seq);
// The same 20 characters written at the end of `out` (no string of its own: an answer per
// event builds it in place).
void append_event_id(std::string& out, std::uint64_t seq);
std::optional<std::uint64_t> seq_from_event_id(std::string_view id);

}  // namespace hooklog
