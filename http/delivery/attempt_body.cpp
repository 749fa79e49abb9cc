#include "http/delivery/attempt_body.hpp"

#include <nlohmann/json.hpp>

namespace hooklog::http {

namespace {

bool ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// A JSON string as nlohmann's serializer writes an ASCII one: \" \\ \b \f \n \r \t, the other
// control characters as \u00xx (lowercase hex), everything else as is (0x7f too). Runs of
// characters written as they are go out in one append.
void put_string(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s, plain_from, i - plain_from);
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
  out.append(s, plain_from, std::string::npos);
  out += '"';
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
  bool plain = ascii(a.endpoint_id) && ascii(a.error) && ascii(excerpt) && ascii(a.replay_id);
  for (const auto& [k, v] : headers) plain = plain && ascii(k) && ascii(v);
  if (!plain) return attempt_body_json(a, excerpt, truncated, headers);
  // The keys in nlohmann's (sorted) order.
  std::string out;
  out.reserve(256 + a.endpoint_id.size() + a.error.size() + excerpt.size() + headers.size() * 48);
  out += "{\"attempt\":";
  out += std::to_string(a.attempt);
  out += a.dead_letter ? ",\"dead_letter\":true" : ",\"dead_letter\":false";
  out += ",\"endpoint_id\":";
  put_string(out, a.endpoint_id);
  out += ",\"error\":";
  put_string(out, a.error);
  out += ",\"event_seq\":";
  out += std::to_string(a.event_seq);
  out += ",\"latency_us\":";
  out += std::to_string(a.latency_us);
  out += ",\"next_attempt_at\":";
  out += a.next_attempt_at ? std::to_string(*a.next_attempt_at) : "null";
  out += a.success ? ",\"outcome\":\"success\"" : ",\"outcome\":\"failure\"";
  if (!a.replay_id.empty()) {
    out += ",\"replay_id\":";
    put_string(out, a.replay_id);
  }
  out += ",\"response_excerpt\":";
  put_string(out, excerpt);
  out += ",\"response_headers\":[";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i) out += ',';
    out += '[';
    put_string(out, headers[i].first);
    out += ',';
    put_string(out, headers[i].second);
    out += ']';
  }
  out += ']';
  if (truncated) out += ",\"response_truncated\":true";
  out += ",\"status\":";
  out += std::to_string(a.status);
  out += '}';
  return out;
}

}  // namespace hooklog::http
