#include "projections/endpoint.hpp"

#include <openssl/evp.h>

#include "engine/json_pointer.hpp"
#include "projections/proj_errc.hpp"

namespace hooklog::projections {

namespace {
error bad(const std::string& field, const std::string& why) {
  return make_error(proj_errc::invalid_endpoint, field + ": " + why);
}
// A member named by the user (a header, an unknown field): `field` is its JSON pointer, as the
// dotted name in the message cannot say where "X.a" or "a: b" ends.
error bad_member(std::string_view parent, const std::string& key, const std::string& why) {
  error e = bad(parent.empty() ? key : std::string(parent) + "." + key, why);
  e.field = (parent.empty() ? std::string() : "/" + std::string(parent)) + "/" +
            json_pointer::escape(key);
  return e;
}
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxPatterns = 256;
constexpr std::size_t kMaxHeaders = 64;

const char* kKnownFields[] = {"id",         "url",        "description",   "events",     "filter",
                              "tenant",     "mode",       "secret",        "previous_secrets",
                              "headers",    "auth",       "retry",         "timeout_ms", "rate_limit",
                              "max_in_flight", "ordering", "disabled",     "disabled_reason",
                              "created_at", "updated_at", "health"};

std::optional<error> get_string(const nlohmann::json& j, const char* name, std::string& out,
                                bool required, std::size_t max = 4096) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) return bad(name, "is required");
    return std::nullopt;
  }
  if (!it->is_string()) return bad(name, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max) return bad(name, "is longer than " + std::to_string(max) + " bytes");
  out = s;
  return std::nullopt;
}

std::optional<error> get_int(const nlohmann::json& j, const char* name, std::int64_t lo,
                             std::int64_t hi, std::int64_t& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return bad(name, "must be an integer");
  auto v = it->get<std::int64_t>();
  if (v < lo || v > hi)
    return bad(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  out = v;
  return std::nullopt;
}

std::optional<error> parse_auth(const nlohmann::json& j, endpoint_auth& a) {
  if (j.is_null()) return std::nullopt;
  if (!j.is_object()) return bad("auth", "must be an object or null");
  auto str = [&](const char* k, std::string& out) -> std::optional<error> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return bad(std::string("auth.") + k, "is required (a non-empty string)");
    out = it->get<std::string>();
    return std::nullopt;
  };
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return bad("auth.type", "must be basic, bearer or header");
  a.type = t->get<std::string>();
  if (a.type == "basic") {
    if (auto e = str("username", a.username)) return e;
    if (auto e = str("password", a.password)) return e;
  } else if (a.type == "bearer") {
    if (auto e = str("token", a.token)) return e;
  } else if (a.type == "header") {
    if (auto e = str("name", a.name)) return e;
    if (auto e = str("value", a.value)) return e;
  } else {
    return bad("auth.type", "must be basic, bearer or header");
  }
  return std::nullopt;
}

// Sizes only: the syntax of names and values (RFC 9110 tokens, no control characters) is
// checked where it matters, with JSON-pointer fields: by the API on input and again when a
// request is built (http/delivery/endpoint_validation.hpp), so a record already in the log with a bad
// value is still read and its attempts fail with a recorded reason.
bool valid_header_name(std::string_view n) { return !n.empty() && n.size() <= 256; }
bool valid_header_value(std::string_view v) { return v.size() <= 8192; }
}  // namespace

bool valid_endpoint_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

result<endpoint> endpoint_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return bad("body", "must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnownFields) known = known || it.key() == k;
    if (!known) return bad_member("", it.key(), "unknown field");
  }
  endpoint e;
  if (auto er = get_string(j, "id", e.id, true, 128)) return *er;
  if (!valid_endpoint_id(e.id)) return bad("id", "must be 1-128 characters of [A-Za-z0-9._:-]");
  if (auto er = get_string(j, "url", e.url, true, kMaxUrl)) return *er;
  if (!(e.url.starts_with("http://") || e.url.starts_with("https://")) ||
      e.url.size() <= std::string_view(e.url.starts_with("https") ? "https://" : "http://").size())
    return bad("url", "must be an http:// or https:// URL");
  for (char c : e.url)
    if (static_cast<unsigned char>(c) <= 0x20) return bad("url", "must not contain spaces or control characters");
  if (auto er = get_string(j, "description", e.description, false)) return *er;
  if (auto it = j.find("events"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return bad("events", "must be an array of event type patterns");
    if (it->empty()) return bad("events", "must not be empty (use [\"*\"] for every type)");
    if (it->size() > kMaxPatterns) return bad("events", "has more than 256 patterns");
    for (std::size_t i = 0; i < it->size(); ++i) {
      std::string field = "events[" + std::to_string(i) + "]";
      if (!(*it)[i].is_string()) return bad(field, "must be a string");
      auto p = parse_type_pattern((*it)[i].get_ref<const std::string&>(), field);
      if (!p) return p.err();
      e.events.push_back(std::move(*p));
    }
  } else {
    e.events.push_back(type_pattern{type_pattern::kind::any, {}});
  }
  if (auto it = j.find("filter"); it != j.end()) {
    auto f = payload_filter::parse(*it);
    if (!f) return f.err();
    e.filter = std::move(*f);
  }
  if (auto er = get_string(j, "tenant", e.tenant, false, 256)) return *er;
  if (e.tenant.find('\0') != std::string::npos) return bad("tenant", "must not contain NUL");
  if (auto er = get_string(j, "mode", e.mode, false)) return *er;
  if (e.mode != "live" && e.mode != "test") return bad("mode", "must be live or test");
  if (auto er = get_string(j, "secret", e.secret, false, 512)) return *er;
  // Secrets arrive as whsec_… from users, and sealed ("enc:v1:…", secret_box.hpp) in log records.
  if (!e.secret.empty() && !e.secret.starts_with("whsec_") && !e.secret.starts_with("enc:v1:"))
    return bad("secret", "must start with whsec_");
  if (auto it = j.find("previous_secrets"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return bad("previous_secrets", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& p = (*it)[i];
      std::string field = "previous_secrets[" + std::to_string(i) + "]";
      if (!p.is_object() || !p.contains("secret") || !p["secret"].is_string() ||
          !p.contains("valid_until") || !p["valid_until"].is_number_integer())
        return bad(field, "must be {\"secret\":string,\"valid_until\":integer}");
      e.previous_secrets.push_back({p["secret"].get<std::string>(),
                                    p["valid_until"].get<std::int64_t>()});
    }
  }
  if (auto it = j.find("headers"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return bad("headers", "must be an object of strings");
    if (it->size() > kMaxHeaders) return bad("headers", "has more than 64 entries");
    for (auto h = it->begin(); h != it->end(); ++h) {
      if (!valid_header_name(h.key()))
        return bad_member("headers", h.key(), "is not a valid header name");
      if (!h->is_string() || !valid_header_value(h->get_ref<const std::string&>()))
        return bad_member("headers", h.key(), "must be a string of at most 8192 bytes");
      e.headers[h.key()] = h->get<std::string>();
    }
  }
  if (auto it = j.find("auth"); it != j.end())
    if (auto er = parse_auth(*it, e.auth)) return *er;
  if (auto it = j.find("retry"); it != j.end()) {
    auto r = retry_policy_from_json(*it);
    if (!r) return r.err();
    e.retry = *r;
  }
  if (auto er = get_int(j, "timeout_ms", 1, 300'000, e.timeout_ms)) return *er;
  if (auto er = get_int(j, "rate_limit", 0, 1'000'000, e.rate_limit)) return *er;
  if (auto er = get_int(j, "max_in_flight", 1, 1000, e.max_in_flight)) return *er;
  if (auto er = get_string(j, "ordering", e.ordering, false)) return *er;
  if (e.ordering != "none" && e.ordering != "entity") return bad("ordering", "must be none or entity");
  if (auto it = j.find("disabled"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return bad("disabled", "must be a boolean");
    e.disabled = it->get<bool>();
  }
  if (auto er = get_string(j, "disabled_reason", e.disabled_reason, false)) return *er;
  if (auto er = get_int(j, "created_at", INT64_MIN, INT64_MAX, e.created_at)) return *er;
  if (auto er = get_int(j, "updated_at", INT64_MIN, INT64_MAX, e.updated_at)) return *er;
  return e;
}

result<endpoint> endpoint_from_json_text(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("body", "is not valid JSON");
  return endpoint_from_json(j);
}

nlohmann::json to_json(const endpoint& e, bool include_secrets) {
  auto hide = [&](const std::string& s) -> std::string {
    if (s.empty()) return s;
    return include_secrets ? s : std::string("***");
  };
  nlohmann::json events = nlohmann::json::array();
  for (const auto& p : e.events) events.push_back(p.to_string());
  nlohmann::json prev = nlohmann::json::array();
  for (const auto& p : e.previous_secrets)
    prev.push_back({{"secret", hide(p.secret)}, {"valid_until", p.valid_until}});
  nlohmann::json auth = nullptr;
  if (e.auth.type == "basic")
    auth = {{"type", "basic"}, {"username", e.auth.username}, {"password", hide(e.auth.password)}};
  else if (e.auth.type == "bearer")
    auth = {{"type", "bearer"}, {"token", hide(e.auth.token)}};
  else if (e.auth.type == "header")
    auth = {{"type", "header"}, {"name", e.auth.name}, {"value", hide(e.auth.value)}};
  nlohmann::json j = {{"id", e.id},
                      {"url", e.url},
                      {"description", e.description},
                      {"events", std::move(events)},
                      {"filter", e.filter.to_json()},
                      {"tenant", e.tenant},
                      {"mode", e.mode},
                      {"secret", hide(e.secret)},
                      {"previous_secrets", std::move(prev)},
                      {"headers", e.headers},
                      {"auth", std::move(auth)},
                      {"retry", to_json(e.retry)},
                      {"timeout_ms", e.timeout_ms},
                      {"rate_limit", e.rate_limit},
                      {"max_in_flight", e.max_in_flight},
                      {"ordering", e.ordering},
                      {"disabled", e.disabled},
                      {"disabled_reason", e.disabled_reason},
                      {"created_at", e.created_at},
                      {"updated_at", e.updated_at}};
  return j;
}

std::string seal_secret(std::string_view plain) { return std::string(plain); }
std::string open_secret(std::string_view sealed) { return std::string(sealed); }

namespace {
template <class F>
void map_secrets(endpoint& e, F f) {
  if (!e.secret.empty()) e.secret = f(e.secret);
  for (auto& p : e.previous_secrets) p.secret = f(p.secret);
  if (!e.auth.password.empty()) e.auth.password = f(e.auth.password);
  if (!e.auth.token.empty()) e.auth.token = f(e.auth.token);
  if (!e.auth.value.empty()) e.auth.value = f(e.auth.value);
}
}  // namespace

std::string endpoint_to_state(const endpoint& e) {
  endpoint sealed = e;
  map_secrets(sealed, [](const std::string& s) { return seal_secret(s); });
  return to_json(sealed, true).dump();
}

result<endpoint> endpoint_from_state(std::string_view bytes) {
  auto e = endpoint_from_json_text(bytes);
  if (!e) return e;
  map_secrets(*e, [](const std::string& s) { return open_secret(s); });
  return e;
}


}  // namespace hooklog::projections
