#include "http/delivery/endpoint_validation.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "http/delivery/message.hpp"
#include "http/delivery/signature.hpp"

namespace hooklog::http {

namespace {

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(c));
  return buf;
}

field_problem problem(const std::string& field, const std::string& why) {
  return field_problem{field, field + ": " + why};
}

void escape_into(std::string& out, std::string_view token) {
  out += '/';
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
}

// The credential fields of endpoint_auth, with their names.
template <class Auth, class F>
void for_each_credential(Auth& a, F f) {
  f("password", a.password);
  f("token", a.token);
  f("value", a.value);
}

}  // namespace

namespace {

// RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~ (a table: the outbound client checks
// every header name of every delivery).
constexpr std::array<bool, 256> kTokenChar = [] {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

}  // namespace

bool http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char ch : s)
    if (!kTokenChar[static_cast<unsigned char>(ch)]) return false;
  return true;
}

std::optional<std::size_t> first_control(std::string_view s) noexcept {
  // 8 bytes at a time: a chunk with no byte below 0x20 and no 0x7F is skipped whole (the test
  // may flag a byte above a true hit, never miss one); a flagged chunk is read byte by byte,
  // since a tab passes.
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    const std::uint64_t del = x ^ (kOnes * 0x7F);
    const std::uint64_t hit = (((x - kOnes * 0x20) & ~x) | ((del - kOnes) & ~del)) & kHighs;
    if (hit == 0) continue;
    for (std::size_t k = i; k < i + 8; ++k)
      if (control(static_cast<unsigned char>(s[k]))) return k;
  }
  for (; i < s.size(); ++i)
    if (control(static_cast<unsigned char>(s[i]))) return i;
  return std::nullopt;
}

std::string pointer_to(std::string_view a, std::string_view b) {
  std::string out;
  escape_into(out, a);
  if (!b.empty()) escape_into(out, b);
  return out;
}

std::optional<field_problem> check_header_value(const std::string& field, std::string_view value) {
  if (auto at = first_control(value))
    return problem(field,
                   "has a control character (" + hex_byte(static_cast<unsigned char>(value[*at])) +
                       " at byte " + std::to_string(*at) +
                       "); header values must not contain CR, LF, NUL or other control characters");
  return std::nullopt;
}

std::optional<field_problem> check_header_name(const std::string& field, std::string_view name) {
  if (!http_token(name))
    return problem(field, "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)");
  // hooklog sets these on every delivery (delivery_request.cpp): a second copy would make the
  // receiver's Standard Webhooks check fail, or dedupe on the endpoint's value.
  for (const std::string_view own : {"webhook-id", "webhook-timestamp", "webhook-signature",
                                     "webhook-event-type", "webhook-replay", "content-type"})
    if (iequals(name, own))
      return problem(field, "is set by hooklog on every delivery (" + std::string(own) +
                                "); an endpoint cannot set it");
  // The HTTP client writes these from the URL and the body; an endpoint's copy was dropped.
  for (const std::string_view wire :
       {"host", "content-length", "transfer-encoding", "connection", "te", "upgrade"})
    if (iequals(name, wire))
      return problem(field, "is set by the HTTP client (" + std::string(wire) +
                                "); an endpoint cannot set it");
  return std::nullopt;
}

std::optional<field_problem> check_signing_secret(std::string_view secret,
                                                  const std::string& field) {
  constexpr std::string_view kPrefix = "whsec_";
  const std::string why = "must be whsec_ followed by base64 of " +
                          std::to_string(kMinSecretBytes) + " to " +
                          std::to_string(kMaxSecretBytes) + " bytes";
  if (secret.substr(0, kPrefix.size()) != kPrefix) return problem(field, why);
  auto key = base64_decode(secret.substr(kPrefix.size()));
  if (!key) return problem(field, why + " (the part after whsec_ is not base64)");
  if (key->size() < kMinSecretBytes || key->size() > kMaxSecretBytes)
    return problem(field, why + " (it decodes to " + std::to_string(key->size()) + " bytes)");
  return std::nullopt;
}

std::optional<field_problem> check_endpoint_input(const projections::endpoint& e,
                                                  const input_scope& scope) {
  if (scope.secret)
    if (auto p = check_signing_secret(e.secret)) return p;
  const auto& a = e.auth;
  // The header auth sets, if any: a header of the same name would be sent twice.
  const std::string_view auth_header = a.type == "basic" || a.type == "bearer"
                                           ? "Authorization"
                                           : (a.type == "header" ? a.name : std::string_view());
  for (auto it = e.headers.begin(); it != e.headers.end(); ++it) {
    const auto& [name, value] = *it;
    const std::string field = pointer_to("headers", name);
    if (auto p = check_header_name(field, name)) return p;
    if (auto p = check_header_value(field, value)) return p;
    for (auto before = e.headers.begin(); before != it; ++before)
      if (iequals(before->first, name))
        return problem(field, "repeats the header " + before->first +
                                  " (header names are compared without regard to case)");
    if (!auth_header.empty() && iequals(name, auth_header))
      return problem(field, "is the header auth sets (auth.type " + a.type + "); set it there");
  }
  std::optional<field_problem> found;
  for_each_credential(a, [&](const char* name, const std::string& v) {
    if (found || v.empty()) return;
    if (secret_box::is_sealed(v)) {
      if (std::find(scope.kept_sealed.begin(), scope.kept_sealed.end(), name) ==
          scope.kept_sealed.end())
        found = problem(pointer_to("auth", name),
                        "must not start with enc:v1: (reserved for sealed values)");
      return;
    }
    found = check_header_value(pointer_to("auth", name), v);
  });
  if (found) return found;
  if (a.type == "basic") {
    // RFC 7617: the user-id holds no colon and no control character.
    if (auto p = check_header_value(pointer_to("auth", "username"), a.username)) return p;
    if (a.username.find(':') != std::string::npos)
      return problem(pointer_to("auth", "username"), "must not contain ':' (RFC 7617)");
  } else if (a.type == "header") {
    if (auto p = check_header_name(pointer_to("auth", "name"), a.name)) return p;
  }
  return std::nullopt;
}

std::vector<std::string> open_stored_credentials(projections::endpoint& e,
                                                 const nlohmann::json& patch,
                                                 const secret_box& box) {
  std::vector<std::string> kept;
  const nlohmann::json* patched_auth = nullptr;
  if (auto it = patch.find("auth"); it != patch.end() && it->is_object()) patched_auth = &*it;
  for_each_credential(e.auth, [&](const char* name, std::string& v) {
    if (v.empty()) return;
    if (patched_auth) {
      auto f = patched_auth->find(name);
      if (f != patched_auth->end() && !f->is_null()) return;  // the user's plain value
    }
    if (!secret_box::is_sealed(v)) return;  // plain from an older record
    if (auto plain = box.open(v))
      v = std::move(*plain);
    else
      kept.emplace_back(name);
  });
  return kept;
}

void seal_credentials(nlohmann::json& endpoint_json, const secret_box& box) {
  auto it = endpoint_json.find("auth");
  if (it == endpoint_json.end() || !it->is_object()) return;
  for (const char* name : {"password", "token", "value"}) {
    auto f = it->find(name);
    if (f == it->end() || !f->is_string()) continue;
    const auto& v = f->get_ref<const std::string&>();
    if (v.empty() || secret_box::is_sealed(v)) continue;
    *f = box.seal(v);
  }
}

}  // namespace hooklog::http
