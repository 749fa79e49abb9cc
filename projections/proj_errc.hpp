#pragma once
// Error codes of the projections layer (endpoint model, projection state, runner).
// "Not found" is not an error: lookups return std::optional.
#include <string>
#include <string_view>
#include <system_error>

#include "engine/result.hpp"

namespace hooklog::projections {

enum class proj_errc {
  success = 0,
  invalid_endpoint,    // endpoint JSON failed validation; the message starts with the field path
  invalid_body,        // a record body (attempt, replay, ...) is not the JSON it should be
  unknown_projection,  // rebuild() was given a name no projection has
  state_failure,       // an LMDB call on the state environment failed
  stopped,             // the runner was stopped
  read_again,          // the state moved past the read transaction's view: begin a new one
};

const std::error_category& projections_category() noexcept;
inline std::error_code make_error_code(proj_errc e) noexcept {
  return {static_cast<int>(e), projections_category()};
}
inline error make_error(proj_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}
// Validation errors read "<field>: <reason>"; this returns the field part
// (e.g. "events[2]" or "retry.max_attempts"), or "" when there is none.
std::string_view error_field(const error& e);

}  // namespace hooklog::projections

template <>
struct std::is_error_code_enum<hooklog::projections::proj_errc> : std::true_type {};
