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

// The value found: its JSON text (a view into the document), and whether it is a string of
// printable ASCII (0x20-0x7E) without escapes, whose content `text` (the bytes between the quotes)
// is then what a JSON parser would give (filters compare it as text, parsing nothing).
struct path_value {
  std::string_view raw;
  bool plain = false;     // a plain string
  std::string_view text;  // its content when plain
};

// On `found`, `out` is the value (views into `doc`).
path_lookup find_json_value(std::string_view doc, const std::vector<std::string>& tokens,
                            path_value& out);
// The same, giving only the value's JSON text.
path_lookup find_json_value(std::string_view doc, const std::vector<std::string>& tokens,
                            std::string_view& raw);

}  // namespace hooklog::projections
