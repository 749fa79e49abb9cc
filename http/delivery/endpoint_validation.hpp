#pragma once
// What an endpoint's settings must satisfy before anything of them can reach an outbound
// request line or header, and how its credentials are kept at rest.
//
// Header syntax (RFC 9110 section 5): a field name is a token (1*tchar:
// ALPHA / DIGIT / "!#$%&'*+-.^_`|~"); a field value holds no control character (CTL: 0x00-0x1F
// except HTAB, and 0x7F). CR or LF in a value would end the header line and let the rest be read
// as more headers, a body or another request on the same connection (request splitting).
//
// check_endpoint_input() is the API's check at creation and update (PATCH), on plain values:
// every header name and value, the auth fields (basic username/password, bearer token, header
// name/value) and the signing secret. The first problem found is answered as a 422 with
// `details.field` set to its JSON pointer ("/auth/token", "/headers/X-Foo", "/secret"); the
// message starts with the same pointer and never repeats the value (it may be a credential).
// The projection stays lenient (a record already in the log is read as it is); the request
// builder checks again (delivery_request.hpp) and the outbound client once more (outbound.hpp).
//
// Credentials at rest: auth.password, auth.token and auth.value are sealed with the secret_box
// ("enc:v1:..."), like signing secrets, in the log records the API writes and therefore in the
// projection state; they are opened only when a request is built. Records written before this
// hold them in plain text and stay readable (a value without the "enc:v1:" prefix is used as it
// is); the next PATCH of such an endpoint stores them sealed. A value a user sends that starts
// with "enc:v1:" is refused: the prefix is reserved for sealed values.
//
// Thread safety: pure functions (the secret_box is immutable).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/secret_box.hpp"
#include "projections/endpoint.hpp"

namespace hooklog::http {

// A refusal naming its field: `field` is a JSON pointer, `message` is "<field>: <reason>".
struct field_problem {
  std::string field;
  std::string message;
};

// RFC 9110 token (a header name or method); false when empty.
bool http_token(std::string_view s) noexcept;
// Position of the first CTL (0x00-0x1F except HTAB, 0x7F), or nullopt.
std::optional<std::size_t> first_control(std::string_view s) noexcept;
// "/a/b" for the tokens a, b (RFC 6901 escapes: "~" -> "~0", "/" -> "~1").
std::string pointer_to(std::string_view a, std::string_view b = {});

// A field value check: nullopt, or the problem named by `field` (a JSON pointer).
std::optional<field_problem> check_header_value(const std::string& field, std::string_view value);
// A name: an RFC 9110 token, and none of the headers hooklog sets on every delivery
// (webhook-id, -timestamp, -signature, -event-type, -replay; any case).
std::optional<field_problem> check_header_name(const std::string& field, std::string_view name);

// "whsec_" + standard base64 (padded) of 24..64 bytes: what generate_secret() makes and what
// Standard Webhooks receivers accept. Field "/secret".
inline constexpr std::size_t kMinSecretBytes = 24;
inline constexpr std::size_t kMaxSecretBytes = 64;
std::optional<field_problem> check_signing_secret(std::string_view secret,
                                                  const std::string& field = "/secret");

// Which checks check_endpoint_input() leaves out.
struct input_scope {
  bool secret = true;  // false for PATCH (the secret cannot be patched; it is stored sealed)
  std::vector<std::string> kept_sealed;  // credential names ("token") kept sealed as stored
};

// Every value of `e` that reaches a request (headers, auth) and, unless scope.secret is false,
// its signing secret, in plain form. Credentials starting with "enc:v1:" are refused (reserved)
// except those named in scope.kept_sealed.
std::optional<field_problem> check_endpoint_input(const projections::endpoint& e,
                                                  const input_scope& scope = {});

// PATCH: the merged endpoint holds the stored credentials (sealed, or plain from an older
// record) wherever the patch did not set them. Opens those in place, so that
// check_endpoint_input() sees plain values; returns the names of those that could not be opened
// (wrong master key): they stay sealed, as stored.
std::vector<std::string> open_stored_credentials(projections::endpoint& e,
                                                 const nlohmann::json& patch,
                                                 const secret_box& box);

// Seals auth.password, auth.token and auth.value of an endpoint JSON (to_json form) that are
// not sealed already, for the log record.
void seal_credentials(nlohmann::json& endpoint_json, const secret_box& box);

}  // namespace hooklog::http
