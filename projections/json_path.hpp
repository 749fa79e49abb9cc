#pragma once
// Finds the raw text of the value at a JSON Pointer inside a JSON document
// without building a DOM: payload filters look at one or two fields of bodies
// that are otherwise never parsed, and a DOM parse costs far more than the scan.
//
// The scan is lenient (the log only holds bodies that were valid JSON when
// ingested); anything it does not handle fast — an object key with escapes,
// a structural surprise — answers `fallback`, and the caller parses the whole
// document instead. Thread safety: pure functions.
#include <string>
#include <string_view>
#include <vector>

namespace hooklog::projections {

enum class path_lookup { found, absent, fallback };

// Splits "/data/status" into {"data","status"} (RFC 6901: ~1 -> '/', ~0 -> '~').
// "" is the whole document. false when the text is not a JSON Pointer.
bool split_json_pointer(std::string_view pointer, std::vector<std::string>& tokens);

// On `found`, `raw` is the value's JSON text (a view into `doc`).
path_lookup find_json_value(std::string_view doc, const std::vector<std::string>& tokens,
                            std::string_view& raw);

}  // namespace hooklog::projections
