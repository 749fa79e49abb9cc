#include "projections/filter.hpp"

#include <algorithm>

#include "engine/json_text.hpp"
#include "projections/json_path.hpp"
#include "projections/proj_errc.hpp"

namespace hooklog::projections {

namespace {
error bad(const std::string& field, const std::string& why) {
  return make_error(proj_errc::invalid_endpoint, field + ": " + why);
}
constexpr std::size_t kMaxPatternSize = 256;
// A list's bound, the largest --max-filter-conditions (64): the quota (32 by default, all + any)
// answers first, with its limit (the parser's 32 per list answered before it without one).
constexpr std::size_t kMaxConditions = 64;
constexpr int kMaxValueDepth = payload_filter::kMaxValueDepth;

std::string_view op_name(filter_op op) {
  switch (op) {
    case filter_op::eq: return "eq";
    case filter_op::neq: return "neq";
    case filter_op::in: return "in";
    case filter_op::exists: return "exists";
    case filter_op::gt: return "gt";
    case filter_op::lt: return "lt";
  }
  return "eq";
}

result<filter_condition> parse_condition(const nlohmann::json& j, const std::string& field) {
  if (!j.is_object()) return bad(field, "must be an object {\"path\",\"op\",\"value\"}");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "path" && it.key() != "op" && it.key() != "value")
      return bad(field + "." + it.key(), "unknown field");
  filter_condition c;
  auto p = j.find("path");
  if (p == j.end() || !p->is_string()) return bad(field + ".path", "must be a JSON Pointer string");
  try {
    c.path = nlohmann::json::json_pointer(p->get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    return bad(field + ".path", "is not a valid JSON Pointer (\"/data/status\")");
  }
  c.path_text = p->get<std::string>();
  if (!split_json_pointer(c.path_text, c.tokens))
    return bad(field + ".path", "is not a valid JSON Pointer (\"/data/status\")");
  auto o = j.find("op");
  if (o == j.end() || !o->is_string()) return bad(field + ".op", "must be a string");
  const auto& on = o->get_ref<const std::string&>();
  if (on == "eq") c.op = filter_op::eq;
  else if (on == "neq") c.op = filter_op::neq;
  else if (on == "in") c.op = filter_op::in;
  else if (on == "exists") c.op = filter_op::exists;
  else if (on == "gt") c.op = filter_op::gt;
  else if (on == "lt") c.op = filter_op::lt;
  else return bad(field + ".op", "must be one of eq, neq, in, exists, gt, lt");
  auto v = j.find("value");
  // Checked before the value is copied: nlohmann's copy and == recurse, and a stored filter
  // (an old record, a rebuild) must not take the process down.
  if (v != j.end() && json_depth(*v, kMaxValueDepth) > kMaxValueDepth)
    return bad(field + ".value", "nests deeper than " + std::to_string(kMaxValueDepth) +
                                     " levels (the limit for filter values)");
  switch (c.op) {
    case filter_op::exists:
      if (v != j.end() && !v->is_boolean()) return bad(field + ".value", "must be a boolean for exists");
      c.value = v == j.end() ? true : v->get<bool>();
      break;
    case filter_op::in:
      if (v == j.end() || !v->is_array()) return bad(field + ".value", "must be an array for in");
      c.value = *v;
      break;
    case filter_op::gt:
    case filter_op::lt:
      if (v == j.end() || !(v->is_number() || v->is_string()))
        return bad(field + ".value", "must be a number or a string for " + on);
      c.value = *v;
      break;
    default:
      if (v == j.end()) return bad(field + ".value", "is required");
      c.value = *v;
  }
  return c;
}

const nlohmann::json* at_pointer(const nlohmann::json& doc, const nlohmann::json::json_pointer& p) {
  // contains() + at() without exceptions on the hot path for absent paths. contains() itself
  // throws on an array index that does not fit size_t ("/tags/99999999999999999999"): absent.
  try {
    if (!doc.contains(p)) return nullptr;
    return &doc.at(p);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}
}  // namespace

bool type_pattern::matches(std::string_view type) const {
  switch (k) {
    case kind::any: return true;
    case kind::exact: return type == text;
    case kind::prefix: return type.size() >= text.size() && type.compare(0, text.size(), text) == 0;
  }
  return false;
}

std::string type_pattern::to_string() const {
  switch (k) {
    case kind::any: return "*";
    case kind::exact: return text;
    case kind::prefix: return text + "*";
  }
  return text;
}

result<type_pattern> parse_type_pattern(std::string_view s, const std::string& field) {
  if (s.empty()) return bad(field, "must not be empty");
  if (s.size() > kMaxPatternSize) return bad(field, "is longer than 256 bytes");
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20) return bad(field, "contains a control character");
  auto star = s.find('*');
  type_pattern p;
  if (star == std::string_view::npos) {
    p.k = type_pattern::kind::exact;
    p.text = std::string(s);
  } else if (star != s.size() - 1) {
    return bad(field, "'*' is allowed only at the end (\"job.*\")");
  } else if (s.size() == 1) {
    p.k = type_pattern::kind::any;
  } else {
    p.k = type_pattern::kind::prefix;
    p.text = std::string(s.substr(0, s.size() - 1));
  }
  return p;
}

bool filter_condition::holds(const nlohmann::json& doc) const { return holds_value(at_pointer(doc, path)); }

bool filter_condition::holds_value(const nlohmann::json* v) const {
  switch (op) {
    case filter_op::exists: return (v != nullptr) == value.get<bool>();
    case filter_op::eq: return v && *v == value;
    case filter_op::neq: return !v || *v != value;
    case filter_op::in:
      if (!v) return false;
      for (const auto& e : value)
        if (*v == e) return true;
      return false;
    case filter_op::gt:
    case filter_op::lt: {
      if (!v) return false;
      int cmp;
      if (v->is_number() && value.is_number()) {
        double a = v->get<double>(), b = value.get<double>();
        cmp = a < b ? -1 : (a > b ? 1 : 0);
      } else if (v->is_string() && value.is_string()) {
        cmp = v->get_ref<const std::string&>().compare(value.get_ref<const std::string&>());
      } else {
        return false;
      }
      return op == filter_op::gt ? cmp > 0 : cmp < 0;
    }
  }
  return false;
}

result<payload_filter> payload_filter::parse(const nlohmann::json& j) {
  payload_filter f;
  if (j.is_null()) return f;
  if (!j.is_object()) return bad("filter", "must be an object {\"all\":[...],\"any\":[...]}");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "all" && k != "any") return bad("filter." + k, "unknown field (use all, any)");
    if (!it->is_array()) return bad("filter." + k, "must be an array of conditions");
    if (it->size() > kMaxConditions)
      return bad("filter." + k, "has more than " + std::to_string(kMaxConditions) + " conditions");
    auto& out = k == "all" ? f.all_ : f.any_;
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto c = parse_condition((*it)[i], "filter." + k + "[" + std::to_string(i) + "]");
      if (!c) return c.err();
      out.push_back(std::move(*c));
    }
  }
  return f;
}

bool payload_filter::matches(const nlohmann::json& doc) const {
  for (const auto& c : all_)
    if (!c.holds(doc)) return false;
  if (any_.empty()) return true;
  for (const auto& c : any_)
    if (c.holds(doc)) return true;
  return false;
}

bool filter_condition::holds_plain_string(std::string_view text) const {
  // As holds_value of the JSON string `text`: a string equals only a string, and orders only
  // against a string (byte order, as std::string::compare).
  auto same = [&](const nlohmann::json& j) {
    return j.is_string() && j.get_ref<const std::string&>() == text;
  };
  switch (op) {
    case filter_op::exists: return value.get<bool>();
    case filter_op::eq: return same(value);
    case filter_op::neq: return !same(value);
    case filter_op::in:
      for (const auto& e : value)
        if (same(e)) return true;
      return false;
    case filter_op::gt:
    case filter_op::lt: {
      if (!value.is_string()) return false;
      const int cmp = text.compare(value.get_ref<const std::string&>());
      return op == filter_op::gt ? cmp > 0 : cmp < 0;
    }
  }
  return false;
}

void body_view::reset(std::string_view body) {
  body_ = body;
  memo_.clear();
  if (doc_state_ != 0) {
    doc_ = nullptr;
    doc_state_ = 0;
  }
}

bool body_view::lookup(const filter_condition& c, value_ref& out) {
  out = value_ref{};
  for (auto& m : memo_) {
    if (*m.path == c.path_text) {
      if (m.plain) {
        out.plain = true;
        out.text = m.text;
      } else if (m.present) {
        out.json = &m.value;
      }
      return true;
    }
  }
  if (doc_state_ == 0) {
    path_value found;
    switch (find_json_value(body_, c.tokens, found)) {
      case path_lookup::absent:
        memo_.push_back({&c.path_text, false, false, {}, nullptr});
        return true;
      case path_lookup::found: {
        // The common case, a plain string, is compared as text: building the JSON value (and
        // the parser's set-up) cost several times the scan that found it.
        if (found.plain) {
          memo_.push_back({&c.path_text, true, true, found.text, nullptr});
          out.plain = true;
          out.text = found.text;
          return true;
        }
        auto v = nlohmann::json::parse(found.raw, nullptr, false);
        if (v.is_discarded()) break;
        memo_.push_back({&c.path_text, true, false, {}, std::move(v)});
        out.json = &memo_.back().value;
        return true;
      }
      case path_lookup::fallback: break;
    }
    doc_ = nlohmann::json::parse(body_, nullptr, false);
    doc_state_ = doc_.is_discarded() ? -1 : 1;
  }
  if (doc_state_ < 0) return false;
  out.json = at_pointer(doc_, c.path);
  return true;
}

bool payload_filter::matches_body(std::string_view body) const {
  if (empty()) return true;
  body_view v(body);
  return matches(v);
}

bool payload_filter::matches(body_view& body) const {
  if (empty()) return true;
  body_view::value_ref v;
  auto holds = [&](const filter_condition& c) {
    return v.plain ? c.holds_plain_string(v.text) : c.holds_value(v.json);
  };
  for (const auto& c : all_) {
    if (!body.lookup(c, v)) return false;
    if (!holds(c)) return false;
  }
  if (any_.empty()) return true;
  for (const auto& c : any_) {
    if (!body.lookup(c, v)) return false;
    if (holds(c)) return true;
  }
  return false;
}

nlohmann::json payload_filter::to_json() const {
  if (empty()) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  auto conds = [](const std::vector<filter_condition>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& c : v)
      a.push_back({{"path", c.path_text}, {"op", op_name(c.op)}, {"value", c.value}});
    return a;
  };
  if (!all_.empty()) j["all"] = conds(all_);
  if (!any_.empty()) j["any"] = conds(any_);
  return j;
}

}  // namespace hooklog::projections
