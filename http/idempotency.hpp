#pragma once
// Idempotency-Key on the management POSTs that create something (endpoints, keys,
// replays). The key lives in the log's idempotency index (event_log.hpp), so a repeat
// is recognised across restarts:
//   record.tenant    the created resource's tenant (for a tenant key: the caller's)
//   record.source    the route's scope, "@POST /v1/endpoints": keys of different routes
//                    never collide, nor with an ingest source (whose names have no '@')
//   record.idempotency_key  the header's value
//   record.native_id the request's fingerprint: "sha256:" + hex SHA-256 of the body as
//                    canonical JSON (keys sorted, no spaces)
// A repeat with the same body answers the original result (same status, same resource);
// with another body it is refused with 422 idempotency_key_reused, details.header =
// "Idempotency-Key". A concurrent repeat is caught by the log itself (the append answers
// duplicate with the original seq) and answered the same way.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "engine/record.hpp"
#include "http/api_internal.hpp"

namespace hooklog::http::detail {

struct idempotency_claim {
  std::string tenant;       // the scope: the resource's tenant
  std::string scope;        // "@" + method + " " + route
  std::string key;          // the header's value
  std::string fingerprint;  // of the request body

  // Sets the record's idempotency fields (tenant is the record's own).
  void stamp(record& r) const;
};

// "sha256:" + hex SHA-256 of j.dump() (nlohmann sorts object keys: canonical).
std::string request_fingerprint(const nlohmann::json& j);

// The claim of this request: nullopt without the header. A key over 256 bytes or with a
// control character answers 422 invalid_value (details.header) and sets `answered`.
std::optional<idempotency_claim> claim_of(call& c, std::string_view route, std::string tenant,
                                          const nlohmann::json& body, bool& answered);

// Answers from the original record (read from the log): its fingerprint must match the
// claim's, else 422 idempotency_key_reused. `answer` renders the original result.
using original_fn = std::function<void(const record& original)>;
void answer_original(call& c, const idempotency_claim& claim, std::uint64_t seq,
                     const original_fn& answer);

// If the claim's key is already in the log, answers (answer_original) and returns true.
bool answered_if_known(call& c, const idempotency_claim& claim, const original_fn& answer);

}  // namespace hooklog::http::detail
