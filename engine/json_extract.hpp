#pragma once
// One pass over a JSON object that keeps only the members a set of JSON pointers reads, as an
// nlohmann object (issue 17): used for delivery-attempt bodies (projections/attempt.cpp). The
// normalizer's fast path reads views instead (engine/json_fields.hpp); both share the lexer of
// engine/json_scan.hpp. A full nlohmann DOM parse validates and builds every value; this
// validates the whole text and builds only the few values read.
//
// The contract is "the plain case or nothing": extract_watched answers only for text that
//   - nlohmann would parse without error (the scan validates syntax, strings as UTF-8, escapes,
//     numbers; it is stricter in a few rare cases, never looser),
//   - is an object that nests at most `max_depth` levels (counted as find_excess_depth does),
//   - has no repeated key among the watched members of a watched object, and no key with an
//     escape in a watched object (it could unescape to a watched name),
// and returns nullopt otherwise, so that the caller takes the full path (check_json_bounds,
// parse_json_text, find_duplicate_key), which gives the exact refusal. Stricter cases that bail
// out although the text is valid: a byte order mark, a \u escape of a surrogate, a number whose
// magnitude could overflow a double.
//
// The document returned is an object holding, for every watched member present, its value:
//   - a value at a watched leaf (no watched children) in full, as nlohmann parses it,
//   - an array on a watched path in full,
//   - an object on a watched path with only its watched members ("pruned").
// So json_pointer::resolve of a watched pointer gives the value the full parse gives, except
// that a pointer to an object with watched members gives the pruned object: a reader that needs
// an object's whole value must use the full parse.
// Thread safety: a pure function.
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/json_text.hpp"

namespace hooklog {

std::optional<nlohmann::json> extract_watched(std::string_view text, const key_paths& watched,
                                              int max_depth);

}  // namespace hooklog
