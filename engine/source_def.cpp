#include "engine/source_def.hpp"

#include <algorithm>
#include <initializer_list>
#include <set>

namespace hooklog::detail {
namespace {

using nlohmann::json;

// Walks a source file, remembering where it is, so that every error names the file and the
// field as a JSON pointer into it.
class checker {
 public:
  explicit checker(const std::string& file) : file_(file) {}

  error fail(const std::string& where, const std::string& what) const {
    return make_error(source_errc::bad_source_file,
                      file_ + ": " + (where.empty() ? std::string("/") : where) + ": " + what);
  }

  static std::string child(const std::string& where, std::string_view key) {
    return where + "/" + json_pointer::escape(key);
  }
  static std::string child(const std::string& where, std::size_t index) {
    return where + "/" + std::to_string(index);
  }

  // Unknown keys are refused so that a typo does not silently disable a rule.
  std::optional<error> only_keys(const json& obj, const std::string& where,
                                 std::initializer_list<std::string_view> keys) const {
    for (const auto& [k, v] : obj.items()) {
      if (k == "$comment") continue;
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
        return fail(child(where, k), "unknown key");
      }
    }
    return std::nullopt;
  }

 private:
  const std::string& file_;
};

struct alt_context {
  bool allow_hint = false;
  bool allow_type_after = false;
  bool allow_unit = false;
};

result<value_alt> compile_alt(const checker& ck, const json& v, const std::string& where,
                              const alt_context& ctx) {
  value_alt alt;
  if (v.is_string()) {
    auto p = json_pointer::parse(v.get<std::string>());
    if (!p) return ck.fail(where, "not a valid JSON pointer");
    alt.pointer = std::move(*p);
    return alt;
  }
  if (!v.is_object()) return ck.fail(where, "must be a JSON pointer string or an object");
  if (auto e = ck.only_keys(
          v, where,
          {"pointer", "value", "hint", "type_after", "prefix", "map", "accept", "unit"})) {
    return *e;
  }
  int kinds = 0;
  if (auto it = v.find("pointer"); it != v.end()) {
    ++kinds;
    if (!it->is_string()) return ck.fail(checker::child(where, "pointer"), "must be a string");
    auto p = json_pointer::parse(it->get<std::string>());
    if (!p) return ck.fail(checker::child(where, "pointer"), "not a valid JSON pointer");
    alt.kind = value_alt::from::pointer;
    alt.pointer = std::move(*p);
  }
  if (auto it = v.find("value"); it != v.end()) {
    ++kinds;
    if (!it->is_string()) return ck.fail(checker::child(where, "value"), "must be a string");
    alt.kind = value_alt::from::constant;
    alt.text = it->get<std::string>();
  }
  if (auto it = v.find("hint"); it != v.end()) {
    ++kinds;
    if (!ctx.allow_hint) {
      return ck.fail(checker::child(where, "hint"), "the URL hint applies only to \"type\"");
    }
    if (*it != json(true)) return ck.fail(checker::child(where, "hint"), "must be true");
    alt.kind = value_alt::from::hint;
  }
  if (auto it = v.find("type_after"); it != v.end()) {
    ++kinds;
    if (!ctx.allow_type_after) {
      return ck.fail(checker::child(where, "type_after"), "not allowed here");
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return ck.fail(checker::child(where, "type_after"), "must be a non-empty string");
    }
    alt.kind = value_alt::from::type_after;
    alt.text = it->get<std::string>();
  }
  if (kinds != 1) {
    return ck.fail(where, "needs exactly one of \"pointer\", \"value\", \"hint\", \"type_after\"");
  }
  if (auto it = v.find("prefix"); it != v.end()) {
    if (!it->is_string()) return ck.fail(checker::child(where, "prefix"), "must be a string");
    alt.prefix = it->get<std::string>();
  }
  if (auto it = v.find("map"); it != v.end()) {
    const std::string at = checker::child(where, "map");
    if (!it->is_object()) return ck.fail(at, "must be an object of strings");
    for (const auto& [k, m] : it->items()) {
      if (!m.is_string()) return ck.fail(checker::child(at, k), "must be a string");
      alt.map.emplace(k, m.get<std::string>());
    }
  }
  if (auto it = v.find("accept"); it != v.end()) {
    const std::string at = checker::child(where, "accept");
    if (alt.kind != value_alt::from::pointer) return ck.fail(at, "only for \"pointer\"");
    if (!it->is_array() || it->empty()) return ck.fail(at, "must be a non-empty array");
    alt.accept = 0;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& t = (*it)[i];
      if (t == "string") {
        alt.accept |= accept::kString;
      } else if (t == "integer") {
        alt.accept |= accept::kInteger;
      } else if (t == "number") {
        alt.accept |= accept::kNumber;
      } else if (t == "boolean") {
        alt.accept |= accept::kBoolean;
      } else {
        return ck.fail(checker::child(at, i),
                       "must be one of \"string\", \"integer\", \"number\", \"boolean\"");
      }
    }
  }
  if (auto it = v.find("unit"); it != v.end()) {
    const std::string at = checker::child(where, "unit");
    if (!ctx.allow_unit) return ck.fail(at, "only for \"occurred_at\"");
    if (*it == "s") {
      alt.unit = time_unit::s;
    } else if (*it == "ms") {
      alt.unit = time_unit::ms;
    } else if (*it == "us") {
      alt.unit = time_unit::us;
    } else if (*it == "auto") {
      alt.unit = time_unit::automatic;
    } else {
      return ck.fail(at, "must be one of \"s\", \"ms\", \"us\", \"auto\"");
    }
  }
  return alt;
}

// A value rule: one alternative (string or object) or an array of them.
result<value_spec> compile_spec(const checker& ck, const json& v, const std::string& where,
                                const alt_context& ctx) {
  value_spec spec;
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      auto alt = compile_alt(ck, v[i], checker::child(where, i), ctx);
      if (!alt) return alt.err();
      spec.push_back(std::move(alt.value()));
    }
    return spec;
  }
  auto alt = compile_alt(ck, v, where, ctx);
  if (!alt) return alt.err();
  spec.push_back(std::move(alt.value()));
  return spec;
}

result<rule> compile_rule(const checker& ck, const json& v, const std::string& where) {
  if (!v.is_object()) return ck.fail(where, "must be an object");
  if (auto e = ck.only_keys(v, where, {"match", "entity", "status", "required"})) return *e;
  rule r;
  const alt_context ctx{.allow_hint = false, .allow_type_after = true, .allow_unit = false};

  const auto m = v.find("match");
  const std::string mat = checker::child(where, "match");
  if (m == v.end()) return ck.fail(mat, "missing");
  const json list = m->is_string() ? json::array({*m}) : *m;
  if (!list.is_array() || list.empty()) {
    return ck.fail(mat, "must be a type pattern or a non-empty array of them");
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty()) {
      return ck.fail(m->is_string() ? mat : checker::child(mat, i), "must be a non-empty string");
    }
    std::string p = list[i].get<std::string>();
    type_pattern tp;
    if (p.back() == '*') {
      p.pop_back();
      tp.prefix = true;
    }
    if (p.find('*') != std::string::npos) {
      return ck.fail(m->is_string() ? mat : checker::child(mat, i),
                     "'*' is allowed only at the end");
    }
    tp.text = std::move(p);
    r.match.push_back(std::move(tp));
  }

  if (auto it = v.find("entity"); it != v.end()) {
    const std::string at = checker::child(where, "entity");
    if (!it->is_object()) return ck.fail(at, "must be an object");
    if (auto e = ck.only_keys(*it, at, {"kind", "kind_from", "id"})) return *e;
    entity_spec es;
    if (const auto kf = it->find("kind_from"); kf != it->end()) {
      auto spec = compile_spec(ck, *kf, checker::child(at, "kind_from"), ctx);
      if (!spec) return spec.err();
      es.kind_from = std::move(spec.value());
    }
    const auto k = it->find("kind");
    if (k != it->end() || es.kind_from.empty()) {
      if (k == it->end() || !k->is_string() || k->get_ref<const std::string&>().empty()) {
        return ck.fail(checker::child(at, "kind"), "must be a non-empty string");
      }
      es.kind = k->get<std::string>();
    }
    const auto id = it->find("id");
    if (id == it->end()) return ck.fail(checker::child(at, "id"), "missing");
    auto spec = compile_spec(ck, *id, checker::child(at, "id"), ctx);
    if (!spec) return spec.err();
    es.id = std::move(spec.value());
    r.entity = std::move(es);
  }
  if (auto it = v.find("status"); it != v.end()) {
    const std::string at = checker::child(where, "status");
    if (!it->is_object()) return ck.fail(at, "must be an object");
    if (auto e = ck.only_keys(*it, at, {"from", "to"})) return *e;
    status_spec ss;
    for (const char* key : {"from", "to"}) {
      const auto f = it->find(key);
      if (f == it->end()) continue;
      auto spec = compile_spec(ck, *f, checker::child(at, key), ctx);
      if (!spec) return spec.err();
      (std::string_view(key) == "from" ? ss.from : ss.to) = std::move(spec.value());
    }
    r.status = std::move(ss);
  }
  if (auto it = v.find("required"); it != v.end()) {
    const std::string at = checker::child(where, "required");
    if (!it->is_array()) return ck.fail(at, "must be an array of JSON pointers");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& p = (*it)[i];
      std::optional<json_pointer> jp;
      if (p.is_string()) jp = json_pointer::parse(p.get<std::string>());
      if (!jp || jp->text().empty()) {
        return ck.fail(checker::child(at, i), "must be a non-empty JSON pointer");
      }
      r.required.push_back(std::move(*jp));
    }
  }
  return r;
}

void add_read_paths(source_def& def) {
  auto add_spec = [&](value_spec& spec) {
    for (value_alt& alt : spec) {
      if (alt.kind == value_alt::from::pointer) alt.node = def.read_paths.add(alt.pointer);
    }
  };
  for (value_spec* spec : {&def.type, &def.event_id, &def.occurred_at, &def.tenant}) {
    add_spec(*spec);
  }
  if (def.test_mode) def.test_mode->node = def.read_paths.add(def.test_mode->pointer);
  for (rule& r : def.rules) {
    if (r.entity) {
      add_spec(r.entity->kind_from);
      add_spec(r.entity->id);
    }
    if (r.status) {
      add_spec(r.status->from);
      add_spec(r.status->to);
    }
    r.required_nodes.clear();
    for (const json_pointer& p : r.required) r.required_nodes.push_back(def.read_paths.add(p));
  }
}

bool valid_source_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

event_plan source_def::plan_for(std::string_view type) const {
  if (const auto it = plans.find(type); it != plans.end()) return it->second;
  event_plan plan;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const rule& r = rules[i];
    if (std::none_of(r.match.begin(), r.match.end(),
                     [&](const type_pattern& p) { return p.matches(type); })) {
      continue;
    }
    if (plan.entity_rule < 0 && r.entity) plan.entity_rule = static_cast<int>(i);
    if (plan.status_rule < 0 && r.status) plan.status_rule = static_cast<int>(i);
    if (!r.required.empty()) plan.required_rules.push_back(static_cast<int>(i));
  }
  return plan;
}

result<source_def> compile_source(const json& doc, const std::string& file,
                                  const std::string& name) {
  checker ck(file);
  if (!doc.is_object()) return ck.fail("", "a source file must be a JSON object");
  if (auto e = ck.only_keys(
          doc, "",
          {"source", "title", "description", "assumed_shape", "open_catalog", "type", "event_id",
           "dedup", "occurred_at", "tenant", "test_mode", "events", "rules"})) {
    return *e;
  }
  source_def def;
  def.file = file;

  const auto src = doc.find("source");
  if (src == doc.end() || !src->is_string()) return ck.fail("/source", "must be a string");
  def.name = src->get<std::string>();
  if (!valid_source_name(def.name)) {
    return ck.fail("/source", "must be 1 to 64 characters among a-z, 0-9, '_' and '-'");
  }
  if (def.name != name) {
    return ck.fail("/source", "is \"" + def.name + "\" but the file is named for \"" + name + "\"");
  }
  for (const char* key : {"title", "description"}) {
    if (auto it = doc.find(key); it != doc.end()) {
      if (!it->is_string()) return ck.fail(checker::child("", key), "must be a string");
      (std::string_view(key) == "title" ? def.title : def.description) = it->get<std::string>();
    }
  }
  for (const char* key : {"assumed_shape", "open_catalog"}) {
    if (auto it = doc.find(key); it != doc.end()) {
      if (!it->is_boolean()) return ck.fail(checker::child("", key), "must be a boolean");
      (std::string_view(key) == "assumed_shape" ? def.assumed_shape : def.open_catalog) =
          it->get<bool>();
    }
  }

  const auto ty = doc.find("type");
  if (ty == doc.end()) return ck.fail("/type", "missing: the source must say where the type is");
  {
    auto spec = compile_spec(ck, *ty, "/type", {.allow_hint = true});
    if (!spec) return spec.err();
    def.type = std::move(spec.value());
  }
  struct field {
    const char* key;
    value_spec* out;
    alt_context ctx;
  };
  for (const field& f : {field{"event_id", &def.event_id, {}},
                         field{"occurred_at", &def.occurred_at, {.allow_unit = true}},
                         field{"tenant", &def.tenant, {}}}) {
    if (auto it = doc.find(f.key); it != doc.end()) {
      auto spec = compile_spec(ck, *it, checker::child("", f.key), f.ctx);
      if (!spec) return spec.err();
      *f.out = std::move(spec.value());
    }
  }
  def.dedup = def.event_id.empty() ? dedup_mode::body_hash : dedup_mode::event_id;
  if (auto it = doc.find("dedup"); it != doc.end()) {
    if (*it == "event_id") {
      if (def.event_id.empty()) {
        return ck.fail("/dedup", "\"event_id\" needs an \"event_id\" rule in the file");
      }
      def.dedup = dedup_mode::event_id;
    } else if (*it == "body_hash") {
      def.dedup = dedup_mode::body_hash;
    } else if (*it == "none") {
      def.dedup = dedup_mode::none;
    } else {
      return ck.fail("/dedup", "must be one of \"event_id\", \"body_hash\", \"none\"");
    }
  }
  if (auto it = doc.find("test_mode"); it != doc.end()) {
    if (!it->is_object()) return ck.fail("/test_mode", "must be an object");
    if (auto e = ck.only_keys(*it, "/test_mode", {"pointer", "equals"})) return *e;
    test_mode_spec tm;
    const auto p = it->find("pointer");
    std::optional<json_pointer> jp;
    if (p != it->end() && p->is_string()) jp = json_pointer::parse(p->get<std::string>());
    if (!jp) return ck.fail("/test_mode/pointer", "must be a JSON pointer");
    tm.pointer = std::move(*jp);
    const auto eq = it->find("equals");
    if (eq == it->end() || !eq->is_primitive() || eq->is_null()) {
      return ck.fail("/test_mode/equals", "must be a string, number or boolean");
    }
    tm.equals = *eq;
    def.test_mode = std::move(tm);
  }

  const auto ev = doc.find("events");
  if (ev == doc.end() || !ev->is_array()) return ck.fail("/events", "must be an array");
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < ev->size(); ++i) {
    const std::string at = checker::child("/events", i);
    const json& e = (*ev)[i];
    if (!e.is_object()) return ck.fail(at, "must be an object");
    if (auto err = ck.only_keys(e, at, {"type", "description"})) return *err;
    const auto t = e.find("type");
    if (t == e.end() || !t->is_string() || t->get_ref<const std::string&>().empty()) {
      return ck.fail(checker::child(at, "type"), "must be a non-empty string");
    }
    const auto d = e.find("description");
    if (d == e.end() || !d->is_string() || d->get_ref<const std::string&>().empty()) {
      return ck.fail(checker::child(at, "description"), "must be a non-empty string");
    }
    if (!seen.insert(t->get<std::string>()).second) {
      return ck.fail(checker::child(at, "type"),
                     "duplicate type \"" + t->get<std::string>() + "\"");
    }
    def.events.push_back({t->get<std::string>(), def.name, d->get<std::string>()});
  }

  if (auto it = doc.find("rules"); it != doc.end()) {
    if (!it->is_array()) return ck.fail("/rules", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto r = compile_rule(ck, (*it)[i], checker::child("/rules", i));
      if (!r) return r.err();
      def.rules.push_back(std::move(r.value()));
    }
  }

  for (const catalog_entry& e : def.events) def.plans.emplace(e.type, def.plan_for(e.type));
  if (std::all_of(def.rules.begin(), def.rules.end(), [](const rule& r) {
        return std::any_of(r.match.begin(), r.match.end(),
                           [](const type_pattern& p) { return p.prefix && p.text.empty(); });
      })) {
    def.any_type_plan = def.plan_for({});  // every rule matches "" as it matches any type
  }
  add_read_paths(def);
  return def;
}

}  // namespace hooklog::detail
