#pragma once
// A JSON Pointer (RFC 6901) compiled once: tokens unescaped and array indices pre-parsed, so
// that resolving it against a parsed payload allocates nothing and never throws.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hooklog {

class json_pointer {
 public:
  json_pointer() = default;  // the whole document ("")

  // nullopt when `text` is not a valid pointer ("" or "/..." with only ~0 and ~1 escapes).
  static std::optional<json_pointer> parse(std::string_view text);

  // The value the pointer names in `doc`, or nullptr when a step is missing or of another kind.
  const nlohmann::json* resolve(const nlohmann::json& doc) const;

  const std::string& text() const { return text_; }
  // The unescaped reference tokens ("/a~1b/0" has "a/b" and "0").
  std::size_t size() const { return tokens_.size(); }
  const std::string& token_at(std::size_t i) const { return tokens_[i].name; }

  // Escapes one reference token ('~' as "~0", '/' as "~1").
  static std::string escape(std::string_view token);

 private:
  struct token {
    std::string name;
    std::optional<std::size_t> index;  // set when `name` is a valid array index
  };
  std::string text_;
  std::vector<token> tokens_;
};

// "string", "number", "boolean", "null", "object", "array": the JSON type name of a value.
std::string_view json_type_name(const nlohmann::json& v);

}  // namespace hooklog
