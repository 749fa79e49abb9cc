#pragma once
// The endpoint model: what an integrator registers and what the subscriptions
// projection keeps per endpoint. Field names are the API's.
//
// JSON (all fields but id and url optional on input; defaults in brackets):
//   id            [A-Za-z0-9._:-]{1,128}, assigned by the API
//   url           http:// or https:// URL (address policy is the HTTP layer's)
//   description   string [""]
//   events        array of type patterns ["*"]; see filter.hpp
//   filter        payload filter or null [null]; see filter.hpp
//   tenant        string; the log record's tenant wins over the body's
//   mode          "live" | "test" ["live"]
//   secret        "whsec_<base64>" (current signing secret)
//   previous_secrets  [{"secret","valid_until":µs}] still accepted during rotation
//   headers       object of string -> string [{}]
//   auth          null | {"type":"basic","username","password"}
//                      | {"type":"bearer","token"} | {"type":"header","name","value"}
//   retry         retry policy (retry_policy.hpp) [default schedule]
//   timeout_ms    1..300000 [10000]
//   rate_limit    deliveries per second, 0 = none [0]
//   max_in_flight 1..1000 [4]
//   ordering      "none" | "entity" ["none"]
//   disabled, disabled_reason   [false, ""]
//   created_at, updated_at      µs since the epoch (set from the log records)
// Validation errors are proj_errc::invalid_endpoint with the message
// "<field>: <reason>" (error_field() extracts the field for a 422 answer).
//
// Secrets and credentials (secret, previous secrets, auth password/token/value)
// are kept as the log record holds them: sealed by the API with the secret_box
// ("enc:v1:...", see http/delivery/endpoint_validation.hpp), or plain in records written
// before credentials were sealed. The projection has no key and stays a pure
// function of the log: endpoint_to_state()/endpoint_from_state() pass every
// secret through seal_secret()/open_secret(), which are the identity. Values are
// opened only where a request is built (http/delivery/delivery_request.hpp).
// Thread safety: plain values.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/result.hpp"
#include "projections/filter.hpp"
#include "projections/retry_policy.hpp"

namespace hooklog::projections {

struct previous_secret {
  std::string secret;
  std::int64_t valid_until = 0;  // µs; no longer accepted for signing after this
  friend bool operator==(const previous_secret&, const previous_secret&) = default;
};

struct endpoint_auth {
  std::string type;  // "" (none), "basic", "bearer", "header"
  std::string username, password;  // basic
  std::string token;               // bearer
  std::string name, value;         // header
  friend bool operator==(const endpoint_auth&, const endpoint_auth&) = default;
};

struct endpoint {
  std::string id;
  std::string url;
  std::string description;
  std::vector<type_pattern> events;  // never empty after parsing (["*"] by default)
  payload_filter filter;
  std::string tenant;
  std::string mode = "live";
  std::string secret;
  std::vector<previous_secret> previous_secrets;
  std::map<std::string, std::string> headers;
  endpoint_auth auth;
  retry_policy retry;
  std::int64_t timeout_ms = 10'000;
  std::int64_t rate_limit = 0;
  std::int64_t max_in_flight = 4;
  std::string ordering = "none";
  bool disabled = false;
  std::string disabled_reason;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;

  bool test_mode() const { return mode == "test"; }
};

// Parses and validates. Unknown fields are refused (they are usually typos).
result<endpoint> endpoint_from_json(const nlohmann::json& j);
result<endpoint> endpoint_from_json_text(std::string_view text);

// include_secrets=false replaces secret values (secret, previous secrets, auth
// password/token/value) by "***" for listings.
nlohmann::json to_json(const endpoint& e, bool include_secrets = true);

bool valid_endpoint_id(std::string_view id);

// The state form of a secret and back: the identity (values arrive sealed in the records).
std::string seal_secret(std::string_view plain);
std::string open_secret(std::string_view sealed);

// The stored form in the subscriptions projection (JSON with sealed secrets) and back.
std::string endpoint_to_state(const endpoint& e);
result<endpoint> endpoint_from_state(std::string_view bytes);



}  // namespace hooklog::projections
