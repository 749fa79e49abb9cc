#pragma once
// The query parameters each API route takes, and the values of the enumerated ones: one table
// (query_params.cpp), checked by the router (api.cpp) before any handler runs, so an unknown
// parameter (`?limt=5`, a typo that would otherwise be ignored) or a value outside an
// enumeration (`?state=zzz`) is refused the same way on every route:
//   400 bad_parameter, details {"parameter": NAME, "allowed": [...]}
// where `allowed` lists the route's parameters (unknown name) or the parameter's values (bad
// value). A parameter given twice is refused too (which one would win is not obvious).
// docs/openapi.yaml documents the same lists; tools/js/conformance.mjs checks that they agree.
//
// Thread-safety: pure functions over a constant table.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hooklog::http {

struct query_problem {
  std::string parameter;   // the parameter at fault
  std::string message;     // for humans: what and what is allowed
  nlohmann::json allowed;  // array of the accepted names or values
};

// Checks `query` (decoded pairs, in order) against the route `method` + `pattern` (a pattern of
// kRoutes in api.cpp; HEAD is checked as GET). A route missing from the table takes nothing;
// the console's (/console...) take anything and ignore it.
std::optional<query_problem> check_query(
    std::string_view method, std::string_view pattern,
    const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace hooklog::http
