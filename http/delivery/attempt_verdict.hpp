#pragma once
// What one attempt's outcome means, and the records that say it (the dispatcher's complete()
// on an I/O thread; no state of the dispatcher is read or changed here).
//
// judge_attempt(endpoint_id, item, outcome, now, next_try): the delivery_attempt record's fields:
// endpoint, event, attempt number and replay id from the pending item; status and latency from
// the outcome; success = an answer with a 2xx status. A failure's error text:
//   * a transport failure: "<delivery_errc name>: <message>" (the SSRF guard's detail stays in
//     outcome.detail, for the operator's log only);
//   * a 3xx: "redirect: status N (not followed)", plus ", Location: <value>" when there is one;
//   * any other status: "status: N".
// next_attempt_at = next_try(item.attempt, now) (the endpoint's retry policy, jitter drawn by the
// caller), called once, for failures only; for a 429 or 503 with a readable Retry-After it is
// the later of that and now + Retry-After, and `pause_until` = now + Retry-After (the whole
// endpoint waits: the caller applies it). No next attempt: dead_letter. A 410 answer sets
// `disable_reason` "endpoint answered 410 Gone" (the caller adds the failing-period rule).
//
// attempt_records(attempt, tenant, type, outcome, excerpt_limit, endpoint, disable_reason):
// the records one attempt appends (attempt_batch.hpp's attempt_record_set): the delivery_attempt (tenant and type of the event;
// entity endpoint/<id>; ref_seq the event's seq; body attempt_body(): the excerpt cut to
// `excerpt_limit` bytes, the truncation flag, the answer's headers), then, when disable_reason
// is not empty, an endpoint_disabled record of the endpoint's tenant with body
// {"by":"dispatcher","event_seq":N,"reason":...} (bytes of the reason that are not UTF-8, e.g. a
// peer's Location quoted in it, become U+FFFD). `o`'s body excerpt is cut to excerpt_limit in
// place.
//
// Thread safety: pure functions (next_try is called on the caller's thread).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/record.hpp"
#include "http/delivery/attempt_batch.hpp"
#include "http/delivery/outbound.hpp"
#include "projections/attempt.hpp"
#include "projections/endpoint.hpp"
#include "projections/pending.hpp"

namespace hooklog::http {

struct attempt_verdict {
  projections::delivery_attempt attempt;
  std::optional<std::int64_t> pause_until;  // Retry-After of a 429/503 that will be retried
  std::string disable_reason;               // 410 Gone
};

// `now` is passed back so that the caller's callable can be two pointers, which std::function
// keeps inside itself (a third capture would cost a heap block per attempt).
using next_try_fn = std::function<std::optional<std::int64_t>(std::uint32_t failed_attempt, std::int64_t now)>;

attempt_verdict judge_attempt(const std::string& endpoint_id, const projections::pending_item& item,
                              const outbound_outcome& o, std::int64_t now, const next_try_fn& next_try);

attempt_record_set attempt_records(const projections::delivery_attempt& a, const std::string& tenant,
                                   const std::string& type, outbound_outcome& o, std::size_t excerpt_limit,
                                   const projections::endpoint& ep, const std::string& disable_reason);

}  // namespace hooklog::http
