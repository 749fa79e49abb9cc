#pragma once
// JSON text before and while parsing: nesting checks, positions and parse errors that say
// where (line and column), for payloads and for source files alike.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/json_pointer.hpp"
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
// "invalid JSON at line L, column C: <reason>" (position of the offending byte); the token
// <reason> quotes is cut to its last 40 bytes ("last read: '...AAAA<U+001F>'").
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

// True when `a` and `b` are both JSON and the same text up to whitespace, the order of object
// members and how strings are escaped ("\u0041" is "A"). Unlike nlohmann's ==, numbers compare
// as written (1.0 is not 1; 18446744073709551617 is not 18446744073709551616, which both parse
// to the same double) and a repeated key counts ({"a":5,"a":7} is not {"a":7}). For "is this
// repeat the same request" (Idempotency-Key). Recursive over the nesting: bound it first
// (check_json_bounds).
bool same_json_text(std::string_view a, std::string_view b);

// The nesting depth of a parsed value (a scalar is 0, [] and {} are 1), counted without
// recursion and stopping once it exceeds `stop_after` (then it returns stop_after + 1).
int json_depth(const nlohmann::json& value, int stop_after);

// The members a reader looks at: the tokens of a set of JSON pointers, as a tree. Used by
// find_duplicate_key to watch only the objects on the way to a field that is read.
class key_paths {
 public:
  // Adds the pointer's path; returns its node (the same node for the same pointer).
  int add(const json_pointer& p);
  bool empty() const { return nodes_[0].children.empty(); }
  // The number of nodes (the document and every token on a path): node ids are below it.
  std::size_t size() const { return nodes_.size(); }

  // The child of `node` named `token`, or -1. Node 0 is the document. Inline, sizes and first
  // bytes compared before the rest: the scans ask this for every key of a watched object.
  int child(int node, std::string_view token) const {
    const struct node& n = nodes_[node];
    if (((n.child_sizes >> (token.size() < 63 ? token.size() : 63)) & 1) == 0) return -1;
    for (const int c : n.children) {
      const std::string& t = nodes_[c].token;
      if (t.size() == token.size() &&
          (t.empty() || (t[0] == token[0] && t.compare(1, t.npos, token.substr(1)) == 0))) {
        return c;
      }
    }
    return -1;
  }
  bool has_children(int node) const { return !nodes_[node].children.empty(); }
  // The JSON pointer of a node ("/data/status").
  std::string pointer(int node) const;

 private:
  struct node {
    std::string token;  // its name in the parent (unescaped)
    int parent = -1;
    std::vector<int> children;
    std::uint64_t child_sizes = 0;  // bit min(size, 63) set for the size of each child's token
  };
  std::vector<node> nodes_{1};
};

// In valid JSON text (parse it first: the scan assumes validity), the JSON pointer of the
// first object member on a watched path whose key appears twice in its object ("/data/status"
// for {"data":{"status":"a","status":"b"}} when /data/status is watched), keys compared after
// unescaping. nullopt when there is none. Linear in the text; unwatched values are skipped.
std::optional<std::string> find_duplicate_key(std::string_view text, const key_paths& watched);

// The same over every object of valid JSON text: the JSON pointer of the first member whose key
// appears twice in its object ("/auth/token" for {"auth":{"token":"a","token":"b"}}), nullopt
// when no key repeats. For bodies read whole, where any repeated key is ambiguous (the
// management API's). Bound the text first (check_json_bounds): the scan keeps a stack as deep.
std::optional<std::string> find_any_duplicate_key(std::string_view text);

}  // namespace hooklog
