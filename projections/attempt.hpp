#pragma once
// The body of a delivery_attempt log record, written by the dispatcher and read
// by the subscriptions (health), pending (reschedule / dead-letter) and stats
// projections. The record itself has kind delivery_attempt, entity =
// ("endpoint", endpoint id), ref_seq = the event's seq, type = the event type,
// tenant = the event's tenant.
//
// JSON: {"endpoint_id", "event_seq", "attempt" (1-based), "outcome": "success"|"failure",
//        "status" (HTTP status, 0 when none), "latency_us", "error" (string, "" when none),
//        "response_excerpt" (bounded by the dispatcher), "next_attempt_at": µs | null,
//        "dead_letter": bool, "replay_id": string (optional)}
// next_attempt_at is computed by the dispatcher with next_attempt_at() from
// retry_policy.hpp (jitter included) so the projections replay it exactly.
// A failure with next_attempt_at null is a dead letter even if dead_letter is false.
// Thread safety: plain values.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "engine/record.hpp"
#include "engine/result.hpp"

namespace hooklog::projections {

inline constexpr std::size_t kMaxResponseExcerpt = 1024;

struct delivery_attempt {
  std::string endpoint_id;
  std::uint64_t event_seq = 0;
  std::uint32_t attempt = 1;
  bool success = false;
  int status = 0;
  std::int64_t latency_us = 0;
  std::string error;
  std::string response_excerpt;
  std::optional<std::int64_t> next_attempt_at;
  bool dead_letter = false;
  std::string replay_id;  // "" when the delivery was not scheduled by a replay

  // True when the delivery ends here unsuccessfully.
  bool is_dead() const { return !success && (dead_letter || !next_attempt_at); }
};

nlohmann::json to_json(const delivery_attempt& a);
// Reads the members in one pass over the text (engine/json_fields.hpp); a body that pass does
// not answer, or with a member of an unexpected type, takes nlohmann's full parse
// (detail::attempt_from_parse), so the results and the refusals are those of the full parse.
result<delivery_attempt> attempt_from_json(std::string_view body);

namespace detail {
// attempt_from_json through nlohmann's full parse only: the fallback, and the reference the
// one-pass path is tested against.
result<delivery_attempt> attempt_from_parse(std::string_view body);
}  // namespace detail

// attempt_from_json of `body`, parsed once for consecutive calls with the same bytes on one
// thread: the runner applies each record to every projection in turn on its thread, and three
// of them read an attempt (subscriptions, pending, stats). The last body and its parse are kept
// per thread, compared by bytes (the parse is a function of them alone), so a call never gets
// another body's parse. The reference stays valid until the thread's next call.
const result<delivery_attempt>& attempt_of(std::string_view body);

// Builds the log record for an attempt (body = JSON, entity, ref_seq, type, tenant).
record make_attempt_record(const delivery_attempt& a, std::string_view tenant,
                           std::string_view event_type);
// The same record with a body the caller serialised (the dispatcher's attempt_body(): the
// attempt's JSON plus the answer's excerpt and headers).
record make_attempt_record(const delivery_attempt& a, std::string_view tenant,
                           std::string_view event_type, std::string body);

}  // namespace hooklog::projections
