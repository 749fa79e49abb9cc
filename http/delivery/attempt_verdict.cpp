#include "http/delivery/attempt_verdict.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "http/delivery/attempt_body.hpp"
#include "http/delivery/retry_after.hpp"

namespace hooklog::http {

attempt_verdict judge_attempt(const std::string& endpoint_id, const projections::pending_item& item,
                              const outbound_outcome& o, std::int64_t now, const next_try_fn& next_try) {
  attempt_verdict v;
  auto& a = v.attempt;
  a.endpoint_id = endpoint_id;
  a.event_seq = item.event_seq;
  a.attempt = item.attempt;
  a.replay_id = item.replay_id;
  a.status = static_cast<int>(o.status);
  a.latency_us = o.latency_us;
  a.success = o.answered() && o.status >= 200 && o.status < 300;
  if (a.success) return v;
  if (o.failure) {
    a.error = std::string(delivery_errc_name(o.failure_kind())) + ": " + o.failure->message;
  } else if (o.status >= 300 && o.status < 400) {
    auto loc = find_header(o.headers, "location");
    a.error = "redirect: status " + std::to_string(o.status) + " (not followed)" +
              (loc ? ", Location: " + std::string(*loc) : std::string());
  } else {
    a.error = "status: " + std::to_string(o.status);
  }
  a.next_attempt_at = next_try(a.attempt, now);
  if (a.next_attempt_at && (o.status == 429 || o.status == 503)) {
    if (auto ra = retry_after_us(o.headers, now)) {
      a.next_attempt_at = std::max(*a.next_attempt_at, now + *ra);
      v.pause_until = now + *ra;
    }
  }
  a.dead_letter = !a.next_attempt_at;
  if (o.status == 410) v.disable_reason = "endpoint answered 410 Gone";
  return v;
}

attempt_record_set attempt_records(const projections::delivery_attempt& a, const std::string& tenant,
                                   const std::string& type, outbound_outcome& o, std::size_t excerpt_limit,
                                   const projections::endpoint& ep, const std::string& disable_reason) {
  // The record make_attempt_record() builds, with the body serialised once (bounded
  // excerpt, truncation flag, the answer's headers added): attempt_body.hpp.
  if (o.body_excerpt.size() > excerpt_limit) {
    o.body_excerpt.resize(excerpt_limit);
    o.body_truncated = true;
  }
  attempt_record_set recs{projections::make_attempt_record(
                              a, tenant, type, attempt_body(a, o.body_excerpt, o.body_truncated, o.headers)),
                          std::nullopt};
  if (!disable_reason.empty()) {
    record& d = recs.disabled.emplace();
    d.kind = record_kind::endpoint_disabled;
    d.tenant = ep.tenant;
    d.entity_kind = "endpoint";
    d.entity_id = ep.id;
    // The reason can carry a peer's bytes (a 3xx's Location in the last error): invalid UTF-8
    // becomes U+FFFD, as in attempt_body(), rather than an exception on the I/O thread.
    // endpoint_updated_at: the endpoint as judged; subscriptions ignore the disable when the
    // endpoint has changed since (a PATCH while the attempt was in flight).
    d.body = nlohmann::json{{"reason", disable_reason},
                            {"by", "dispatcher"},
                            {"event_seq", a.event_seq},
                            {"endpoint_updated_at", ep.updated_at}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return recs;
}

}  // namespace hooklog::http
