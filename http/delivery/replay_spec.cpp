#include "http/delivery/replay_spec.hpp"

#include <openssl/sha.h>

#include <algorithm>

#include "engine/bytes.hpp"
#include "engine/errc.hpp"
#include "engine/json_pointer.hpp"
#include "engine/record.hpp"
#include "engine/time_util.hpp"
#include "projections/filter.hpp"

namespace hooklog::http {
namespace {

error invalid(std::string message) {
  return make_error(errc::invalid_record, std::move(message));
}

}  // namespace

result<std::optional<std::int64_t>> replay_time_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<std::int64_t>{};
  // Microseconds within years 1 to 9999, what RFC 3339 can write back: before, an unsigned
  // value past 2^63 was taken modulo 2^64 (18446744073709551615 became -1, the epoch).
  constexpr std::int64_t kFirst = -62135596800000000, kLast = 253402300799999999;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(kLast))
    return invalid(std::string(name) + ": " + it->dump() + " microseconds is past the year 9999");
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    if (v < kFirst || v > kLast)
      return invalid(std::string(name) + ": " + std::to_string(v) +
                     " microseconds is outside the years 1 to 9999");
    return std::optional<std::int64_t>{v};
  }
  if (it->is_string()) {
    if (auto t = parse_rfc3339(it->get<std::string>())) return std::optional<std::int64_t>{*t};
  }
  return invalid(std::string(name) +
                 ": must be an RFC 3339 time (2024-02-10T00:37:34Z) or microseconds");
}

nlohmann::json replay_spec_to_json(const replay_spec& s) {
  nlohmann::json j = {
      {"endpoint_id", s.endpoint_id},
      {"tenant", s.tenant},
      {"from", s.from ? nlohmann::json(format_rfc3339(*s.from)) : nlohmann::json()},
      {"to", s.to ? nlohmann::json(format_rfc3339(*s.to)) : nlohmann::json()},
      {"time", s.occurred ? "occurred" : "recorded"},
      {"types", s.types},
      {"entity", s.entity_kind.empty()
                     ? nlohmann::json()
                     : nlohmann::json{{"kind", s.entity_kind}, {"id", s.entity_id}}},
      {"event_id", s.event_seq ? nlohmann::json(event_id_for(s.event_seq)) : nlohmann::json()},
      {"mode", s.mode},
      {"rate_limit", s.rate_limit},
      {"webhook_ids", s.webhook_ids},
      {"to_seq", s.to_seq}};
  return j;
}

result<replay_spec> replay_spec_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid("the replay must be a JSON object");
  static const char* kKnown[] = {"endpoint_id", "from",      "to",         "time",        "types",
                                 "entity",      "mode",      "rate_limit", "webhook_ids", "tenant",
                                 "to_seq",      "replay_id", "event_id"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return it.key() == k; }) == std::end(kKnown))
      return invalid(it.key() + ": unknown field");
  replay_spec s;
  auto ep = j.find("endpoint_id");
  if (ep == j.end() || !ep->is_string() || ep->get<std::string>().empty())
    return invalid("endpoint_id: is required (a string)");
  s.endpoint_id = *ep;
  auto from = replay_time_field(j, "from");
  if (!from) return from.err();
  auto to = replay_time_field(j, "to");
  if (!to) return to.err();
  s.from = *from;
  s.to = *to;
  if (s.from && s.to && *s.from >= *s.to) return invalid("to: must be later than from");
  if (auto t = j.find("time"); t != j.end() && !t->is_null()) {
    if (!t->is_string() || (*t != "recorded" && *t != "occurred"))
      return invalid("time: must be \"recorded\" or \"occurred\"");
    s.occurred = *t == "occurred";
  }
  if (auto t = j.find("types"); t != j.end() && !t->is_null()) {
    if (!t->is_array()) return invalid("types: must be an array of type patterns");
    for (std::size_t i = 0; i < t->size(); ++i) {
      const auto& p = (*t)[i];
      if (!p.is_string()) return invalid("types[" + std::to_string(i) + "]: must be a string");
      auto parsed =
          projections::parse_type_pattern(p.get<std::string>(), "types[" + std::to_string(i) + "]");
      if (!parsed) return parsed.err();
      s.types.push_back(p);
    }
  }
  if (auto e = j.find("entity"); e != j.end() && !e->is_null()) {
    if (!e->is_object() || !e->contains("kind") || !(*e)["kind"].is_string() ||
        (*e)["kind"].get<std::string>().empty())
      return invalid("entity: must be {\"kind\": string, \"id\": string (optional)}");
    for (auto m = e->begin(); m != e->end(); ++m)
      if (m.key() != "kind" && m.key() != "id") {
        // {"kind":"order","ID":"O1"} replayed every order.
        error bad = invalid("entity." + m.key() + ": unknown field (entity takes kind and id)");
        bad.field = "/entity/" + json_pointer::escape(m.key());
        return bad;
      }
    s.entity_kind = (*e)["kind"];
    if (e->contains("id") && !(*e)["id"].is_null()) {
      if (!(*e)["id"].is_string()) return invalid("entity.id: must be a string");
      s.entity_id = (*e)["id"];
    }
  }
  if (auto e = j.find("event_id"); e != j.end() && !e->is_null()) {
    const auto seq = e->is_string() ? seq_from_event_id(e->get_ref<const std::string&>())
                                    : std::optional<std::uint64_t>();
    if (!seq || *seq == 0) return invalid("event_id: must be an event id (evt_ and 16 hex digits)");
    s.event_seq = *seq;
  }
  if (auto m = j.find("mode"); m != j.end() && !m->is_null()) {
    if (!m->is_string() || (*m != "all" && *m != "missing" && *m != "failed"))
      return invalid("mode: must be all, missing or failed");
    s.mode = *m;
  }
  if (auto r = j.find("rate_limit"); r != j.end() && !r->is_null()) {
    if (!r->is_number_integer() || r->get<std::int64_t>() < 0)
      return invalid("rate_limit: must be a whole number of events per second (0 = default)");
    s.rate_limit = *r;
  }
  if (auto w = j.find("webhook_ids"); w != j.end() && !w->is_null()) {
    if (!w->is_string() || (*w != "original" && *w != "fresh"))
      return invalid(
          "webhook_ids: must be \"original\" (the event id) or \"fresh\" (a new id per replay)");
    s.webhook_ids = *w;
  }
  if (auto t = j.find("tenant"); t != j.end() && t->is_string()) s.tenant = *t;
  if (auto t = j.find("to_seq"); t != j.end() && t->is_number_unsigned()) s.to_seq = *t;
  return s;
}

std::string fresh_webhook_id(std::string_view replay_id, std::uint64_t event_seq) {
  const std::string in = std::string(replay_id) + '\0' + event_id_for(event_seq);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  return "msg_" + bytes::to_hex(md, 16);
}

}  // namespace hooklog::http
