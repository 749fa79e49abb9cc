// POST /v1/sources/{source}/events and /v1/sources/{source}/events:batch
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>

#include "engine/json_text.hpp"
#include "http/api_internal.hpp"

namespace hooklog::http::detail {
namespace {

// The number of '\n' in s. memchr (vectorised in libc) jumps from one newline to the next: a
// std::count over the batch body compiled to a byte-at-a-time loop at -O2 (~7,100 instructions
// per 1 KiB event, 6 % of the I/O thread's work on a batch).
std::size_t count_newlines(std::string_view s) {
  std::size_t n = 0;
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (hit == nullptr) break;
    ++n;
    p = static_cast<const char*>(hit) + 1;
  }
  return n;
}

// HTTP status and error code for a normalizer refusal.
std::pair<unsigned, const char*> refusal(const error& e) {
  switch (static_cast<source_errc>(e.code.value())) {
    case source_errc::bad_json: return {400, "bad_json"};
    case source_errc::not_an_object: return {400, "bad_json"};
    case source_errc::body_too_large: return {413, "payload_too_large"};
    case source_errc::too_deep: return {400, "too_deep"};
    case source_errc::missing_field: return {422, "missing_field"};
    case source_errc::wrong_type: return {422, "wrong_type"};
    case source_errc::duplicate_key: return {422, "duplicate_key"};
    case source_errc::bad_value: return {422, "invalid_value"};
    case source_errc::unknown_source: return {404, "unknown_source"};
    default: return {400, "invalid_event"};
  }
}

// details: line and column of a JSON syntax error or of the nesting past the limit, and the
// limit a body went over (`limit`: too_deep, payload_too_large), as json_body() gives them on
// the other routes; what is at fault (engine/source.hpp): `field` (a JSON pointer into the
// body), `parameter` (the URL's type) or `header`.
nlohmann::json refusal_details(const error& e, const normalize_limits& limits) {
  nlohmann::json d = nlohmann::json::object();
  if (e.field == kFieldTypeHint) {
    d["parameter"] = "type";
  } else if (e.field == kFieldIdempotencyKey) {
    d["header"] = e.field;
  } else if (!e.field.empty()) {
    d["field"] = e.field;
  }
  if (e.code == make_error_code(source_errc::body_too_large)) d["limit"] = limits.max_body_bytes;
  if (e.code == make_error_code(source_errc::too_deep)) d["limit"] = limits.max_depth;
  // Only these messages are the parser's or check_json_bounds' own text: another may quote the
  // client's.
  if (e.code != make_error_code(source_errc::bad_json) &&
      e.code != make_error_code(source_errc::too_deep))
    return d;
  int line = 0, column = 0;
  const auto at = e.message.find("line ");
  if (at != std::string::npos &&
      std::sscanf(e.message.c_str() + at, "line %d, column %d", &line, &column) == 2) {
    d["line"] = line;
    d["column"] = column;
  }
  return d;
}

// The batch answer is written directly rather than through nlohmann objects (one DOM object per
// line took ~13% of the server's CPU in a batch run). The bytes are those nlohmann's
// dump(-1, ' ', false, replace) gives for the same document: keys in sorted order, no spaces,
// non-ASCII kept.
void append_json_string(std::string& out, std::string_view s) {
  const bool plain = std::none_of(s.begin(), s.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u >= 0x80 || u == '"' || u == '\\';
  });
  if (!plain) {  // escapes and UTF-8 checks (invalid bytes become U+FFFD) are nlohmann's
    out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out.append(s);
  out += '"';
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// The answer for one stored event (the single ingest's body; with `line`, a batch item).
void append_accepted(std::string& out, const normalized_event& ev, const append_outcome& o,
                     std::optional<std::size_t> line = std::nullopt) {
  out += o.duplicate ? "{\"duplicate\":true,\"entity\":" : "{\"duplicate\":false,\"entity\":";
  if (ev.entity_kind.empty()) {
    out += "null";
  } else {
    out += "{\"id\":";
    append_json_string(out, ev.entity_id);
    out += ",\"kind\":";
    append_json_string(out, ev.entity_kind);
    out += '}';
  }
  out += ",\"id\":\"";  // an event id is plain ASCII: no escapes to check
  append_event_id(out, o.seq);
  out += '"';
  if (line) {
    out += ",\"line\":";
    append_uint(out, *line);
  }
  out += ",\"seq\":";
  append_uint(out, o.seq);
  out += ",\"tenant\":";
  append_json_string(out, ev.tenant);
  out += ",\"type\":";
  append_json_string(out, ev.type);
  out += '}';
}

void append_error_item(std::string& out, const nlohmann::json& err, std::size_t line) {
  out += "{\"error\":";
  out += err.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += ",\"line\":";
  append_uint(out, line);
  out += '}';
}

bool check_content_type(call& c, bool ndjson) {
  const auto ct = content_type_lower(c);  // Application/JSON is JSON
  if (!ct) return true;
  const bool ok =
      ndjson ? (ct->find("ndjson") != std::string::npos || ct->find("json") != std::string::npos ||
                ct->find("text/plain") != std::string::npos)
             : ct->find("json") != std::string::npos;
  if (!ok)
    c.fail(415, "unsupported_media_type",
           ndjson ? "the body must be NDJSON (application/x-ndjson)" : "the body must be application/json");
  return ok;
}

// A duplicate's answer shows the original event (its type, entity, tenant), never the repeat's.
// A repeat sent with an explicit Idempotency-Key must be the same request: the same JSON body
// (whitespace and key order aside) normalized to the same type; otherwise 422
// idempotency_key_reused and nothing is stored. Returns false after answering.
bool original_of_duplicate(call& c, const append_outcome& o, bool explicit_key,
                           normalized_event& ev) {
  auto r = c.ctx.log.get(o.seq);
  if (!r || !*r) {
    c.fail(500, "log_failure", !r ? r.err().what() : "event " + std::to_string(o.seq) + " is gone");
    return false;
  }
  const record& orig = **r;
  if (explicit_key) {
    // The same body as written (same_json_text: numbers as written, repeated keys counted);
    // nlohmann's == took two integers past 2^64, or 0.1 and 0.10000000000000001, for one.
    const bool same_body = same_json_text(orig.body, c.req.body);
    if (orig.kind != record_kind::event_received || !same_body || orig.type != ev.type) {
      c.fail(422, "idempotency_key_reused",
             "Idempotency-Key " + ev.idempotency_key + " was used for event " +
                 event_id_for(o.seq) + " with a different " +
                 (orig.type != ev.type && same_body ? "type" : "body") +
                 "; nothing was stored, use a new key",
             {{"header", "Idempotency-Key"}});
      return false;
    }
  }
  ev.type = orig.type;
  ev.tenant = orig.tenant;
  ev.entity_kind = orig.entity_kind;
  ev.entity_id = orig.entity_id;
  return true;
}

}  // namespace

void ingest_one(const call_ptr& c) {
  const std::string& source = c->params[0];
  if (!c->ctx.sources.has(source)) return c->fail(404, "unknown_source", "no source named " + source);
  if (!check_content_type(*c, false)) return;
  ingest_input in;
  in.source = source;
  in.body = c->req.body;
  in.type_hint = c->req.query_param("type").value_or("");
  in.idempotency_key = c->req.header("idempotency-key").value_or("");
  in.tenant = c->who.admin ? std::string_view{} : std::string_view(c->who.tenant);
  auto ev = c->ctx.sources.normalize(in, c->ctx.options.limits);
  if (!ev) {
    c->ctx.counters.count_refused(1);
    auto [status, code] = refusal(ev.err());
    return c->fail(status, code, ev.err().message,
                   refusal_details(ev.err(), c->ctx.options.limits));
  }
  const bool explicit_key = !in.idempotency_key.empty();
  std::vector<record> one;
  one.push_back(source_registry::to_record(*ev, {}));
  // The request's body becomes the record's (no copy); only a repeat sent with an explicit
  // Idempotency-Key compares it again after the commit (original_of_duplicate), so it keeps one.
  if (explicit_key)
    one.back().body = c->req.body;
  else
    one.back().body = std::move(c->req.body);
  auto evp = std::make_shared<normalized_event>(std::move(*ev));
  c->hold = evp;  // freed with the call, in the I/O thread (reply_from_elsewhere)
  c->ctx.writer.submit(std::move(one), [c = call_ptr(c), evp = evp.get(), explicit_key](
                                           record_sink::outcomes&& out) mutable {
    if (!out[0]) return fail_write(*c, out[0].err());
    if (out[0]->duplicate && !original_of_duplicate(*c, *out[0], explicit_key, *evp)) {
      c->ctx.counters.count_refused(1);
      return;
    }
    c->ctx.counters.count_ingested(out[0]->duplicate ? 0 : 1, out[0]->duplicate ? 1 : 0);
    std::string answer;
    answer.reserve(256);
    append_accepted(answer, *evp, *out[0]);
    call::reply_from_elsewhere(std::move(c), http_response::json(202, std::move(answer)));
  });
}

void ingest_batch(const call_ptr& c) {
  const std::string& source = c->params[0];
  if (!c->ctx.sources.has(source)) return c->fail(404, "unknown_source", "no source named " + source);
  if (!check_content_type(*c, true)) return;
  struct line_result {
    std::size_t line;
    std::optional<normalized_event> ev;
    nlohmann::json error;
  };
  // ?deliver=false: a backfill; the events are stored but never scheduled for
  // delivery (record_flags::kNoDelivery); a replay can send them later.
  bool deliver = true;
  if (auto d = c->req.query_param("deliver")) {
    if (*d != "true" && *d != "false")
      return c->fail(400, "bad_parameter", "deliver must be true or false", {{"parameter", "deliver"}});
    deliver = *d == "true";
  }
  auto results = std::make_shared<std::vector<line_result>>();
  std::vector<record> records;
  const std::string& body = c->req.body;
  const std::size_t lines = count_newlines(body) + (body.empty() || body.back() == '\n' ? 0 : 1);
  if (lines > c->ctx.options.batch_max_lines)
    return c->fail(413, "payload_too_large",
                   "batch of " + std::to_string(lines) + " lines is over the limit of " +
                       std::to_string(c->ctx.options.batch_max_lines) +
                       " lines per request for POST /v1/sources/" + source +
                       "/events:batch; nothing was stored, send it in smaller batches",
                   {{"line_limit", c->ctx.options.batch_max_lines}, {"lines", lines}});
  results->reserve(lines);
  records.reserve(lines);
  const std::string_view type_hint = c->req.query_param("type").value_or("");
  const std::string_view tenant = c->who.admin ? std::string_view{} : std::string_view(c->who.tenant);
  std::size_t pos = 0, line_no = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ingest_input in;
    in.source = source;
    in.body = line;
    in.type_hint = type_hint;
    in.tenant = tenant;
    auto ev = c->ctx.sources.normalize(in, c->ctx.options.limits);
    if (!ev) {
      auto [status, code] = refusal(ev.err());
      nlohmann::json err = {{"code", code}, {"message", ev.err().message}, {"status", status}};
      auto d = refusal_details(ev.err(), c->ctx.options.limits);
      if (!d.empty()) err["details"] = d;
      results->push_back({line_no, std::nullopt, err});
      continue;
    }
    records.push_back(source_registry::to_record(*ev, line));
    if (!deliver) records.back().flags |= record_flags::kNoDelivery;
    results->push_back({line_no, std::move(*ev), nullptr});
  }
  auto finish = [c, results](const record_sink::outcomes& out) {
    // A write that failed for every record (a full storage fails the whole group; a read-only
    // or stopped log, a cluster timeout) is answered as the single route answers it, with its
    // status: not as lines refused for their content.
    if (!out.empty() && std::none_of(out.begin(), out.end(), [](const auto& o) { return bool(o); }))
      return fail_write(*c, out.front().err());
    std::string items;
    items.reserve(results->size() * 160);
    std::size_t stored = 0, dup = 0, refused = 0, k = 0;
    for (auto& r : *results) {
      if (!items.empty()) items += ',';
      if (!r.ev) {
        ++refused;
        append_error_item(items, r.error, r.line);
        continue;
      }
      const auto& o = out[k++];
      if (!o) {  // a write failure of some records only: each says what the single route would
        ++refused;
        const write_failure f = describe_write_failure(o.err());
        append_error_item(items, {{"code", f.code}, {"message", f.message}, {"status", f.status}},
                          r.line);
        continue;
      }
      (o->duplicate ? dup : stored) += 1;
      if (o->duplicate) {  // answered with the original event's type, entity and tenant
        if (auto orig = c->ctx.log.get(o->seq); orig && *orig) {
          r.ev->type = (*orig)->type;
          r.ev->tenant = (*orig)->tenant;
          r.ev->entity_kind = (*orig)->entity_kind;
          r.ev->entity_id = (*orig)->entity_id;
        }
      }
      append_accepted(items, *r.ev, *o, r.line);
    }
    c->ctx.counters.count_ingested(stored, dup);
    c->ctx.counters.count_refused(refused);
    std::string answer = "{\"duplicates\":";
    answer.reserve(items.size() + 80);
    append_uint(answer, dup);
    answer += ",\"items\":[";
    answer += items;
    answer += "],\"refused\":";
    append_uint(answer, refused);
    answer += ",\"stored\":";
    append_uint(answer, stored);
    answer += '}';
    c->reply(http_response::json(200, std::move(answer)));
  };
  if (records.empty()) return finish({});
  c->ctx.writer.submit(std::move(records), [finish](record_sink::outcomes&& out) { finish(out); });
}

}  // namespace hooklog::http::detail
