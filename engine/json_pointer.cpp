#include "engine/json_pointer.hpp"

namespace hooklog {

std::optional<json_pointer> json_pointer::parse(std::string_view text) {
  json_pointer p;
  p.text_ = std::string(text);
  if (text.empty()) return p;
  if (text.front() != '/') return std::nullopt;
  std::size_t i = 1;
  for (;;) {
    token t;
    while (i < text.size() && text[i] != '/') {
      char c = text[i++];
      if (c == '~') {
        if (i == text.size() || (text[i] != '0' && text[i] != '1')) return std::nullopt;
        c = text[i++] == '0' ? '~' : '/';
      }
      t.name.push_back(c);
    }
    const std::string& n = t.name;
    if (!n.empty() && n.size() <= 18 && (n == "0" || n.front() != '0') &&
        n.find_first_not_of("0123456789") == std::string::npos) {
      t.index = std::stoull(n);
    }
    p.tokens_.push_back(std::move(t));
    if (i == text.size()) break;
    ++i;  // skip '/'
  }
  return p;
}

std::string json_pointer::escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

const nlohmann::json* json_pointer::resolve(const nlohmann::json& doc) const {
  const nlohmann::json* v = &doc;
  for (const token& t : tokens_) {
    if (v->is_object()) {
      const auto& obj = v->get_ref<const nlohmann::json::object_t&>();
      const auto it = obj.find(t.name);
      if (it == obj.end()) return nullptr;
      v = &it->second;
    } else if (v->is_array()) {
      const auto& arr = v->get_ref<const nlohmann::json::array_t&>();
      if (!t.index || *t.index >= arr.size()) return nullptr;
      v = &arr[*t.index];
    } else {
      return nullptr;
    }
  }
  return v;
}

std::string_view json_type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return "number";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    default:
      return "binary";
  }
}

}  // namespace hooklog
