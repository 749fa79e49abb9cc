// source_registry::normalize: one payload in its platform's shape to a normalized_event.
// Per event: one pass over the text that validates it and keeps a view of each value the
// source file reads, by node (engine/json_fields.hpp), then only those views, pre-compiled
// rules and map look-ups (no document, no regex, no pointer walk). Text that is not plain for
// that pass (invalid, too deep, a duplicate read key, ...) takes the full path: the bounds
// pre-scan, one nlohmann parse and the duplicate-key scan, which give the refusals. Both paths
// read the same values through body_view, so they give the same events and the same errors.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "engine/json_fields.hpp"
#include "engine/json_text.hpp"
#include "engine/record_format.hpp"
#include "engine/source.hpp"
#include "engine/source_def.hpp"
#include "engine/source_time.hpp"

namespace hooklog {
namespace {

using detail::value_alt;
using detail::value_spec;
using nlohmann::json;
using kind = json_field::kind;
using failure = std::optional<error>;  // what the steps below return: nullopt when fine

struct body_view {
  const watched_fields* fast = nullptr;
  const json* full = nullptr;

  json_field get(const json_pointer& p, int node) const {
    return fast != nullptr ? fast->at(node) : to_json_field(p.resolve(*full));
  }
};

struct eval_context {
  const body_view& doc;
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
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  out += s.size() > kMax ? "...\"" : "\"";
  return out;
}

error wrong_type(const value_alt& alt, const json_field& v, const std::string& expected) {
  return make_error(source_errc::wrong_type,
                    "field " + alt.pointer.text() + " must be " + expected + ", got " +
                        std::string(json_field_type_name(v)),
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

// Tries the alternatives in order; the first non-empty value wins (after map and prefix) and is
// written to `out` (left alone when none gives one); `found` says whether one did, `from`
// (optional) which alternative.
failure evaluate(const value_spec& spec, const eval_context& ctx, std::string& out, bool& found,
                 const value_alt** from = nullptr) {
  found = false;
  namespace acc = detail::accept;
  for (const value_alt& alt : spec) {
    std::string_view got;
    char digits[24];
    std::string dumped;  // a float, as nlohmann dumps it
    switch (alt.kind) {
      case value_alt::from::pointer: {
        const json_field v = ctx.doc.get(alt.pointer, alt.node);
        if (v.type == kind::absent || v.type == kind::null) continue;
        if (v.type == kind::string && (alt.accept & acc::kString)) {
          got = v.text;
        } else if ((v.type == kind::integer || v.type == kind::unsigned_integer) &&
                   (alt.accept & (acc::kInteger | acc::kNumber))) {
          const auto r = v.type == kind::integer
                             ? std::to_chars(digits, digits + sizeof digits, v.integer)
                             : std::to_chars(digits, digits + sizeof digits, v.unsigned_integer);
          got = std::string_view(digits, static_cast<std::size_t>(r.ptr - digits));
        } else if (v.type == kind::floating && (alt.accept & acc::kNumber)) {
          dumped = json_field_number_text(v);
          got = dumped;
        } else if (v.type == kind::boolean && (alt.accept & acc::kBoolean)) {
          got = v.boolean ? "true" : "false";
        } else {
          return wrong_type(alt, v, accepted_names(alt.accept));
        }
        break;
      }
      case value_alt::from::constant:
        got = alt.text;
        break;
      case value_alt::from::hint:
        got = ctx.hint;
        break;
      case value_alt::from::type_after:
        if (ctx.type.size() > alt.text.size() && ctx.type.substr(0, alt.text.size()) == alt.text) {
          got = ctx.type.substr(alt.text.size());
        }
        break;
    }
    if (got.empty()) continue;
    if (!alt.map.empty()) {
      if (const auto it = alt.map.find(got); it != alt.map.end()) got = it->second;
    }
    const std::size_t size = alt.prefix.size() + got.size();
    if (size > ctx.lim.max_field_bytes) {
      return make_error(source_errc::wrong_type,
                        where_of(alt) + " is " + std::to_string(size) +
                            " bytes long, more than the limit of " +
                            std::to_string(ctx.lim.max_field_bytes),
                        field_of(alt));
    }
    out.reserve(size);
    out.assign(alt.prefix);
    out.append(got);
    found = true;
    if (from != nullptr) *from = &alt;
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::int64_t> number_to_micros(const json_field& v, detail::time_unit unit) {
  const double d = v.type == kind::integer            ? static_cast<double>(v.integer)
                   : v.type == kind::unsigned_integer ? static_cast<double>(v.unsigned_integer)
                                                      : v.floating;
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
  // Only a guard against overflow below (int64 holds 9.2e18): the range itself is decided on
  // the exact value by timestamp_in_range. A bound on the double refused the last second of
  // year 9999 (253402300799999999 µs rounds to 253402300800000000 as a double).
  if (std::fabs(us) > 1e18) return std::nullopt;
  const std::int64_t out =
      v.type == kind::integer ? v.integer * static_cast<std::int64_t>(scale)
      : v.type == kind::unsigned_integer
          ? static_cast<std::int64_t>(v.unsigned_integer) * static_cast<std::int64_t>(scale)
          : static_cast<std::int64_t>(std::llround(us));
  // Years 1..9999 only (negative seconds reach back to year -7000): RFC 3339 writes no others.
  if (!timestamp_in_range(out)) return std::nullopt;
  return out;
}

// occurred_at: RFC 3339 text, or a number when the alternative names its unit; `given` says
// whether one was found (0 is a time: 1970-01-01T00:00:00Z).
failure evaluate_time(const value_spec& spec, const eval_context& ctx, std::int64_t& out,
                      bool& given) {
  out = 0;
  given = false;
  for (const value_alt& alt : spec) {
    if (alt.kind == value_alt::from::constant) {
      if (const auto t = parse_timestamp(alt.text)) {
        out = *t;
        given = true;
        return std::nullopt;
      }
      continue;
    }
    if (alt.kind != value_alt::from::pointer) continue;
    const json_field v = ctx.doc.get(alt.pointer, alt.node);
    if (v.type == kind::absent || v.type == kind::null) continue;
    if (v.type == kind::string) {
      if (v.text.empty()) continue;
      if (const auto t = parse_timestamp(v.text)) {
        out = *t;
        given = true;
        return std::nullopt;
      }
      return make_error(
          source_errc::wrong_type,
          "field " + alt.pointer.text() + " must be an RFC 3339 time, got " + shown(v.text),
          alt.pointer.text());
    }
    if (v.is_number() && alt.unit != detail::time_unit::none) {
      if (const auto t = number_to_micros(v, alt.unit)) {
        out = *t;
        given = true;
        return std::nullopt;
      }
      return make_error(source_errc::wrong_type,
                        "field " + alt.pointer.text() + " is not a time in range, got " +
                            json_field_number_text(v),
                        alt.pointer.text());
    }
    return wrong_type(alt, v,
                      alt.unit == detail::time_unit::none ? "a string" : "a string or a number");
  }
  return std::nullopt;
}

// test_mode: whether a value is of the kind of `equals` (a string, number or boolean: the
// source file is checked), and whether it equals it as nlohmann compares.
bool same_json_kind(const json_field& a, const json& b) {
  if (b.is_number()) return a.is_number();
  if (b.is_string()) return a.type == kind::string;
  return b.is_boolean() && a.type == kind::boolean;
}

bool equal_to(const json_field& a, const json& b) {
  switch (a.type) {
    case kind::string:
      return a.text == b.get_ref<const std::string&>();
    case kind::boolean:
      return json(a.boolean) == b;
    case kind::integer:
      return json(a.integer) == b;
    case kind::unsigned_integer:
      return json(a.unsigned_integer) == b;
    default:
      return json(a.floating) == b;
  }
}

// The first pointer a value rule reads ("" when it reads none): the field a refusal names.
std::string first_pointer(const value_spec& spec) {
  for (const value_alt& alt : spec) {
    if (alt.kind == value_alt::from::pointer) return alt.pointer.text();
  }
  return {};
}

// A value hooklog keys, shows or matches as text (the type, the tenant, the event id, the entity
// kind and id, the statuses) with a control character, or with bytes that are not UTF-8 (only a
// URL's ?type= or a forced tenant can hold those: a body's strings are checked by the scanner),
// is refused: they are index keys (a 0 byte would make two keys one; an entity id is a path
// segment of /v1/entities/KIND/ID) and they are printed in text lines (`hooklog tail`,
// `hooklog timeline`), where a newline or an escape sequence would forge or hide a line.
std::optional<error> control_char(std::string_view what, std::string_view value,
                                  const value_alt* from, std::string_view forced = {}) {
  // A body's strings (the scanner checked them) and a source file's texts are UTF-8: only a
  // control character can be at fault there. ?type= and a forced tenant are checked whole.
  if (from != nullptr && from->kind != value_alt::from::hint &&
      find_control_char(value) == std::string_view::npos) {
    return std::nullopt;
  }
  auto fault = find_text_fault(value);
  if (!fault) return std::nullopt;  // the message only when refused
  return make_error(source_errc::bad_value,
                    std::string(what) + " from " +
                        (from != nullptr ? where_of(*from) : std::string(forced)) + " holds " +
                        *fault,
                    from != nullptr ? field_of(*from) : std::string());
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

// The event from a body already checked (valid JSON object, bounds, no duplicate read key),
// into `ev`.
failure normalize_body(const detail::source_def& def, const ingest_input& in,
                       const normalize_limits& lim, const body_view& doc, normalized_event& ev) {
  ev.source = def.name;
  bool found = false;
  {
    const value_alt* from = nullptr;
    if (auto e = evaluate(def.type, {doc, in.type_hint, {}, lim}, ev.type, found, &from)) return e;
    if (!found) {
      return make_error(source_errc::missing_field,
                        "missing event type: none of " + describe(def.type) + " gives one",
                        first_pointer(def.type));
    }
    if (auto e = control_char("the event type", ev.type, from)) {
      return e;
    }
  }
  const eval_context ctx{doc, in.type_hint, ev.type, lim};

  const detail::event_plan* plan = nullptr;
  detail::event_plan uncataloged;
  if (const auto it = def.plans.find(ev.type); it != def.plans.end()) {
    plan = &it->second;
  } else {
    if (def.any_type_plan) {
      plan = &*def.any_type_plan;
    } else {
      uncataloged = def.plan_for(ev.type);
      plan = &uncataloged;
    }
    ev.cataloged = def.open_catalog;
  }

  for (const int r : plan->required_rules) {
    const detail::rule& rule = def.rules[r];
    for (std::size_t k = 0; k < rule.required.size(); ++k) {
      const json_pointer& p = rule.required[k];
      const json_field v = doc.get(p, rule.required_nodes[k]);
      if (v.type == kind::absent || v.type == kind::null) {
        return make_error(source_errc::missing_field,
                          "missing required field " + p.text() + " for " + ev.type, p.text());
      }
    }
  }

  if (!in.tenant.empty()) {
    ev.tenant = std::string(in.tenant);
    if (auto e = control_char("the tenant", ev.tenant, nullptr, "the forced tenant (API key)")) {
      return e;
    }
  } else {
    const value_alt* from = nullptr;
    if (auto e = evaluate(def.tenant, ctx, ev.tenant, found, &from)) return e;
    if (!found) ev.tenant = "default";
    if (from != nullptr) {
      if (auto e = control_char("the tenant", ev.tenant, from)) {
        return e;
      }
    }
  }

  {
    const value_alt* from = nullptr;
    if (auto e = evaluate(def.event_id, ctx, ev.native_id, found, &from)) return e;
    // The payload's id is the idempotency key under dedup "event_id": checked as the header's.
    if (from != nullptr) {
      if (auto e = control_char("the event id", ev.native_id, from)) return e;
    }
  }
  if (!in.idempotency_key.empty()) {
    if (in.idempotency_key.size() > lim.max_field_bytes) {
      return make_error(source_errc::wrong_type,
                        "Idempotency-Key is " + std::to_string(in.idempotency_key.size()) +
                            " bytes long, more than the limit of " +
                            std::to_string(lim.max_field_bytes),
                        std::string(kFieldIdempotencyKey));
    }
    if (auto fault = find_text_fault(in.idempotency_key)) {
      return make_error(source_errc::bad_value, "Idempotency-Key holds " + *fault,
                        std::string(kFieldIdempotencyKey));
    }
    ev.idempotency_key = std::string(in.idempotency_key);
  } else {
    switch (def.dedup) {
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

  // The idempotency index and the stats by type key these together (record_format.hpp).
  if (auto over = format::key_overflow(ev.tenant, ev.source, {}, ev.idempotency_key, {}, {});
      !over.empty())
    return make_error(source_errc::bad_value, over,
                      in.idempotency_key.empty() ? std::string("event id")
                                                 : std::string(kFieldIdempotencyKey));
  if (auto over = format::key_overflow(ev.tenant, {}, ev.type, {}, {}, {}); !over.empty())
    return make_error(source_errc::bad_value, over, "type");

  if (auto e = evaluate_time(def.occurred_at, ctx, ev.occurred_at, ev.occurred_given)) return e;

  if (def.test_mode) {
    const json_field v = doc.get(def.test_mode->pointer, def.test_mode->node);
    if (v.type != kind::absent && v.type != kind::null) {
      if (!same_json_kind(v, def.test_mode->equals)) {
        return make_error(source_errc::wrong_type,
                          "field " + def.test_mode->pointer.text() + " must be a " +
                              std::string(json_type_name(def.test_mode->equals)) + ", got " +
                              std::string(json_field_type_name(v)),
                          def.test_mode->pointer.text());
      }
      ev.test_mode = equal_to(v, def.test_mode->equals);
    }
  }

  if (plan->entity_rule >= 0) {
    const detail::entity_spec& es = *def.rules[plan->entity_rule].entity;
    const value_alt* id_from = nullptr;
    if (auto e = evaluate(es.id, ctx, ev.entity_id, found, &id_from)) return e;
    if (found) {
      const value_alt* from = nullptr;
      if (auto e = evaluate(es.kind_from, ctx, ev.entity_kind, found, &from)) return e;
      if (!found) ev.entity_kind = es.kind;
      if (ev.entity_kind.empty()) ev.entity_id.clear();
      if (from != nullptr) {
        if (auto e = control_char("the entity kind", ev.entity_kind, from)) return e;
      }
      if (!ev.entity_id.empty()) {
        if (auto e = control_char("the entity id", ev.entity_id, id_from)) return e;
      }
      // Each within max_field_bytes, but together they are index keys (record_format.hpp).
      if (auto over = format::key_overflow(ev.tenant, {}, {}, {}, ev.entity_kind, ev.entity_id);
          !over.empty())
        return make_error(source_errc::bad_value, over,
                          id_from != nullptr ? field_of(*id_from) : std::string("entity id"));
      // hooklog's own records are filed under these kinds (engine/record.hpp): no event may be.
      if (is_reserved_entity_kind(ev.entity_kind)) {
        return make_error(source_errc::bad_value,
                          "the entity kind \"" + ev.entity_kind +
                              "\" is reserved for hooklog's own records (endpoint, replay, key, tree_head)",
                          from != nullptr ? field_of(*from) : std::string("entity kind"));
      }
    }
  }
  if (plan->status_rule >= 0 && !ev.entity_id.empty()) {
    const detail::status_spec& ss = *def.rules[plan->status_rule].status;
    const value_alt* from = nullptr;
    if (auto e = evaluate(ss.to, ctx, ev.status_to, found, &from)) return e;
    if (found) {
      if (auto e = control_char("the status", ev.status_to, from)) return e;
      if (auto e = evaluate(ss.from, ctx, ev.status_from, found, &from)) return e;
      if (found) {
        if (auto e = control_char("the previous status", ev.status_from, from)) return e;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

namespace detail {

result<normalized_event> normalize_with(const source_def& def, const ingest_input& in,
                                        const normalize_limits& lim, bool full_only) {
  // Filled in place and returned by name (every return below returns `out`): the event's nine
  // strings are not moved into the result and again out of a local.
  result<normalized_event> out{normalized_event{}};
  normalized_event& ev = out.value();
  // The fast path: the same checks in one pass, keeping a view of each value read.
  if (!full_only && in.body.size() <= lim.max_body_bytes) {
    watched_fields fields;
    if (fields.scan(in.body, def.read_paths, lim.max_depth)) {
      if (auto e = normalize_body(def, in, lim, body_view{&fields, nullptr}, ev)) {
        out = std::move(*e);
      }
      return out;
    }
  }
  if (auto ok = check_json_bounds(in.body, lim.max_body_bytes, lim.max_depth); !ok) {
    out = ok.err();
    return out;
  }
  auto parsed = parse_json_text(in.body);
  if (!parsed) {
    out = parsed.err();
    return out;
  }
  const json& full = parsed.value();
  if (!full.is_object()) {
    out = make_error(source_errc::not_an_object,
                     "the body must be a JSON object, got " + std::string(json_type_name(full)));
    return out;
  }
  // The parser keeps the last of repeated keys; a receiver's may keep the first. Where hooklog
  // reads a field, the stored body must not mean two things.
  if (auto dup = find_duplicate_key(in.body, def.read_paths)) {
    std::string message = "duplicate key at " + *dup +
                          ": hooklog reads this field and a receiver could read the other copy";
    out = make_error(source_errc::duplicate_key, std::move(message), std::move(*dup));
    return out;
  }
  if (auto e = normalize_body(def, in, lim, body_view{nullptr, &full}, ev)) out = std::move(*e);
  return out;
}

}  // namespace detail

result<normalized_event> source_registry::normalize(const ingest_input& in,
                                                    const normalize_limits& lim) const {
  const detail::source_def* def = find(in.source);
  if (def == nullptr) {
    return make_error(source_errc::unknown_source, "unknown source " + shown(in.source));
  }
  return detail::normalize_with(*def, in, lim);
}

}  // namespace hooklog
