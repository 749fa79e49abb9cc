#pragma once
// One pass over a JSON object that keeps only the members a set of JSON pointers reads: the
// normalizer's fast path (issue 17). A full nlohmann DOM parse of every ingested body cost
// about two thirds of the server's CPU per batch-ingested event; this validates the whole text
// and builds only the few values a source file names.
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
// an object's whole value must use the full parse (the normalizer re-runs on the full path when
// a pointer resolves to an object).
// Thread safety: a pure function.
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/json_text.hpp"

namespace hooklog {

std::optional<nlohmann::json> extract_watched(std::string_view text, const key_paths& watched,
                                              int max_depth);

}  // namespace hooklog
