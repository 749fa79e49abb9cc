// source_registry::normalize: one payload in its platform's shape to a normalized_event.
// Per event: one pass over the text that validates it and keeps only the members the source
// file reads (engine/json_extract.hpp), then only pre-compiled pointer walks and map look-ups
// (no regex, no pointer parsing). Text that is not plain for that pass (invalid, too deep, a
// duplicate read key, ...) takes the full path: the bounds pre-scan, one nlohmann parse and the
// duplicate-key scan, which give the refusals.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "engine/json_extract.hpp"
#include "engine/json_text.hpp"
#include "engine/source.hpp"
#include "engine/source_def.hpp"
#include "engine/source_time.hpp"

namespace hooklog {
namespace {

using detail::value_alt;
using detail::value_spec;
using nlohmann::json;

constexpr std::int64_t kMaxEpochSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// The parsed body the rules read: the full document, or only its read members
// (extract_watched). There a pointer to an object gives a pruned object, so such a read marks
// the result as not to be used: the caller runs again on the full document.
struct body_doc {
  const json& doc;
  bool pruned = false;
  mutable bool needs_full = false;

  const json* resolve(const json_pointer& p) const {
    const json* v = p.resolve(doc);
    if (pruned && v != nullptr && v->is_object()) needs_full = true;
    return v;
  }
};

struct eval_context {
  const body_doc& doc;
  std::string_view hint;
  std::string_view type;
  const normalize_limits& lim;
};

std::string accepted_names(unsigned mask) {
  std::string out;
  auto add = [&](const char* n) {
    out += out.empty() ? "" : " or ";
    out += n[0] == 'i' ? "an " : "a ";
    out += n;
  };
  if (mask & detail::accept::kString) add("string");
  if (mask & detail::accept::kInteger) add("integer");
  if (mask & detail::accept::kNumber) add("number");
  if (mask & detail::accept::kBoolean) add("boolean");
  return out;
}

std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  return "\"" + std::string(s.substr(0, kMax)) + (s.size() > kMax ? "...\"" : "\"");
}

error wrong_type(const value_alt& alt, const json& v, const std::string& expected) {
  return make_error(source_errc::wrong_type,
                    "field " + alt.pointer.text() + " must be " + expected + ", got " +
                        std::string(json_type_name(v)),
                    alt.pointer.text());
}

// What error::field names for a value an alternative gave (source.hpp): its pointer, the URL
// hint, or nothing for a constant or a value derived from the type.
std::string field_of(const value_alt& alt) {
  switch (alt.kind) {
    case value_alt::from::pointer:
      return alt.pointer.text();
    case value_alt::from::hint:
      return std::string(kFieldTypeHint);
    default:
      return {};
  }
}

// How an error message names where a value came from.
std::string where_of(const value_alt& alt) {
  switch (alt.kind) {
    case value_alt::from::pointer:
      return "field " + alt.pointer.text();
    case value_alt::from::hint:
      return "?type=";
    default:
      return "a derived value";
  }
}

// The text a pointer alternative gives: nullopt when absent or null, an error for a value of a
// type the alternative does not accept.
result<std::optional<std::string>> pointer_text(const value_alt& alt, const body_doc& doc) {
  const json* v = doc.resolve(alt.pointer);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  namespace acc = detail::accept;
  if (v->is_string() && (alt.accept & acc::kString)) {
    return std::optional<std::string>{v->get_ref<const std::string&>()};
  }
  if ((v->is_number_integer() || v->is_number_unsigned()) &&
      (alt.accept & (acc::kInteger | acc::kNumber))) {
    return std::optional<std::string>{v->dump()};
  }
  if (v->is_number_float() && (alt.accept & acc::kNumber)) {
    return std::optional<std::string>{v->dump()};
  }
  if (v->is_boolean() && (alt.accept & acc::kBoolean)) {
    return std::optional<std::string>{v->get<bool>() ? "true" : "false"};
  }
  return wrong_type(alt, *v, accepted_names(alt.accept));
}

// Tries the alternatives in order; the first non-empty value wins (after map and prefix).
// `from` (optional) is set to the alternative that gave it.
result<std::optional<std::string>> evaluate(const value_spec& spec, const eval_context& ctx,
                                            const value_alt** from = nullptr) {
  for (const value_alt& alt : spec) {
    std::optional<std::string> got;
    switch (alt.kind) {
      case value_alt::from::pointer: {
        auto t = pointer_text(alt, ctx.doc);
        if (!t) return t.err();
        got = std::move(t.value());
        break;
      }
      case value_alt::from::constant:
        got = alt.text;
        break;
      case value_alt::from::hint:
        if (!ctx.hint.empty()) got = std::string(ctx.hint);
        break;
      case value_alt::from::type_after:
        if (ctx.type.size() > alt.text.size() && ctx.type.substr(0, alt.text.size()) == alt.text) {
          got = std::string(ctx.type.substr(alt.text.size()));
        }
        break;
    }
    if (!got || got->empty()) continue;
    if (!alt.map.empty()) {
      if (const auto it = alt.map.find(*got); it != alt.map.end()) *got = it->second;
    }
    if (!alt.prefix.empty()) got->insert(0, alt.prefix);
    if (got->size() > ctx.lim.max_field_bytes) {
      return make_error(source_errc::wrong_type,
                        where_of(alt) + " is " + std::to_string(got->size()) +
                            " bytes long, more than the limit of " +
                            std::to_string(ctx.lim.max_field_bytes),
                        field_of(alt));
    }
    if (from != nullptr) *from = &alt;
    return got;
  }
  return std::optional<std::string>{};
}

std::optional<std::int64_t> number_to_micros(const json& v, detail::time_unit unit) {
  const double d = v.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  double scale = 1;  // multiplier to µs
  switch (unit) {
    case detail::time_unit::s:
      scale = 1e6;
      break;
    case detail::time_unit::ms:
      scale = 1e3;
      break;
    case detail::time_unit::us:
      scale = 1;
      break;
    case detail::time_unit::automatic: {
      const double a = std::fabs(d);
      scale = a < 1e11 ? 1e6 : a < 1e14 ? 1e3 : 1;
      break;
    }
    case detail::time_unit::none:
      return std::nullopt;
  }
  const double us = d * scale;
  if (std::fabs(us) > static_cast<double>(kMaxEpochSeconds) * 1e6) return std::nullopt;
  if (v.is_number_integer() || v.is_number_unsigned()) {
    return v.get<std::int64_t>() * static_cast<std::int64_t>(scale);
  }
  return static_cast<std::int64_t>(std::llround(us));
}

// occurred_at: RFC 3339 text, or a number when the alternative names its unit; 0 when absent.
result<std::int64_t> evaluate_time(const value_spec& spec, const eval_context& ctx) {
  for (const value_alt& alt : spec) {
    if (alt.kind == value_alt::from::constant) {
      if (const auto t = parse_timestamp(alt.text)) return *t;
      continue;
    }
    if (alt.kind != value_alt::from::pointer) continue;
    const json* v = ctx.doc.resolve(alt.pointer);
    if (v == nullptr || v->is_null()) continue;
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      if (s.empty()) continue;
      if (const auto t = parse_timestamp(s)) return *t;
      return make_error(
          source_errc::wrong_type,
          "field " + alt.pointer.text() + " must be an RFC 3339 time, got " + shown(s),
          alt.pointer.text());
    }
    if (v->is_number() && alt.unit != detail::time_unit::none) {
      if (const auto t = number_to_micros(*v, alt.unit)) return *t;
      return make_error(source_errc::wrong_type,
                        "field " + alt.pointer.text() + " is not a time in range, got " + v->dump(),
                        alt.pointer.text());
    }
    return wrong_type(alt, *v,
                      alt.unit == detail::time_unit::none ? "a string" : "a string or a number");
  }
  return std::int64_t{0};
}

bool same_json_kind(const json& a, const json& b) {
  return (a.is_number() && b.is_number()) || a.type() == b.type();
}

// The first pointer a value rule reads ("" when it reads none): the field a refusal names.
std::string first_pointer(const value_spec& spec) {
  for (const value_alt& alt : spec) {
    if (alt.kind == value_alt::from::pointer) return alt.pointer.text();
  }
  return {};
}

// A tenant or type with a control character is refused: both are index keys (a 0 byte would
// make two keys one) and both are shown and matched as text.
std::optional<error> control_char(std::string_view what, std::string_view value, std::string field,
                                  std::string where) {
  const std::size_t at = find_control_char(value);
  if (at == std::string_view::npos) return std::nullopt;
  char code[8];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned char>(value[at]));
  return make_error(source_errc::bad_value,
                    std::string(what) + " from " + where + " holds the control character " + code +
                        " at byte " + std::to_string(at) + "; control characters are not allowed",
                    std::move(field));
}

std::string describe(const value_spec& spec) {
  std::string out;
  for (const value_alt& alt : spec) {
    if (!out.empty()) out += ", ";
    switch (alt.kind) {
      case value_alt::from::pointer:
        out += alt.pointer.text();
        break;
      case value_alt::from::hint:
        out += "?type=";
        break;
      case value_alt::from::constant:
        out += "\"" + alt.text + "\"";
        break;
      case value_alt::from::type_after:
        out += "type after " + alt.text;
        break;
    }
  }
  return out;
}

// The event from a body already checked (valid JSON object, bounds, no duplicate read key).
result<normalized_event> normalize_body(const detail::source_def* def, const ingest_input& in,
                                        const normalize_limits& lim, const body_doc& doc) {
  normalized_event ev;
  ev.source = def->name;
  {
    const value_alt* from = nullptr;
    auto type = evaluate(def->type, {doc, in.type_hint, {}, lim}, &from);
    if (!type) return type.err();
    if (!type.value()) {
      return make_error(source_errc::missing_field,
                        "missing event type: none of " + describe(def->type) + " gives one",
                        first_pointer(def->type));
    }
    ev.type = std::move(*type.value());
    if (auto e = control_char("the event type", ev.type, field_of(*from), where_of(*from))) {
      return *e;
    }
  }
  const eval_context ctx{doc, in.type_hint, ev.type, lim};

  const detail::event_plan* plan = nullptr;
  detail::event_plan uncataloged;
  if (const auto it = def->plans.find(ev.type); it != def->plans.end()) {
    plan = &it->second;
  } else {
    uncataloged = def->plan_for(ev.type);
    plan = &uncataloged;
    ev.cataloged = def->open_catalog;
  }

  for (const int r : plan->required_rules) {
    for (const json_pointer& p : def->rules[r].required) {
      const json* v = doc.resolve(p);
      if (v == nullptr || v->is_null()) {
        return make_error(source_errc::missing_field,
                          "missing required field " + p.text() + " for " + ev.type, p.text());
      }
    }
  }

  if (!in.tenant.empty()) {
    ev.tenant = std::string(in.tenant);
    if (auto e = control_char("the tenant", ev.tenant, {}, "the forced tenant (API key)")) {
      return *e;
    }
  } else {
    const value_alt* from = nullptr;
    auto t = evaluate(def->tenant, ctx, &from);
    if (!t) return t.err();
    ev.tenant = t.value() ? std::move(*t.value()) : std::string("default");
    if (from != nullptr) {
      if (auto e = control_char("the tenant", ev.tenant, field_of(*from), where_of(*from))) {
        return *e;
      }
    }
  }

  {
    auto id = evaluate(def->event_id, ctx);
    if (!id) return id.err();
    if (id.value()) ev.native_id = std::move(*id.value());
  }
  if (!in.idempotency_key.empty()) {
    if (in.idempotency_key.size() > lim.max_field_bytes) {
      return make_error(source_errc::wrong_type,
                        "Idempotency-Key is " + std::to_string(in.idempotency_key.size()) +
                            " bytes long, more than the limit of " +
                            std::to_string(lim.max_field_bytes),
                        std::string(kFieldIdempotencyKey));
    }
    ev.idempotency_key = std::string(in.idempotency_key);
  } else {
    switch (def->dedup) {
      case dedup_mode::event_id:
        ev.idempotency_key = ev.native_id;
        break;
      case dedup_mode::body_hash:
        ev.idempotency_key = body_hash_key(ev.type, in.body);
        break;
      case dedup_mode::none:
        break;
    }
  }

  {
    auto t = evaluate_time(def->occurred_at, ctx);
    if (!t) return t.err();
    ev.occurred_at = t.value();
  }

  if (def->test_mode) {
    const json* v = doc.resolve(def->test_mode->pointer);
    if (v != nullptr && !v->is_null()) {
      if (!same_json_kind(*v, def->test_mode->equals)) {
        return make_error(source_errc::wrong_type,
                          "field " + def->test_mode->pointer.text() + " must be a " +
                              std::string(json_type_name(def->test_mode->equals)) + ", got " +
                              std::string(json_type_name(*v)),
                          def->test_mode->pointer.text());
      }
      ev.test_mode = *v == def->test_mode->equals;
    }
  }

  if (plan->entity_rule >= 0) {
    const detail::entity_spec& es = *def->rules[plan->entity_rule].entity;
    auto id = evaluate(es.id, ctx);
    if (!id) return id.err();
    if (id.value()) {
      auto kind = evaluate(es.kind_from, ctx);
      if (!kind) return kind.err();
      ev.entity_kind = kind.value() ? std::move(*kind.value()) : es.kind;
      if (!ev.entity_kind.empty()) ev.entity_id = std::move(*id.value());
    }
  }
  if (plan->status_rule >= 0 && !ev.entity_id.empty()) {
    const detail::status_spec& ss = *def->rules[plan->status_rule].status;
    auto to = evaluate(ss.to, ctx);
    if (!to) return to.err();
    if (to.value()) {
      ev.status_to = std::move(*to.value());
      auto from = evaluate(ss.from, ctx);
      if (!from) return from.err();
      if (from.value()) ev.status_from = std::move(*from.value());
    }
  }
  return ev;
}

}  // namespace

result<normalized_event> source_registry::normalize(const ingest_input& in,
                                                    const normalize_limits& lim) const {
  const detail::source_def* def = find(in.source);
  if (def == nullptr) {
    return make_error(source_errc::unknown_source, "unknown source " + shown(in.source));
  }
  // The fast path: the same checks in one pass, building only the members read. Whatever it
  // does not answer (and any read of an object) is done again on the full path below.
  if (in.body.size() <= lim.max_body_bytes) {
    if (auto watched = extract_watched(in.body, def->read_paths, lim.max_depth)) {
      const body_doc doc{*watched, true};
      auto ev = normalize_body(def, in, lim, doc);
      if (!doc.needs_full) return ev;
    }
  }
  if (auto ok = check_json_bounds(in.body, lim.max_body_bytes, lim.max_depth); !ok) {
    return ok.err();
  }
  auto parsed = parse_json_text(in.body);
  if (!parsed) return parsed.err();
  const json& full = parsed.value();
  if (!full.is_object()) {
    return make_error(source_errc::not_an_object,
                      "the body must be a JSON object, got " + std::string(json_type_name(full)));
  }
  // The parser keeps the last of repeated keys; a receiver's may keep the first. Where hooklog
  // reads a field, the stored body must not mean two things.
  if (auto dup = find_duplicate_key(in.body, def->read_paths)) {
    std::string message = "duplicate key at " + *dup +
                          ": hooklog reads this field and a receiver could read the other copy";
    return make_error(source_errc::duplicate_key, std::move(message), std::move(*dup));
  }
  return normalize_body(def, in, lim, body_doc{full});
}

}  // namespace hooklog
