#pragma once
// A replay's request: what to send again, to which endpoint, and how. Stored as the
// body of the replay_requested record and answered as "request" (replay_manager.hpp).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/result.hpp"

namespace hooklog::http {

struct replay_spec {
  std::string endpoint_id;
  std::string tenant;                    // the endpoint's tenant: the scan is limited to it
  std::optional<std::int64_t> from, to;  // µs, [from, to)
  bool occurred = false;                 // the range is on occurred time (else recorded time)
  std::vector<std::string> types;        // type patterns (filter.hpp); empty = any
  std::string entity_kind, entity_id;    // optional; kind alone = every entity of the kind
  std::uint64_t event_seq = 0;           // "event_id": only this event (0 = any); the console's
                                         // "replay this event" (a range of its µs held a batch)
  std::string mode = "all";              // all | missing | failed
  std::int64_t rate_limit = 0;           // events scheduled per second; 0 = the default
  std::uint64_t to_seq = 0;              // last seq covered (the head when requested)
  // The webhook-id of the replayed deliveries: "original" (the event id, as live
  // deliveries; receivers that de-duplicate on it drop them) or "fresh" (one per replay
  // and event, fresh_webhook_id: the same after a restart).
  std::string webhook_ids = "original";
};

// The spec as stored and answered (times as RFC 3339 strings).
nlohmann::json replay_spec_to_json(const replay_spec& s);
// A time of a replay request: j[name] absent or null gives nullopt; an RFC 3339 string or
// integer microseconds within years 1 to 9999 gives it; anything else is an error naming the
// field (errc::invalid_record). POST /v1/endpoints' replay_from reads its value with it too, so
// what it starts is a spec replay_spec_from_json reads back at a restart.
result<std::optional<std::int64_t>> replay_time_field(const nlohmann::json& j, const char* name);
// Parses a request or a stored spec; from/to are RFC 3339 strings or µs integers.
// Errors name the field ("mode: must be all, missing or failed"). Unknown fields are
// refused. endpoint_id is required; tenant and to_seq are not read (set by the caller).
result<replay_spec> replay_spec_from_json(const nlohmann::json& j);

// The webhook-id a "fresh" replay sends for the event with this seq: "msg_" + 32 hex
// digits of SHA-256(replay id, event id): distinct per replay and event, deterministic
// (a replay resumed after a restart sends the same id again).
std::string fresh_webhook_id(std::string_view replay_id, std::uint64_t event_seq);

}  // namespace hooklog::http
