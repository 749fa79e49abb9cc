#pragma once
// JSON text before and while parsing: nesting checks, positions and parse errors that say
// where (line and column), for payloads and for source files alike.
#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/result.hpp"

namespace hooklog {

struct text_position {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in UTF-8 code points
};

// The position of byte `offset` of `text` (offsets past the end give the position after the
// last byte).
text_position position_at(std::string_view text, std::size_t offset);

// The offset of the first '[' or '{' (outside strings) that opens nesting level
// max_depth + 1, or npos when the text never nests deeper than max_depth. Linear, no
// allocation; it does not validate the JSON.
std::size_t find_excess_depth(std::string_view text, int max_depth);

// Parses JSON text; on failure the error is source_errc::bad_json with the message
// "invalid JSON at line L, column C: <reason>" (position of the offending byte).
result<nlohmann::json> parse_json_text(std::string_view text);

// The one size and nesting bound for JSON that comes from outside (ingest payloads, API request
// bodies), checked on the text before any parse: nlohmann's recursive operations (copy,
// compare, dump, merge_patch) overflow the stack on input nested tens of thousands deep.
// Errors: source_errc::body_too_large "body of N bytes is larger than the limit of M";
// source_errc::too_deep "JSON nests deeper than D levels at line L, column C".
result<void> check_json_bounds(std::string_view text, std::size_t max_bytes, int max_depth);

// check_json_bounds, then parse_json_text.
result<nlohmann::json> parse_bounded_json(std::string_view text, std::size_t max_bytes,
                                          int max_depth);

// The nesting depth of a parsed value (a scalar is 0, [] and {} are 1), counted without
// recursion and stopping once it exceeds `stop_after` (then it returns stop_after + 1).
int json_depth(const nlohmann::json& value, int stop_after);

}  // namespace hooklog
