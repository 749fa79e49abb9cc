#include "http/idempotency.hpp"

#include <openssl/sha.h>

#include "engine/bytes.hpp"
#include "engine/source.hpp"

namespace hooklog::http::detail {

void idempotency_claim::stamp(record& r) const {
  r.source = scope;
  r.idempotency_key = key;
  r.native_id = fingerprint;
}

std::string request_fingerprint(const nlohmann::json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  return "sha256:" + bytes::to_hex(md, sizeof md);
}

std::optional<idempotency_claim> claim_of(call& c, std::string_view route, std::string tenant,
                                          const nlohmann::json& body, bool& answered) {
  answered = false;
  auto h = c.req.header("idempotency-key");
  if (!h || h->empty()) return std::nullopt;
  const std::size_t max = c.ctx.options.limits.max_field_bytes;
  const auto fault = h->size() > max ? std::nullopt : find_text_fault(*h);
  if (h->size() > max || fault) {
    answered = true;
    c.fail(422, "invalid_value",
           h->size() > max ? "Idempotency-Key is " + std::to_string(h->size()) +
                                 " bytes long, more than the limit of " + std::to_string(max)
                           : "Idempotency-Key holds " + *fault,
           {{"header", "Idempotency-Key"}});
    return std::nullopt;
  }
  idempotency_claim claim;
  claim.tenant = std::move(tenant);
  claim.scope = "@";
  claim.scope += route;
  claim.key = std::string(*h);
  claim.fingerprint = request_fingerprint(body);
  return claim;
}

void answer_original(call& c, const idempotency_claim& claim, std::uint64_t seq,
                     const original_fn& answer) {
  auto r = c.ctx.log.get(seq);
  if (!r) return c.fail(500, "log_failure", r.err().what());
  if (!*r)
    return c.fail(500, "log_failure", "the record of Idempotency-Key " + claim.key + " is gone");
  if ((*r)->native_id != claim.fingerprint)
    return c.fail(422, "idempotency_key_reused",
                  "Idempotency-Key " + claim.key + " was used for another request to " +
                      claim.scope.substr(1) + " with a different body; use a new key",
                  {{"header", "Idempotency-Key"}});
  answer(**r);
}

bool answered_if_known(call& c, const idempotency_claim& claim, const original_fn& answer) {
  auto seq = c.ctx.log.find_idempotent(claim.tenant, claim.scope, claim.key);
  if (!seq) {
    c.fail(500, "log_failure", seq.err().what());
    return true;
  }
  if (!*seq) return false;
  answer_original(c, claim, **seq, answer);
  return true;
}

}  // namespace hooklog::http::detail
