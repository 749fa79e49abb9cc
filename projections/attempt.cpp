#include "projections/attempt.hpp"

#include <nlohmann/json.hpp>

#include "engine/json_fields.hpp"
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

namespace detail {

result<delivery_attempt> attempt_from_parse(std::string_view body) {
  auto bad = [](const std::string& why) {
    return make_error(proj_errc::invalid_body, "delivery_attempt: " + why);
  };
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
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

}  // namespace detail

namespace {

// The members read, as nodes of one key_paths (engine/json_fields.hpp).
struct attempt_paths {
  key_paths paths;
  int endpoint_id, event_seq, attempt, outcome, status, latency_us, error, response_excerpt,
      next_attempt_at, dead_letter, replay_id;

  attempt_paths() {
    auto add = [&](const char* p) { return paths.add(*json_pointer::parse(p)); };
    endpoint_id = add("/endpoint_id");
    event_seq = add("/event_seq");
    attempt = add("/attempt");
    outcome = add("/outcome");
    status = add("/status");
    latency_us = add("/latency_us");
    error = add("/error");
    response_excerpt = add("/response_excerpt");
    next_attempt_at = add("/next_attempt_at");
    dead_letter = add("/dead_letter");
    replay_id = add("/replay_id");
  }
};

// A signed integer read as nlohmann's get<T>() converts an integer (static_cast); false for
// anything else (a float, another type), which the full parse answers.
template <typename T>
bool integer_of(const json_field& f, T& out) {
  if (f.type == json_field::kind::unsigned_integer) {
    out = static_cast<T>(f.unsigned_integer);
    return true;
  }
  if (f.type == json_field::kind::integer) {
    out = static_cast<T>(f.integer);
    return true;
  }
  return false;
}

// The attempt from the scanned fields when every member read has the type the dispatcher writes
// (the values as attempt_from_parse reads them); false for anything else: a member of another
// type, a float, an outcome other than success or failure, attempt 0. The full parse then gives
// the same attempt or the exact refusal.
bool attempt_from_fields(const watched_fields& f, const attempt_paths& n, delivery_attempt& a) {
  using kind = json_field::kind;
  const json_field& ep = f.at(n.endpoint_id);
  if (ep.type != kind::string) return false;
  const json_field& seq = f.at(n.event_seq);
  if (seq.type != kind::unsigned_integer) return false;
  a.event_seq = seq.unsigned_integer;
  if (const json_field& at = f.at(n.attempt); at.type != kind::absent) {
    if (at.type != kind::unsigned_integer) return false;
    a.attempt = static_cast<std::uint32_t>(at.unsigned_integer);
    if (a.attempt == 0) return false;
  }
  const json_field& outcome = f.at(n.outcome);
  if (outcome.type != kind::string) return false;
  if (outcome.text == "success") {
    a.success = true;
  } else if (outcome.text != "failure") {
    return false;
  }
  if (const json_field& st = f.at(n.status); st.type != kind::absent && !integer_of(st, a.status))
    return false;
  if (const json_field& lat = f.at(n.latency_us);
      lat.type != kind::absent && !integer_of(lat, a.latency_us))
    return false;
  if (const json_field& next = f.at(n.next_attempt_at);
      next.type != kind::absent && next.type != kind::null) {
    std::int64_t v = 0;
    if (!integer_of(next, v)) return false;
    a.next_attempt_at = v;
  }
  if (const json_field& dead = f.at(n.dead_letter); dead.type != kind::absent) {
    if (dead.type != kind::boolean) return false;
    a.dead_letter = dead.boolean;
  }
  // The strings last: a body that bails above has copied nothing.
  a.endpoint_id.assign(ep.text);
  if (const json_field& e = f.at(n.error); e.type == kind::string) a.error.assign(e.text);
  if (const json_field& x = f.at(n.response_excerpt); x.type == kind::string)
    a.response_excerpt.assign(x.text);
  if (const json_field& r = f.at(n.replay_id); r.type == kind::string) a.replay_id.assign(r.text);
  return true;
}

}  // namespace

result<delivery_attempt> attempt_from_json(std::string_view body) {
  // One pass over the text (engine/json_fields.hpp): views of the members read, no document.
  // Anything that pass or attempt_from_fields does not answer (invalid text, a repeated or
  // escaped member, a deeper body, a member of another type) takes the full parse, which keeps
  // the last of repeated keys and words every refusal.
  static const attempt_paths kRead;
  thread_local watched_fields fields;
  if (fields.scan(body, kRead.paths, kMaxAttemptDepth)) {
    delivery_attempt a;
    if (attempt_from_fields(fields, kRead, a)) return a;
  }
  return detail::attempt_from_parse(body);
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
                           std::string_view event_type, std::string body) {
  record r;
  r.kind = record_kind::delivery_attempt;
  r.tenant = std::string(tenant);
  r.type = std::string(event_type);
  r.entity_kind = "endpoint";
  r.entity_id = a.endpoint_id;
  r.ref_seq = a.event_seq;
  r.body = std::move(body);
  return r;
}

record make_attempt_record(const delivery_attempt& a, std::string_view tenant,
                           std::string_view event_type) {
  return make_attempt_record(a, tenant, event_type, to_json(a).dump());
}

}  // namespace hooklog::projections
