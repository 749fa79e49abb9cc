#pragma once
// The values at a set of watched JSON pointers, read in one pass over the text without building
// a document (issue 17): the normalizer's fast path and delivery-attempt bodies
// (projections/attempt.cpp). One view per watched node (key_paths node id): no allocation for
// the plain case, and a look-up is an index. A full nlohmann DOM parse validates and builds
// every value; this validates the whole text and reads only the values watched.
//
// The contract is "the plain case or nothing": scan() returns true only for text that nlohmann
// would parse (the scan validates syntax, strings as UTF-8, escapes, numbers), that is an object
// nesting at most `max_depth` levels (counted as find_excess_depth does), with no repeated
// watched member in an object on a watched path and no escaped key in such an object (it could
// unescape to a watched name); otherwise false, and the caller takes the full path
// (check_json_bounds, parse_json_text, find_duplicate_key), which gives the exact refusal. It
// also bails on a byte order mark, a \u escape of a surrogate and a number that could overflow
// a double (valid text the full path answers).
//
// After a true scan, at(node) is what json_pointer::resolve of the node's pointer gives on the
// full parse: absent where resolve gives nullptr; otherwise the JSON type and, for scalars, the
// value as nlohmann types it (integers of up to 18 digits built here: unsigned when not
// negative, signed when negative; any other number through nlohmann's parser). A string is
// unescaped; an array or an object carries its raw text only. Arrays on a watched path are
// descended by index (a token is an index when it is a canonical decimal, as for resolve).
// Views point into the scanned text and into this object: both must outlive their use.
// Not thread-safe (one object per call); the scan itself is a pure function of its inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/json_text.hpp"

namespace hooklog {

struct json_field {
  enum class kind : std::uint8_t {
    absent,
    null,
    boolean,
    integer,           // signed (a negative integer)
    unsigned_integer,  // not negative
    floating,
    string,
    array,
    object,
  };
  kind type = kind::absent;
  bool boolean = false;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;
  double floating = 0;
  std::string_view text;  // string: the unescaped value; array, object: the raw JSON text

  bool is_number() const {
    return type == kind::integer || type == kind::unsigned_integer || type == kind::floating;
  }
};

static_assert(std::is_trivially_destructible_v<json_field>);

// The same view of a value of a full parse (the full path; nullptr: absent): what at() gives for
// it after a true scan, except that an array or an object carries no text. A string views the
// json's own text, which must outlive the field.
json_field to_json_field(const nlohmann::json* v);
// json_type_name (json_pointer.hpp) of a field: "string", "number", "boolean", "array",
// "object" or "null" (also for an absent one).
std::string_view json_field_type_name(const json_field& f);
// A number as nlohmann dumps it.
std::string json_field_number_text(const json_field& f);

class watched_fields {
 public:
  watched_fields() = default;
  watched_fields(const watched_fields&) = delete;
  watched_fields& operator=(const watched_fields&) = delete;

  // Scans `text` for the nodes of `watched`; false: not answered (see the header comment).
  bool scan(std::string_view text, const key_paths& watched, int max_depth);

  // The value at a node of the key_paths last scanned (node 0 is the document).
  const json_field& at(int node) const { return fields_[static_cast<std::size_t>(node)]; }

 private:
  friend class fields_scanner;
  static constexpr std::size_t kInline = 32;
  // Raw room for kInline fields: only the nodes of the key_paths scanned are constructed.
  alignas(json_field) std::byte inline_[kInline * sizeof(json_field)];
  std::vector<json_field> heap_;  // when the source watches more than kInline nodes
  json_field* fields_ = nullptr;
  // The strings that held escapes, end to end; reserved to the text's size before the first is
  // written, so that it never moves while views into it are taken.
  std::string unescaped_;
};

}  // namespace hooklog
