#include "engine/json_text.hpp"

#include <string>
#include <utility>
#include <vector>

#include "engine/source.hpp"

namespace hooklog {

text_position position_at(std::string_view text, std::size_t offset) {
  if (offset > text.size()) offset = text.size();
  text_position p;
  for (std::size_t i = 0; i < offset; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      ++p.column;
    }
  }
  return p;
}

std::size_t find_excess_depth(std::string_view text, int max_depth) {
  long depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return i;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

result<nlohmann::json> parse_json_text(std::string_view text) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's `byte` counts the bytes read, the offending one included.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    const text_position pos = position_at(text, offset);
    std::string reason = e.what();
    if (const auto col = reason.find("column "); col != std::string::npos) {
      if (const auto colon = reason.find(": ", col); colon != std::string::npos) {
        reason.erase(0, colon + 2);
      }
    } else if (const auto br = reason.find("] "); br != std::string::npos) {
      reason.erase(0, br + 2);
    }
    return make_error(source_errc::bad_json, "invalid JSON at line " + std::to_string(pos.line) +
                                                 ", column " + std::to_string(pos.column) + ": " +
                                                 reason);
  } catch (const nlohmann::json::exception& e) {
    // A number out of range ("parsing '1e999'") carries no position: find the literal.
    std::string reason = e.what();
    if (const auto br = reason.find("] "); br != std::string::npos) reason.erase(0, br + 2);
    std::string where;
    if (const auto q = reason.find('\''); q != std::string::npos) {
      const auto end = reason.find('\'', q + 1);
      const std::string literal = reason.substr(q + 1, end - q - 1);
      if (const auto at = text.find(literal); !literal.empty() && at != std::string_view::npos) {
        const text_position pos = position_at(text, at);
        where = " at line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column);
      }
    }
    return make_error(source_errc::bad_json, "invalid JSON" + where + ": " + reason);
  }
}

result<void> check_json_bounds(std::string_view text, std::size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes) {
    return make_error(source_errc::body_too_large, "body of " + std::to_string(text.size()) +
                                                       " bytes is larger than the limit of " +
                                                       std::to_string(max_bytes));
  }
  if (const auto at = find_excess_depth(text, max_depth); at != std::string_view::npos) {
    const text_position pos = position_at(text, at);
    return make_error(source_errc::too_deep, "JSON nests deeper than " + std::to_string(max_depth) +
                                                 " levels at line " + std::to_string(pos.line) +
                                                 ", column " + std::to_string(pos.column));
  }
  return {};
}

result<nlohmann::json> parse_bounded_json(std::string_view text, std::size_t max_bytes,
                                          int max_depth) {
  if (auto ok = check_json_bounds(text, max_bytes, max_depth); !ok) return ok.err();
  return parse_json_text(text);
}

int json_depth(const nlohmann::json& value, int stop_after) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> todo{{&value, 0}};
  while (!todo.empty()) {
    const auto [v, depth] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > stop_after) return stop_after + 1;
    for (const auto& child : *v) todo.emplace_back(&child, depth + 1);
  }
  return deepest;
}

}  // namespace hooklog
