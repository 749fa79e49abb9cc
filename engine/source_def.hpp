#pragma once
// A source file compiled once at load time (internal to the engine; see docs/SOURCES.md for the
// file format). Everything the normalizer needs per event is pre-parsed here: JSON pointers,
// maps, type patterns, and for each cataloged type the rules that apply to it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/json_pointer.hpp"
#include "engine/json_text.hpp"
#include "engine/result.hpp"
#include "engine/source.hpp"

namespace hooklog::detail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

// JSON types a pointer value may have (bit set).
namespace accept {
inline constexpr unsigned kString = 1u << 0;
inline constexpr unsigned kInteger = 1u << 1;  // written in decimal
inline constexpr unsigned kNumber = 1u << 2;   // any number, written as nlohmann dumps it
inline constexpr unsigned kBoolean = 1u << 3;  // "true" / "false"
}  // namespace accept

enum class time_unit : std::uint8_t { none, s, ms, us, automatic };

// One alternative of a value rule; alternatives are tried in order until one gives a value.
struct value_alt {
  enum class from : std::uint8_t { pointer, constant, hint, type_after };
  from kind = from::pointer;
  json_pointer pointer;         // from::pointer
  int node = -1;                // from::pointer: the pointer's node in source_def::read_paths
  std::string text;             // from::constant: the value; from::type_after: the type prefix
  std::string prefix;           // prepended to the value found
  string_map<std::string> map;  // value found -> value used (unmapped values pass through)
  unsigned accept = accept::kString;
  time_unit unit = time_unit::none;  // numbers accepted as times (occurred_at only)
};
using value_spec = std::vector<value_alt>;

struct entity_spec {
  std::string kind;      // constant kind, used when kind_from gives nothing
  value_spec kind_from;  // kind read from the payload (optional)
  value_spec id;
};

struct status_spec {
  value_spec from, to;
};

struct type_pattern {
  std::string text;  // exact type, or the prefix before a trailing '*'
  bool prefix = false;
  bool matches(std::string_view type) const {
    return prefix ? type.substr(0, text.size()) == text : type == text;
  }
};

struct rule {
  std::vector<type_pattern> match;
  std::optional<entity_spec> entity;
  std::optional<status_spec> status;
  std::vector<json_pointer> required;
  std::vector<int> required_nodes;  // each one's node in source_def::read_paths
};

// Which rules apply to one type: entity and status from the first matching rule that defines
// them, required fields from every matching rule. -1: none.
struct event_plan {
  int entity_rule = -1;
  int status_rule = -1;
  std::vector<int> required_rules;
};

struct test_mode_spec {
  json_pointer pointer;
  int node = -1;          // the pointer's node in source_def::read_paths
  nlohmann::json equals;  // test mode when the value equals this (a string, number or boolean)
};

struct source_def {
  std::string name, title, description, file;
  bool assumed_shape = false;
  bool open_catalog = false;  // every type counts as cataloged (the standard envelope)
  // "dedup"; default event_id when the file has an "event_id" rule, else body_hash.
  dedup_mode dedup = dedup_mode::body_hash;
  value_spec type, event_id, occurred_at, tenant;
  std::optional<test_mode_spec> test_mode;
  std::vector<catalog_entry> events;
  std::vector<rule> rules;
  string_map<event_plan> plans;  // one per cataloged type
  // The plan of every uncataloged type when each rule matches any type ("*"), as in the
  // standard envelope: then plan_for need not run per event.
  std::optional<event_plan> any_type_plan;
  // Every JSON pointer the file names (value rules, test_mode, required): a payload that
  // repeats a member on one of their paths is refused (find_duplicate_key). Each pointer's node
  // is kept beside it (value_alt::node, ...): the fast path reads a value by its node.
  key_paths read_paths;

  bool cataloged(std::string_view type) const { return plans.find(type) != plans.end(); }
  event_plan plan_for(std::string_view type) const;  // computes it for uncataloged types
};

// Compiles a parsed source file. `file` is used in messages only; `name` is the source name
// (the file's stem), which must equal the file's "source" member.
result<source_def> compile_source(const nlohmann::json& doc, const std::string& file,
                                  const std::string& name);

// source_registry::normalize for one compiled source. `full_only` skips the one-pass fast path
// (json_fields.hpp) and always takes the full parse: the tests compare the two.
result<normalized_event> normalize_with(const source_def& def, const ingest_input& in,
                                        const normalize_limits& lim, bool full_only = false);

}  // namespace hooklog::detail
