#pragma once
// Byte-for-byte comparison of projection states: the rule "rebuilding from the log gives
// the state the incremental path built" (PROJECTIONS.md), as a check anyone can run.
// Used by `hooklog rebuild --check` (tools/cli_rebuild.cpp) and by the projection tests.
//
// Both states must be at the same checkpoint (every projection has applied the same
// records) for a comparison to mean anything; the checkpoints database is compared too.
//
// Thread safety: each function opens its own read transactions; call them while no batch is
// being applied (runner stopped, or caught up with a log nobody writes to).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/result.hpp"
#include "projections/runner.hpp"

namespace hooklog::projections {

// Every key and value of the named databases, in key order (tests; small states).
using state_dump = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;
result<state_dump> dump_databases(projection_runner& r, const std::vector<std::string>& dbs);

// The names of every state database of the runner (projection_runner::databases()).
std::vector<std::string> state_db_names(const projection_runner& r);

struct state_difference {
  std::string projection;  // the owner ("runner" for the checkpoints)
  std::string database;
  std::string key;   // the first key (raw bytes, in LMDB order) where the states differ
  std::string what;  // "only in <a>", "only in <b>" or "values differ"
};

struct compare_totals {
  std::uint64_t databases = 0, keys = 0, bytes = 0;  // what was compared (of `a`)
};

// Walks every database of both stores side by side with cursors (memory stays small whatever
// the size of the state) and returns the first difference, or nullopt when the states are equal
// byte for byte. `a_name` / `b_name` name the sides in state_difference::what.
result<std::optional<state_difference>> first_difference(
    projection_runner& a, projection_runner& b, compare_totals* totals = nullptr,
    std::string_view a_name = "the first state", std::string_view b_name = "the second state");

// A key for people: printable ASCII as is, other bytes as \xNN.
std::string printable_key(std::string_view key);

}  // namespace hooklog::projections
