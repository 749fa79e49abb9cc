#pragma once
// What an endpoint subscribes to: event type patterns and a payload filter.
//
// Type patterns (endpoint "events"): an exact type ("order_new"), "*" (every
// type), or a prefix glob ending in '*' ("job.*", "order_update:*"): the type
// must start with the text before the '*'. '*' anywhere else is invalid.
//
// Payload filter (endpoint "filter"), conditions on JSON Pointer paths of the
// original payload:
//   {"all": [cond, ...], "any": [cond, ...]}     both keys optional
//   cond = {"path": "/data/status", "op": "eq|neq|in|exists|gt|lt", "value": ...}
// The filter holds when every "all" condition holds and, if "any" is present,
// at least one "any" condition holds. Semantics per op:
//   eq / neq  JSON equality of the value at path with "value" (a missing path is
//             not eq and is neq)
//   in        "value" is an array; the value at path equals one of its elements
//   exists    "value" is a bool (default true): whether the path is present
//   gt / lt   both numbers (compared as numbers) or both strings (byte order);
//             false otherwise
// A payload that is not valid JSON matches no filter that has conditions.
// Bounds (refused by parse(), also for stored filters on a rebuild): at most 32 conditions in
// each of all and any; a "value" nests at most kMaxValueDepth (32) levels, so matching (JSON
// equality) never recurses deeper than that. Operator quotas (total size, conditions) are the
// API's (endpoint_quotas).
// Thread safety: immutable after parsing; match() may run on any thread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/result.hpp"

namespace hooklog::projections {

struct type_pattern {
  enum class kind : std::uint8_t { exact, prefix, any };
  kind k = kind::exact;
  std::string text;  // the exact type, or the prefix without '*'

  bool matches(std::string_view type) const;
  std::string to_string() const;  // the original pattern text
};

// Parses one pattern; `field` names it in errors ("events[2]").
result<type_pattern> parse_type_pattern(std::string_view pattern, const std::string& field);

enum class filter_op : std::uint8_t { eq, neq, in, exists, gt, lt };

struct filter_condition {
  nlohmann::json::json_pointer path;
  std::string path_text;
  std::vector<std::string> tokens;  // the pointer split into reference tokens
  filter_op op = filter_op::eq;
  nlohmann::json value;

  bool holds(const nlohmann::json& doc) const;
  // `v` is the value at the path, nullptr when absent.
  bool holds_value(const nlohmann::json* v) const;
  // The value at the path is the JSON string whose content is `text`, printable ASCII without
  // escapes (the same answer as holds_value of that string, without building it).
  bool holds_plain_string(std::string_view text) const;
};

// One event body as payload filters see it: the values at the paths asked
// for are found by scanning the text and parsed once, and shared by every
// filter evaluated on the same body (the matcher makes one per event).
// Not thread-safe; `body` must outlive it.
class body_view {
 public:
  explicit body_view(std::string_view body) : body_(body) {}
  // Views `body` instead, forgetting every value found before (the memo's storage is kept: the
  // matcher reuses one view for every event, without an allocation per event).
  void reset(std::string_view body);
  // The value at c's path: a string of printable ASCII without escapes is given as its content
  // (`plain`, `text`; nothing is parsed), any other value as parsed JSON (`json`, nullptr when
  // absent). false when the body is not JSON.
  struct value_ref {
    const nlohmann::json* json = nullptr;
    std::string_view text;
    bool plain = false;
  };
  bool lookup(const filter_condition& c, value_ref& out);

 private:
  struct memo {
    const std::string* path;
    bool present;
    bool plain;             // a plain string: its content is `text`, `value` is unused
    std::string_view text;  // a view into the body
    nlohmann::json value;
  };
  std::string_view body_;
  std::vector<memo> memo_;
  int doc_state_ = 0;  // 0 not parsed, 1 parsed, -1 invalid
  nlohmann::json doc_;
};

class payload_filter {
 public:
  static constexpr int kMaxValueDepth = 32;
  // null or absent -> an empty filter that matches everything. Errors name the
  // field ("filter.all[0].op: ...").
  static result<payload_filter> parse(const nlohmann::json& j);

  bool empty() const { return all_.empty() && any_.empty(); }
  bool matches(const nlohmann::json& doc) const;
  // Matches the raw body: each condition's value is found by scanning the text
  // (json_path.hpp) and only that value is parsed; a body the scan cannot
  // handle is parsed whole. An unparsable body matches only the empty filter.
  bool matches_body(std::string_view body) const;
  bool matches(body_view& body) const;
  nlohmann::json to_json() const;  // null when empty
  std::size_t condition_count() const { return all_.size() + any_.size(); }

 private:
  std::vector<filter_condition> all_, any_;
};

}  // namespace hooklog::projections
