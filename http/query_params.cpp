#include "http/query_params.hpp"

#include <algorithm>
#include <initializer_list>

namespace hooklog::http {
namespace {

struct route_params {
  const char* method;
  const char* pattern;
  std::initializer_list<const char*> names;
};

// Every route of kRoutes (api.cpp) that takes query parameters; the others take none.
// Keep in step with docs/openapi.yaml (the conformance test compares them).
const route_params kRouteParams[] = {
    {"POST", "/v1/sources/{}/events", {"type"}},
    {"POST", "/v1/sources/{}/events:batch", {"type", "deliver"}},
    {"GET", "/v1/event-types", {"source"}},
    {"GET",
     "/v1/events",
     {"from", "to", "time", "type", "source", "tenant", "entity_kind", "entity_id", "limit",
      "cursor", "order", "min_seq"}},
    {"GET", "/v1/events/{}", {"min_seq"}},
    {"GET", "/v1/entities/{}/{}/timeline", {"tenant", "min_seq", "limit", "cursor"}},
    {"GET", "/v1/attempts", {"from", "to", "tenant", "endpoint_id", "outcome", "limit", "cursor", "order"}},
    {"GET", "/v1/audit/verify", {"from", "to"}},
    {"GET", "/v1/audit/proofs/inclusion", {"event_id", "tree_size"}},
    {"GET", "/v1/audit/proofs/consistency", {"first", "second"}},
    {"GET", "/v1/endpoints", {"tenant", "limit", "cursor", "order"}},
    {"GET", "/v1/replays", {"limit", "cursor", "endpoint_id", "state", "tenant", "order"}},
};

struct enum_param {
  const char* name;
  std::initializer_list<const char*> values;
};

// Parameters with a closed set of values, on whichever route takes them.
const enum_param kEnums[] = {
    {"time", {"recorded", "occurred"}},
    {"outcome", {"success", "failure", "dead_letter"}},
    {"state", {"running", "finished", "cancelled", "failed"}},
    {"deliver", {"true", "false"}},
    {"order", {"asc", "desc"}},
};

std::string joined(std::initializer_list<const char*> items) {
  std::string out;
  for (const char* s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

nlohmann::json as_array(std::initializer_list<const char*> items) {
  nlohmann::json a = nlohmann::json::array();
  for (const char* s : items) a.push_back(s);
  return a;
}

}  // namespace

std::optional<query_problem> check_query(
    std::string_view method, std::string_view pattern,
    const std::vector<std::pair<std::string, std::string>>& query) {
  // The console's files take any query and ignore it: a link to it that picked up tracking
  // parameters (?utm_source=mail) answered an auditor a JSON 400 instead of the page.
  if (query.empty() || pattern.starts_with("/console")) return std::nullopt;
  if (method == "HEAD") method = "GET";
  std::initializer_list<const char*> names;
  for (const auto& r : kRouteParams)
    if (method == r.method && pattern == r.pattern) names = r.names;
  for (std::size_t i = 0; i < query.size(); ++i) {
    const std::string& name = query[i].first;
    const bool known =
        std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
    if (!known) {
      std::string m = "unknown query parameter " + name + ": ";
      m +=
          names.size() ? "this route takes " + joined(names) : std::string("this route takes none");
      return query_problem{name, std::move(m), as_array(names)};
    }
    for (std::size_t j = 0; j < i; ++j)
      if (query[j].first == name)
        return query_problem{name, "query parameter " + name + " is given more than once",
                             as_array(names)};
    for (const auto& e : kEnums) {
      if (name != e.name) continue;
      const std::string& v = query[i].second;
      if (std::none_of(e.values.begin(), e.values.end(), [&](const char* x) { return v == x; }))
        return query_problem{name,
                             name + " must be one of " + joined(e.values) + ", not '" + v + "'",
                             as_array(e.values)};
    }
  }
  return std::nullopt;
}

}  // namespace hooklog::http
