#pragma once
// Standard base64 (RFC 4648 §4, with padding), one implementation for the whole project:
// webhook secrets and signatures (http/delivery/signature), tree-head signatures and audit
// bundles (engine/tree_head, engine/audit_bundle).
//
// All functions are pure and thread-safe.
#include <optional>
#include <string>
#include <string_view>

namespace hooklog {

std::string base64_encode(std::string_view bytes);
// The same text appended to `out` (no allocation when `out` has the room: signatures written
// into a request's kept header buffer).
void base64_append(std::string& out, std::string_view bytes);
// nullopt for malformed input (a length not a multiple of 4, whitespace, a bad character).
std::optional<std::string> base64_decode(std::string_view text);
// The same, and only the canonical form (what base64_encode gives for the decoded bytes): used
// where a second spelling of the same bytes must not pass (signed heads, audit bundles).
std::optional<std::string> base64_decode_canonical(std::string_view text);

}  // namespace hooklog
