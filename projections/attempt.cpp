#include "projections/attempt.hpp"

#include <nlohmann/json.hpp>

#include "engine/json_extract.hpp"
#include "projections/proj_errc.hpp"

namespace hooklog::projections {

namespace {
// Deeper bodies take the full parse (attempt bodies are flat; the dispatcher writes them).
constexpr int kMaxAttemptDepth = 64;
}  // namespace

nlohmann::json to_json(const delivery_attempt& a) {
  nlohmann::json j = {{"endpoint_id", a.endpoint_id},
                      {"event_seq", a.event_seq},
                      {"attempt", a.attempt},
                      {"outcome", a.success ? "success" : "failure"},
                      {"status", a.status},
                      {"latency_us", a.latency_us},
                      {"error", a.error},
                      {"response_excerpt", a.response_excerpt.substr(0, kMaxResponseExcerpt)},
                      {"next_attempt_at", nullptr},
                      {"dead_letter", a.dead_letter}};
  if (a.next_attempt_at) j["next_attempt_at"] = *a.next_attempt_at;
  if (!a.replay_id.empty()) j["replay_id"] = a.replay_id;
  return j;
}

result<delivery_attempt> attempt_from_json(std::string_view body) {
  auto bad = [](const std::string& why) {
    return make_error(proj_errc::invalid_body, "delivery_attempt: " + why);
  };
  // Only the members read are built (engine/json_extract.hpp); a body that scan leaves alone
  // (invalid, a repeated member, ...) gets the full parse, which keeps the last of repeated keys.
  static const key_paths kRead = [] {
    key_paths k;
    for (const char* p :
         {"/endpoint_id", "/event_seq", "/attempt", "/outcome", "/status", "/latency_us", "/error",
          "/response_excerpt", "/next_attempt_at", "/dead_letter", "/replay_id"})
      k.add(*json_pointer::parse(p));
    return k;
  }();
  auto watched = extract_watched(body, kRead, kMaxAttemptDepth);
  const nlohmann::json j =
      watched ? std::move(*watched) : nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("body is not a JSON object");
  delivery_attempt a;
  try {
    a.endpoint_id = j.at("endpoint_id").get<std::string>();
    a.event_seq = j.at("event_seq").get<std::uint64_t>();
    a.attempt = j.value("attempt", 1u);
    const auto outcome = j.at("outcome").get<std::string>();
    if (outcome != "success" && outcome != "failure") return bad("outcome must be success or failure");
    a.success = outcome == "success";
    a.status = j.value("status", 0);
    a.latency_us = j.value("latency_us", std::int64_t{0});
    if (auto it = j.find("error"); it != j.end() && it->is_string()) a.error = it->get<std::string>();
    if (auto it = j.find("response_excerpt"); it != j.end() && it->is_string())
      a.response_excerpt = it->get<std::string>();
    if (auto it = j.find("next_attempt_at"); it != j.end() && !it->is_null())
      a.next_attempt_at = it->get<std::int64_t>();
    a.dead_letter = j.value("dead_letter", false);
    if (auto it = j.find("replay_id"); it != j.end() && it->is_string()) a.replay_id = it->get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  if (a.attempt == 0) return bad("attempt must be >= 1");
  return a;
}

const result<delivery_attempt>& attempt_of(std::string_view body) {
  struct memo {
    std::string body;
    std::optional<result<delivery_attempt>> parsed;
  };
  thread_local memo m;
  if (!m.parsed || m.body != body) {
    m.parsed.reset();
    m.body.assign(body);
    m.parsed.emplace(attempt_from_json(body));
  }
  return *m.parsed;
}

record make_attempt_record(const delivery_attempt& a, std::string_view tenant,
                           std::string_view event_type) {
  record r;
  r.kind = record_kind::delivery_attempt;
  r.tenant = std::string(tenant);
  r.type = std::string(event_type);
  r.entity_kind = "endpoint";
  r.entity_id = a.endpoint_id;
  r.ref_seq = a.event_seq;
  r.body = to_json(a).dump();
  return r;
}

}  // namespace hooklog::projections
