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

}  // namespace hooklog
