#pragma once
// One delivery attempt's request, made from an endpoint and an event (Standard Webhooks), and
// the refusals that keep a request from being sent at all.
//
// prepare_endpoint() runs once per change of an endpoint's stored state: it opens the signing
// secrets and the auth credentials (secret_box, "enc:v1:..."; plain values of older records are
// used as they are), keys one HMAC context per secret, builds the auth header and checks every
// value that will reach the request (check_endpoint_input: header names are tokens, no control
// character in any value). When a request cannot be made safely it says why in `refusal` and
// no request is ever built for it; the dispatcher records each attempt as a failure
// "invalid_request: not sent: <why>" (retried on the endpoint's schedule, then dead-lettered),
// so fixing the endpoint (PATCH, rotate-secret) lets the next attempt through. Refusals:
//   * the current signing secret is missing, cannot be opened (another master key) or does
//     not decode as whsec_<base64>: never sent unsigned (a previous secret that does not decode
//     only adds no signature: the current one still signs);
//   * a credential cannot be opened;
//   * a control character in a header value or credential, a header name that is not a token.
// The messages name the field (JSON pointer) and never a credential's value.
//
// build_delivery_request(): POST of the event's body, content-type application/json,
// webhook-id = event_id_for(seq), webhook-timestamp = now (s), webhook-signature = "v1,<sig>"
// for the current secret and every previous secret still valid (space separated),
// webhook-event-type, webhook-replay when a replay scheduled the item, the endpoint's headers and
// auth; pool_key = the endpoint's tenant (outbound.hpp: no connection is shared across tenants).
// It is written into `into` (a used request from request_pool.hpp, or a new one): every field
// is assigned, so the request is the same whatever `into` held; only its buffers are reused.
//
// Thread safety: a prepared_endpoint is immutable after prepare_endpoint() except its signers,
// which build_delivery_request() uses: one thread at a time (the dispatcher thread).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/result.hpp"
#include "engine/secret_box.hpp"
#include "http/delivery/outbound.hpp"
#include "projections/endpoint.hpp"

namespace hooklog::http {

class v1_signer;  // a keyed HMAC-SHA256 context (delivery_request.cpp)

struct prepared_endpoint {
  projections::endpoint ep;           // as stored (credentials sealed)
  std::shared_ptr<v1_signer> signer;  // current secret; null when refused
  struct prev {
    std::shared_ptr<v1_signer> signer;  // null when it does not decode
    std::int64_t valid_until = 0;
  };
  std::vector<prev> previous;                               // in stored order
  std::optional<std::pair<std::string, std::string>> auth;  // header, value
  std::string refusal;  // non-empty: no request may be made, and why
  std::uint32_t max_in_flight = 1;
  bool ordered = false;
};

std::shared_ptr<prepared_endpoint> prepare_endpoint(projections::endpoint&& e,
                                                    const std::optional<secret_box>& box);

struct delivery_input {
  std::uint64_t event_seq = 0;
  std::string type;
  std::string body;
  std::string replay_id;
  std::int64_t now_us = 0;
  std::string webhook_id;  // empty: the event id (event_id_for(event_seq))
};

// Errors: delivery_errc::invalid_request with "not sent: <why>" (the endpoint's refusal, or a
// signature that could not be computed).
result<outbound_request> build_delivery_request(prepared_endpoint& p, delivery_input&& in,
                                                outbound_request into = {});

}  // namespace hooklog::http
