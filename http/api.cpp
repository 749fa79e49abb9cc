#include "http/api.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "engine/cluster/cluster_errc.hpp"
#include "engine/json_pointer.hpp"
#include "engine/json_text.hpp"
#include "engine/time_util.hpp"
#include "http/api_internal.hpp"
#include "http/min_seq_waiter.hpp"
#include "http/query_params.hpp"
#include "http/refusal_log.hpp"
#include "http/route_match.hpp"
#include "projections/runner.hpp"

namespace hooklog::http {

namespace detail {

void call::reply(http_response r) {
  observe(r.status, r.body);
  res(std::move(r));
}

void call::reply_from_elsewhere(call_ptr&& self, http_response r) {
  self->observe(r.status, r.body);
  const responder res = self->res;
  res(std::move(r), std::move(self));
}

void call::observe(unsigned status, std::string_view body) {
  observe_answer(ctx, *route, req, status, body, started);
}

void observe_answer(api_context& ctx, const std::string& route, const http_request& req,
                    unsigned status, std::string_view body,
                    std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ctx.counters.observe_request(route, req.method, status, seconds);
  if (status < 400) return;
  log_refusal(status, body,
              {{"method", req.method},
               {"route", route},
               {"path", req.path.substr(0, 256)},
               {"duration_ms", std::round(seconds * 1e6) / 1000}});
}

void call::reply_json(unsigned status, const nlohmann::json& body) {
  reply(http_response::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

namespace {
// A body field named the way messages name it ("filter.all[0].value", "url") as the JSON pointer
// `details.field` carries ("/filter/all/0/value", "/url"); a pointer is kept as it is.
std::string field_pointer(std::string_view name) {
  if (name.empty() || name.front() == '/') return std::string(name);
  std::string out = "/";
  for (const char ch : name) {
    if (ch == '.' || ch == '[') {
      if (out.back() != '/') out += '/';
    } else if (ch == ']') {
      continue;
    } else if (ch == '~') {
      out += "~0";
    } else if (ch == '/') {
      out += "~1";
    } else {
      out += ch;
    }
  }
  return out;
}
}  // namespace

void call::fail(unsigned status, std::string_view code, std::string_view message,
                const nlohmann::json& details) {
  // One convention for every route: details.field is a JSON pointer into the request body.
  if (details.is_object() && details.contains("field") && details["field"].is_string()) {
    nlohmann::json d = details;
    d["field"] = field_pointer(details["field"].get_ref<const std::string&>());
    return reply(json_error(status, code, message, d));
  }
  reply(json_error(status, code, message, details));
}

void call::not_found(std::string_view what) {
  fail(404, "not_found", std::string(what) + " was not found");
}

std::string call::scope_tenant(std::string_view requested) const {
  return who.admin ? std::string(requested) : who.tenant;
}

void call::await_projections() {
  const std::uint64_t seq = ctx.last_management_seq.load();
  if (seq) ctx.runner.wait_applied(seq, std::chrono::seconds(2));
}

std::optional<std::string> content_type_lower(const call& c) {
  auto value = c.req.header("content-type");
  if (!value) return std::nullopt;
  std::string ct(*value);
  std::transform(ct.begin(), ct.end(), ct.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ct;
}

std::optional<nlohmann::json> json_body(call& c, bool empty_is_object) {
  if (empty_is_object && c.req.body.empty()) return nlohmann::json::object();
  if (auto ct = content_type_lower(c); ct && ct->find("json") == std::string::npos) {
    c.fail(415, "unsupported_media_type", "the body must be application/json");
    return std::nullopt;
  }
  const normalize_limits& lim = c.ctx.options.limits;
  auto j = parse_bounded_json(c.req.body, lim.max_body_bytes, lim.max_depth);
  if (!j) {
    const error& e = j.err();
    nlohmann::json d = nlohmann::json::object();
    if (const auto at = e.message.find(" at line "); at != std::string::npos) {
      int line = 0, column = 0;
      if (std::sscanf(e.message.c_str() + at, " at line %d, column %d", &line, &column) == 2) {
        d["line"] = line;
        d["column"] = column;
      }
    }
    if (e.code == make_error_code(source_errc::body_too_large)) {
      d["limit"] = lim.max_body_bytes;
      c.fail(413, "payload_too_large", "request " + e.message + " bytes", d);
    } else if (e.code == make_error_code(source_errc::too_deep)) {
      d["limit"] = lim.max_depth;
      c.fail(400, "too_deep", e.message, d);
    } else {
      // Not the parser's quote of what it read ("; last read: '...'"): a management body holds
      // secrets (an auth token, a webhook secret with a stray newline), and the message goes to
      // the answer and the refusal log. The line and column say where.
      std::string message = e.message;
      if (const auto quote = message.find("; last read: "); quote != std::string::npos)
        message.erase(quote);
      else if (const auto lit = message.find(" '");
               lit != std::string::npos && message.find("number") != std::string::npos)
        message.erase(lit);
      c.fail(400, "bad_json", message, d);
    }
    return std::nullopt;
  }
  if (!j->is_object()) {
    c.fail(400, "bad_json", std::string("the body must be a JSON object, got ") + j->type_name());
    return std::nullopt;
  }
  // The parser keeps a repeated key's last copy, another reader its first: {"tenant":"x",
  // "tenant":null} read as null issued an admin key where a first-wins check saw a tenant.
  if (auto dup = find_any_duplicate_key(c.req.body)) {
    c.fail(422, "duplicate_key",
           "duplicate key at " + *dup + ": a key may appear once in an object", {{"field", *dup}});
    return std::nullopt;
  }
  return std::move(*j);
}

bool only_members(call& c, const nlohmann::json& body,
                  std::initializer_list<std::string_view> allowed, std::string_view code) {
  for (auto it = body.begin(); it != body.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      std::string names;
      for (const auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      c.fail(422, code, it.key() + ": unknown field (this request takes " + names + ")",
             {{"field", "/" + json_pointer::escape(it.key())}});
      return false;
    }
  return true;
}

std::optional<std::string> reason_of(call& c, std::string_view code) {
  auto j = json_body(c, true);
  if (!j || !only_members(c, *j, {"reason"}, code)) return std::nullopt;
  auto it = j->find("reason");
  if (it == j->end() || it->is_null()) return std::string();
  if (!it->is_string() || it->get_ref<const std::string&>().size() > 1024) {
    c.fail(422, code, "reason: must be a string of at most 1024 bytes", {{"field", "reason"}});
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::int64_t recorded_at_of(const api_context& ctx, std::uint64_t seq) {
  return ctx.log.recorded_at(seq).value_or(now_micros());
}

std::optional<std::string> tenant_name_problem(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > 256)
    return "must be a non-empty string of at most 256 bytes";
  if (find_control_char(tenant) != std::string::npos)
    return "must not hold control characters (U+0000 to U+001F, U+007F)";
  return std::nullopt;
}

std::optional<std::size_t> page_limit(call& c) {
  auto v = c.req.query_param("limit");
  if (!v) return std::size_t{100};
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n == 0 || n > c.ctx.options.max_page) {
    c.fail(400, "bad_parameter",
           "limit must be a whole number from 1 to " + std::to_string(c.ctx.options.max_page),
           {{"parameter", "limit"}});
    return std::nullopt;
  }
  return n;
}

bool time_param(call& c, std::string_view name, std::optional<std::int64_t>& out) {
  auto v = c.req.query_param(name);
  if (!v || v->empty()) return true;
  if (auto t = parse_rfc3339(*v)) {
    out = *t;
    return true;
  }
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec == std::errc() && p == v->data() + v->size()) {
    out = n;
    return true;
  }
  c.fail(400, "bad_parameter",
         std::string(name) + " must be an RFC 3339 time (2024-02-10T00:37:34Z) or microseconds",
         {{"parameter", name}});
  return false;
}

void after_min_seq(const call_ptr& c, std::function<void()> then) {
  auto v = c->req.query_param("min_seq");
  if (!v) return then();
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || n == 0)
    return c->fail(400, "bad_parameter",
                   "min_seq must be a positive integer (a seq a write answered)",
                   {{"parameter", "min_seq"}});
  const auto not_reached = [c, n](std::uint64_t at, bool waited) {
    auto r =
        json_error(503, "min_seq_not_reached",
                   "this node has applied the log up to seq " + std::to_string(at) + ", not yet " +
                       std::to_string(n) +
                       (waited ? " (waited " + std::to_string(kMinSeqWait.count() / 1000) + " s)"
                               : std::string()) +
                       "; retry",
                   {{"parameter", "min_seq"}, {"applied_seq", at}});
    r.headers.emplace_back("Retry-After", "1");
    c->reply(std::move(r));
  };
  const std::uint64_t at = c->ctx.log.applied_seq();
  if (at >= n) return then();
  if (!c->ctx.min_seq) return not_reached(at, false);
  c->ctx.min_seq->wait(n, min_seq_waiter::clock::now() + kMinSeqWait,
                       [c, n, not_reached, then = std::move(then)](std::uint64_t applied) {
                         // Off api::dispatch's try: an exception here would end the waiter's
                         // thread (and the process); answered as dispatch answers it.
                         try {
                           if (applied >= n) return then();
                           not_reached(applied, true);
                         } catch (const std::exception& e) {
                           if (!c->res.answered()) c->fail(500, "internal_error", e.what());
                         }
                       });
}

bool storage_full(const error& e) {
  return e.code == make_error_code(errc::map_full) || e.code == make_error_code(errc::storage_full);
}

write_failure describe_write_failure(const error& e) {
  if (storage_full(e))  // nothing of the failed group is stored: the client may send it later
    return {503, "storage_full",
            "the log cannot take writes now, its storage is full; nothing was stored, retry "
            "later: " + e.what(),
            kStorageFullRetryAfterSeconds};
  if (e.code.category() == cluster::cluster_category())
    // Cluster mode: the stream did not acknowledge in time, or this node has not applied it yet.
    return {503, "cluster_unavailable",
            "the cell's stream did not complete the write in time; it may have been stored: "
            "retry (with the same idempotency key): " + e.what(),
            1};
  if (e.code == make_error_code(errc::writer_stopped) || e.code == make_error_code(errc::read_only))
    return {503, "log_unavailable", "the log cannot take writes now: " + e.what(), 0};
  return {500, "log_failure", e.what(), 0};
}

void fail_write(call& c, const error& e) {
  const write_failure f = describe_write_failure(e);
  auto r = json_error(f.status, f.code, f.message);
  if (f.retry_after_seconds > 0)
    r.headers.emplace_back("Retry-After", std::to_string(f.retry_after_seconds));
  c.reply(std::move(r));
}

nlohmann::json entity_json(std::string_view kind, std::string_view id) {
  if (kind.empty()) return nullptr;
  return {{"kind", kind}, {"id", id}};
}

nlohmann::json event_json(const record_view& v, bool include_body) {
  nlohmann::json j = {{"id", event_id_for(v.seq)},
                      {"seq", v.seq},
                      {"source", v.source},
                      {"type", v.type},
                      {"tenant", v.tenant},
                      {"occurred_at", format_rfc3339(v.occurred_at)},
                      {"recorded_at", format_rfc3339(v.recorded_at)},
                      {"entity", entity_json(v.entity_kind, v.entity_id)},
                      {"mode", v.flags & record_flags::kTestMode ? "test" : "live"},
                      {"cataloged", !(v.flags & record_flags::kUncataloged)}};
  if (!v.status_to.empty() || !v.status_from.empty())
    j["status"] = {{"from", v.status_from.empty() ? nlohmann::json() : nlohmann::json(v.status_from)},
                   {"to", v.status_to}};
  else
    j["status"] = nullptr;
  if (!v.native_id.empty()) j["native_id"] = v.native_id;
  if (!v.idempotency_key.empty()) j["idempotency_key"] = v.idempotency_key;
  if (include_body) j["body"] = v.body;
  return j;
}

}  // namespace detail

namespace {

using detail::call;
using detail::call_ptr;

enum class access { none, any, admin };

struct route {
  const char* method;
  const char* pattern;  // segments; "{}" is a parameter
  access who;
  void (*fn)(const call_ptr&);
};

const route kRoutes[] = {
    {"GET", "/healthz", access::none, detail::healthz},
    {"GET", "/readyz", access::none, detail::readyz},
    {"GET", "/metrics", access::admin, detail::metrics_text},  // keyless on --metrics-listen
    {"POST", "/v1/sources/{}/events", access::any, detail::ingest_one},
    {"POST", "/v1/sources/{}/events:batch", access::any, detail::ingest_batch},
    {"GET", "/v1/event-types", access::any, detail::list_event_types},
    {"GET", "/v1/events", access::any, detail::list_events},
    {"GET", "/v1/events/{}", access::any, detail::get_event},
    {"GET", "/v1/entities/{}/{}/timeline", access::any, detail::get_timeline},
    {"GET", "/v1/attempts", access::any, detail::list_attempts},
    {"GET", "/v1/audit/verify", access::admin, detail::audit_verify},
    {"GET", "/v1/audit/head", access::admin, detail::audit_head},
    {"GET", "/v1/audit/heads/latest", access::admin, detail::latest_head},
    {"POST", "/v1/audit/heads", access::admin, detail::publish_head},
    {"GET", "/v1/audit/public-key", access::any, detail::head_public_key},
    {"GET", "/v1/audit/proofs/inclusion", access::any, detail::inclusion_proof},
    {"GET", "/v1/audit/proofs/consistency", access::admin, detail::consistency_proof},
    {"GET", "/v1/admin/snapshot", access::admin, detail::admin_snapshot},
    {"POST", "/v1/endpoints", access::any, detail::create_endpoint},
    {"GET", "/v1/endpoints", access::any, detail::list_endpoints},
    {"GET", "/v1/endpoints/{}", access::any, detail::get_endpoint},
    {"GET", "/v1/endpoints/{}/secret", access::any, detail::get_endpoint_secret},
    {"PATCH", "/v1/endpoints/{}", access::any, detail::update_endpoint},
    {"DELETE", "/v1/endpoints/{}", access::any, detail::delete_endpoint},
    {"POST", "/v1/endpoints/{}/rotate-secret", access::any, detail::rotate_secret},
    {"POST", "/v1/endpoints/{}/disable", access::any, detail::disable_endpoint},
    {"POST", "/v1/endpoints/{}/enable", access::any, detail::enable_endpoint},
    {"POST", "/v1/replays", access::any, detail::create_replay},
    {"GET", "/v1/replays", access::any, detail::list_replays},
    {"GET", "/v1/replays/{}", access::any, detail::get_replay},
    {"DELETE", "/v1/replays/{}", access::any, detail::cancel_replay},
    {"POST", "/v1/keys", access::admin, detail::create_key},
    {"GET", "/v1/keys", access::admin, detail::list_keys},
    {"DELETE", "/v1/keys/{}", access::admin, detail::revoke_key},
    {"GET", "/v1/whoami", access::any, detail::whoami},
    {"GET", "/console", access::none, detail::serve_console_index},  // also /console/
    {"GET", "/console/{}", access::none, detail::serve_console_file},
};

// kRoutes' patterns split into segments, once (match_route would split each per request).
const std::vector<std::vector<std::string_view>>& route_segments() {
  static const auto split = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const auto& r : kRoutes) out.push_back(split_path(r.pattern));
    return out;
  }();
  return split;
}

// kRoutes' patterns as strings, once, for call::route (the metrics' label): the pattern was
// copied into a string per request.
const std::vector<std::string>& route_names() {
  static const auto names = [] {
    std::vector<std::string> out;
    for (const auto& r : kRoutes) out.emplace_back(r.pattern);
    return out;
  }();
  return names;
}

}  // namespace

const std::string detail::call::kUnmatched = "unmatched";

void api::handle(http_request&& req, responder res) {
  dispatch(std::move(req), std::move(res), false);
}

void api::handle_ops(http_request&& req, responder res) {
  dispatch(std::move(req), std::move(res), true);
}

namespace {

// The methods a path answers, for the Allow header of a 405: those of every route whose
// pattern matches, with HEAD wherever GET is (RFC 9110 section 15.5.6).
std::string allowed_methods(std::span<const std::string_view> segments) {
  std::string out;
  std::vector<std::string> ignored;
  const auto& patterns = route_segments();
  for (std::size_t i = 0; i < std::size(kRoutes); ++i) {
    const route& r = kRoutes[i];
    if (!match_route(patterns[i], segments, ignored)) continue;
    if (!out.empty()) out += ", ";
    out += r.method;
    if (std::string_view(r.method) == "GET") out += ", HEAD";
  }
  return out;
}

// The credentials of `Authorization: Bearer <key>`: the scheme is case-insensitive
// (RFC 9110 section 11.1), one or more spaces follow it. nullopt when there is no such header
// or it names another scheme.
std::optional<std::string_view> bearer_token(const http_request& req) {
  auto h = req.header("authorization");
  if (!h) return std::nullopt;
  const auto sp = h->find(' ');
  if (sp == std::string_view::npos || !iequals(h->substr(0, sp), "bearer")) return std::nullopt;
  std::string_view token = h->substr(sp);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

constexpr const char* kRealm = "Bearer realm=\"hooklog\"";

// What api::dispatch decides before a handler runs, from the request's head alone: the route,
// its parameters, the caller's key; or the refusal (404, 405, 401, 403, 415 for a body in a
// Content-Encoding, 400 bad_parameter).
struct admission {
  const route* found = nullptr;
  std::size_t found_at = 0;  // kRoutes' index of `found`
  std::vector<std::string> params;
  principal who;
  std::optional<http_response> refusal;
};

// hooklog decodes no content coding (RFC 9110 section 8.4): a body sent gzip'ed, or in any
// coding but identity, would be read as JSON and refused as bad_json ("last read: '<U+001F>'").
// Answered 415 naming the coding instead, with Accept-Encoding: identity (section 15.5.16).
std::optional<http_response> unsupported_coding(const http_request& req) {
  const auto coding = req.header("content-encoding");
  if (!coding || coding->empty() || iequals(*coding, "identity")) return std::nullopt;
  const std::string shown(coding->substr(0, 64));
  auto r = json_error(415, "unsupported_media_type",
                      "Content-Encoding " + shown +
                          " is not supported: send the body uncompressed (identity)",
                      {{"header", "Content-Encoding"}, {"encoding", shown}});
  r.headers.emplace_back("Accept-Encoding", "identity");
  return r;
}

// has_body: a body follows the head (a Content-Length over 0, or chunked) or was read.
admission admit(api_context& ctx, const http_request& req, bool ops_listener, bool has_body) {
  admission a;
  const auto refuse = [&a](unsigned status, std::string_view code, std::string_view message,
                           const nlohmann::json& details = nlohmann::json::object()) {
    a.refusal = json_error(status, code, message, details);
  };
  const path_segments split = split_path_segments(req.path);
  const auto segments = split.segments();
  bool path_known = false;
  // HEAD is answered wherever GET is, by the GET handler; the server sends no body.
  const std::string_view method = req.method == "HEAD" ? "GET" : std::string_view(req.method);
  const auto& patterns = route_segments();
  for (std::size_t i = 0; i < std::size(kRoutes) && !split.over; ++i) {
    const route& r = kRoutes[i];
    if (!match_route(patterns[i], segments, a.params)) continue;
    path_known = true;
    if (method == r.method) {
      a.found = &r;
      a.found_at = i;
      break;
    }
  }
  const route* found = a.found;
  const bool ops_route = found && (found->fn == detail::metrics_text ||
                                   found->fn == detail::healthz || found->fn == detail::readyz);
  if (ops_listener && !ops_route) {
    a.found = nullptr;  // counted as unmatched
    refuse(404, "not_found", "this listener serves only GET /metrics, /healthz and /readyz");
    return a;
  }
  if (!found) {
    if (!path_known) {
      refuse(404, "not_found", "no route for " + req.path);
      return a;
    }
    refuse(405, "method_not_allowed", "method " + req.method + " is not allowed on " + req.path);
    a.refusal->headers.emplace_back("Allow", allowed_methods(segments));
    return a;
  }
  if (found->who != access::none && !ops_listener) {
    const auto bearer = bearer_token(req);
    auto p = ctx.keys.authenticate(bearer.value_or(std::string_view{}));
    if (!p) {
      // RFC 6750 section 3: the challenge, with error="invalid_token" for a key that is wrong.
      const bool wrong_key = bearer && !bearer->empty();
      refuse(401, "unauthorized",
             wrong_key                        ? "the API key is not valid"
             : req.header("authorization") ? "the Authorization header must be Bearer <key>"
                                           : "an API key is required: Authorization: Bearer <key>");
      a.refusal->headers.emplace_back(
          "WWW-Authenticate",
          wrong_key ? std::string(kRealm) + ", error=\"invalid_token\"" : kRealm);
      return a;
    }
    a.who = std::move(*p);
    if (found->who == access::admin && !a.who.admin) {
      refuse(403, "forbidden", "this route needs an admin key");
      return a;
    }
    // Ingest-only keys may only ingest, and only for their source.
    if (!a.who.ingest_source.empty()) {
      const bool ingest = found->fn == detail::ingest_one || found->fn == detail::ingest_batch;
      if (!ingest || a.params.empty() || a.params[0] != a.who.ingest_source) {
        refuse(403, "forbidden", "this key may only ingest events of source " + a.who.ingest_source);
        return a;
      }
    }
  }
  if (has_body) {
    if ((a.refusal = unsupported_coding(req))) return a;
  }
  if (auto q = check_query(found->method, found->pattern, req.query))
    refuse(400, "bad_parameter", q->message, {{"parameter", q->parameter}, {"allowed", q->allowed}});
  return a;
}

}  // namespace

std::optional<http_response> api::check_head(const http_request& head, bool ops_listener) {
  const auto started = std::chrono::steady_clock::now();
  admission a = admit(ctx_, head, ops_listener, true);
  if (!a.refusal) return std::nullopt;
  detail::observe_answer(ctx_, a.found ? route_names()[a.found_at] : detail::call::kUnmatched,
                         head, a.refusal->status, a.refusal->body, started);
  return std::move(a.refusal);
}

void api::dispatch(http_request&& req, responder res, bool ops_listener) {
  auto c = std::make_shared<call>(ctx_, std::move(req), std::move(res));
  admission a = admit(ctx_, c->req, ops_listener, !c->req.body.empty());
  if (a.found) c->route = &route_names()[a.found_at];
  if (a.refusal) return c->reply(std::move(*a.refusal));
  c->params = std::move(a.params);
  c->who = std::move(a.who);
  try {
    a.found->fn(c);
  } catch (const std::exception& e) {
    if (!c->res.answered()) c->fail(500, "internal_error", e.what());
  }
}

}  // namespace hooklog::http
