#include "http/delivery/attempt_body.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace hooklog::http {

namespace {

// What a byte is to put_string: 0 written as is, 1 escaped, 2 not ASCII (the nlohmann path).
constexpr std::array<unsigned char, 256> kByteClass = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
  return t;
}();

// A JSON string as nlohmann's serializer writes an ASCII one: \" \\ \b \f \n \r \t, the other
// control characters as \u00xx (lowercase hex), everything else as is (0x7f too). Runs of
// characters written as they are go out in one append. False (and `out` partly written) at the
// first byte >= 0x80: the caller then writes the whole body through nlohmann. One pass, one
// table look-up per byte.
bool put_string(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const unsigned char k = kByteClass[c];
    if (k == 0) continue;
    if (k == 2) return false;
    out.append(s.data() + plain_from, i - plain_from);
    plain_from = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + plain_from, s.size() - plain_from);
  out += '"';
  return true;
}

// attempt_body() when every string is ASCII; false at the first that is not.
bool attempt_body_ascii(std::string& out, const projections::delivery_attempt& a, const std::string& excerpt,
                        bool truncated, const header_list& headers) {
  // The keys in nlohmann's (sorted) order.
  out.reserve(256 + a.endpoint_id.size() + a.error.size() + excerpt.size() + headers.size() * 48);
  out += "{\"attempt\":";
  out += std::to_string(a.attempt);
  out += a.dead_letter ? ",\"dead_letter\":true" : ",\"dead_letter\":false";
  out += ",\"endpoint_id\":";
  if (!put_string(out, a.endpoint_id)) return false;
  out += ",\"error\":";
  if (!put_string(out, a.error)) return false;
  out += ",\"event_seq\":";
  out += std::to_string(a.event_seq);
  out += ",\"latency_us\":";
  out += std::to_string(a.latency_us);
  out += ",\"next_attempt_at\":";
  out += a.next_attempt_at ? std::to_string(*a.next_attempt_at) : "null";
  out += a.success ? ",\"outcome\":\"success\"" : ",\"outcome\":\"failure\"";
  if (!a.replay_id.empty()) {
    out += ",\"replay_id\":";
    if (!put_string(out, a.replay_id)) return false;
  }
  out += ",\"response_excerpt\":";
  if (!put_string(out, excerpt)) return false;
  out += ",\"response_headers\":[";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i) out += ',';
    out += '[';
    if (!put_string(out, headers[i].first)) return false;
    out += ',';
    if (!put_string(out, headers[i].second)) return false;
    out += ']';
  }
  out += ']';
  if (truncated) out += ",\"response_truncated\":true";
  out += ",\"status\":";
  out += std::to_string(a.status);
  out += '}';
  return true;
}

}  // namespace

std::string attempt_body_json(const projections::delivery_attempt& a, const std::string& excerpt,
                              bool truncated, const header_list& headers) {
  nlohmann::json body = projections::to_json(a);
  body["response_excerpt"] = excerpt;
  if (truncated) body["response_truncated"] = true;
  nlohmann::json hdrs = nlohmann::json::array();
  for (const auto& [k, v] : headers) hdrs.push_back({k, v});
  body["response_headers"] = std::move(hdrs);
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string attempt_body(const projections::delivery_attempt& a, const std::string& excerpt,
                         bool truncated, const header_list& headers) {
  std::string out;
  if (attempt_body_ascii(out, a, excerpt, truncated, headers)) return out;
  return attempt_body_json(a, excerpt, truncated, headers);
}

}  // namespace hooklog::http
