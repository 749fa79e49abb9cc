// Records as `hooklog tail` shows them (cli_records.hpp).
#include "tools/cli_records.hpp"

#include <cstdio>

#include "engine/backfill.hpp"
#include "engine/time_util.hpp"
#include "projections/attempt.hpp"
#include "projections/endpoint.hpp"

namespace hooklog::cli {
namespace {

// Integer times in a record body (µs) to the one time format.
void format_times(nlohmann::json& j) {
  if (!j.is_object()) return;
  for (auto& [k, v] : j.items()) {
    const bool time = k == "from" || k == "to" || k.ends_with("_at") || k.ends_with("_until");
    if (time && v.is_number_integer())
      v = format_rfc3339(v.get<std::int64_t>());
    else if (v.is_object())
      format_times(v);
  }
}

nlohmann::json body_json(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return {{"malformed", true}};
  return j;
}

}  // namespace

std::string record_json_line(const record_view& v) {
  if (v.kind == record_kind::event_received) return export_line(v);
  nlohmann::ordered_json j;
  j["seq"] = v.seq;
  j["kind"] = kind_name(v.kind);
  j["recorded_at"] = format_rfc3339(v.recorded_at);
  j["tenant"] = v.tenant;
  if (v.entity_kind.empty())
    j["entity"] = nullptr;
  else
    j["entity"] = {{"kind", v.entity_kind}, {"id", v.entity_id}};
  nlohmann::json data;
  switch (v.kind) {
    case record_kind::delivery_attempt: {
      j["event_id"] = event_id_for(v.ref_seq);
      j["event_type"] = v.type;
      auto a = projections::attempt_from_json(v.body);
      if (!a) {
        data = {{"malformed", true}};
        break;
      }
      data = projections::to_json(*a);
      data["next_attempt_at"] = a->next_attempt_at
                                    ? nlohmann::json(format_rfc3339(*a->next_attempt_at))
                                    : nlohmann::json();
      break;
    }
    case record_kind::endpoint_created:
    case record_kind::endpoint_updated: {
      auto e = projections::endpoint_from_json_text(v.body);
      if (!e) {
        data = {{"malformed", true}};
        break;
      }
      data = projections::to_json(*e, false);  // secrets hidden, as the API answers
      for (const char* k : {"id", "tenant", "created_at", "updated_at", "previous_secrets"})
        data.erase(k);
      break;
    }
    case record_kind::secret_rotated: {  // never the secret itself
      auto b = body_json(v.body);
      data = nlohmann::json::object();
      if (b.is_object() && b.contains("previous_valid_until"))
        data["previous_valid_until"] = b["previous_valid_until"];
      format_times(data);
      break;
    }
    default:
      data = body_json(v.body);
      if (data.is_object())
        for (const char* k : {"secret", "key", "key_hash"}) data.erase(k);
      format_times(data);
  }
  if (data.is_object())
    for (auto& [k, x] : data.items())
      if (!j.contains(k)) j[k] = x;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string record_text_line(const record_view& v) {
  std::string line = std::to_string(v.seq) + " " + format_rfc3339(v.recorded_at) + " ";
  char kind[20];
  std::snprintf(kind, sizeof kind, "%-16s", std::string(kind_name(v.kind)).c_str());
  line += kind;
  // Appended piece by piece (g++ 12 warns -Wrestrict, wrongly, of "literal" + std::string).
  auto add = [&line](std::initializer_list<std::string_view> parts) {
    for (std::string_view p : parts) line += p;
  };
  add({" ", v.tenant, " ", v.type});
  if (!v.entity_kind.empty()) add({" ", v.entity_kind, ":", v.entity_id});
  if (!v.status_to.empty())
    add({" ", v.status_from.empty() ? std::string_view("-") : v.status_from, "->", v.status_to});
  if (v.kind == record_kind::delivery_attempt) {
    add({" ", event_id_for(v.ref_seq)});
    if (auto a = projections::attempt_from_json(v.body)) {
      add({" ",
           a->success     ? "success"
           : a->is_dead() ? "failure (dead)"
                          : "failure",
           " status ", std::to_string(a->status), " attempt ", std::to_string(a->attempt), " ",
           std::to_string(a->latency_us / 1000), "ms"});
      if (!a->error.empty()) line += " error: " + a->error;
    } else {
      line += " (malformed attempt)";
    }
  }
  return line;
}

}  // namespace hooklog::cli
