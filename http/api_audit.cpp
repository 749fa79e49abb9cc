// Audit and catalog routes: event types, events (pages or NDJSON), one event
// with its attempts, entity timelines, attempts, verify and head.
#include <charconv>
#include <cstdio>

#include "engine/bytes.hpp"
#include "engine/time_util.hpp"
#include "http/api_internal.hpp"
#include "http/page_cursor.hpp"
#include "projections/attempt.hpp"
#include "projections/runner.hpp"

namespace hooklog::http::detail {
namespace {

constexpr std::size_t kStreamChunkRecords = 512;

bool wants_ndjson(const call& c) {
  auto a = c.req.header("accept");
  return a && a->find("application/x-ndjson") != std::string_view::npos;
}

// A scan refused a cursor (400) or the log failed (500).
void fail_scan(call& c, const error& e) {
  if (e.code == make_error_code(errc::invalid_record))
    c.fail(400, "bad_parameter", e.what(), {{"parameter", "cursor"}});
  else
    c.fail(500, "log_failure", e.what());
}

// A failure with no next attempt ends the delivery (attempt.hpp).
bool is_dead(const nlohmann::json& a) {
  if (a.value("outcome", "") != "failure") return false;
  const auto it = a.find("next_attempt_at");
  return a.value("dead_letter", false) || it == a.end() || it->is_null();
}

// ?cursor= opened for this caller into the scan position it holds (page_cursor.hpp); false after
// answering 400 when it is not a cursor this server gave to this caller's scope.
bool read_cursor(call& c, std::string& after) {
  auto position =
      open_cursor(c.ctx.secrets, cursor_scope(c.who), c.req.query_param("cursor").value_or(""));
  if (!position) {
    c.fail(400, "bad_parameter",
           "cursor is not one this server gave to this key (a cursor is bound to the key's "
           "tenant, or to admin keys)",
           {{"parameter", "cursor"}});
    return false;
  }
  after = std::move(*position);
  return true;
}

// Builds the event query from the request; false after answering 400.
bool event_query(call& c, scan_query& q) {
  q.kind = record_kind::event_received;
  std::optional<std::int64_t> from, to;
  if (!time_param(c, "from", from) || !time_param(c, "to", to)) return false;
  const std::string time = std::string(c.req.query_param("time").value_or("recorded"));
  if (time == "recorded") {
    q.recorded_from = from;
    q.recorded_to = to;
  } else if (time == "occurred") {
    q.occurred_from = from;
    q.occurred_to = to;
  } else {
    c.fail(400, "bad_parameter", "time must be recorded or occurred", {{"parameter", "time"}});
    return false;
  }
  q.type = std::string(c.req.query_param("type").value_or(""));
  // An exact type, a prefix glob (`job.*`) or `*`: a `*` elsewhere matched nothing, silently.
  if (const auto star = q.type.find('*'); star != std::string::npos && star + 1 != q.type.size()) {
    c.fail(400, "bad_parameter",
           "type '" + q.type + "' has a '*' before its end: a type is exact, a prefix ending in "
           "'*' (job.*) or '*'",
           {{"parameter", "type"}});
    return false;
  }
  q.source = std::string(c.req.query_param("source").value_or(""));
  q.tenant = c.scope_tenant(c.req.query_param("tenant").value_or(""));
  q.entity_kind = std::string(c.req.query_param("entity_kind").value_or(""));
  q.entity_id = std::string(c.req.query_param("entity_id").value_or(""));
  if (q.entity_kind.empty() != q.entity_id.empty()) {
    c.fail(400, "bad_parameter", "entity_kind and entity_id go together",
           {{"parameter", q.entity_kind.empty() ? "entity_kind" : "entity_id"}});
    return false;
  }
  auto desc = descending_param(c);
  if (!desc) return false;
  q.descending = *desc;
  return read_cursor(c, q.after);
}

// Streams every matching record as NDJSON, a bounded chunk per producer call (at most
// kStreamChunkRecords records, at most the scan limit examined), each chunk from its own short
// read transaction.
void stream_records(const call_ptr& c, scan_query q,
                    std::function<nlohmann::json(const record_view&)> render) {
  q.examine_limit = c->ctx.options.scan_limit;
  auto state = std::make_shared<scan_query>(std::move(q));
  auto done = std::make_shared<bool>(false);
  stream_response s;
  s.producer = [c, state, done, render](std::string& chunk) {
    if (*done) return false;
    std::size_t n = 0;
    std::string last;
    scan_stop stop;
    auto r = c->ctx.log.scan(
        *state,
        [&](const record_view& v, std::string_view pos) {
          chunk += render(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
          chunk += '\n';
          last = pos;
          return ++n < kStreamChunkRecords;
        },
        &stop);
    if (!r) {
      chunk += nlohmann::json{{"error", {{"code", "log_failure"}, {"message", r.err().what()}}}}.dump();
      chunk += '\n';
      return false;
    }
    if (stop.bounded) {  // an empty chunk is "call again": the next one goes on from there
      state->after = std::move(stop.resume);
      return true;
    }
    if (n < kStreamChunkRecords) return false;
    state->after = last;
    return true;
  };
  c->observe(200);
  c->res.stream(std::move(s));
}

// {"items", "next", "prev"}: `next` continues in the page's order; `prev` (pages reached with a
// cursor) is the first item's position: as the cursor with the opposite order it gives the items
// before this page, nearest first.
// Both are sealed for the caller (page_cursor.hpp).
nlohmann::json page_json(const call& c, nlohmann::json items, bool more, const std::string& first,
                         const std::string& last, bool had_cursor) {
  const bool back = had_cursor && !first.empty();
  const std::string scope = cursor_scope(c.who);
  return {
      {"items", std::move(items)},
      {"next", more ? nlohmann::json(seal_cursor(c.ctx.secrets, scope, last)) : nlohmann::json()},
      {"prev", back ? nlohmann::json(seal_cursor(c.ctx.secrets, scope, first)) : nlohmann::json()}};
}

// A page stopped by the scan limit (scan_stop) has more to come from where the walk stopped:
// `next` is that position, past every record the page examined.
void bounded_page(const scan_stop& stop, bool& more, std::string& last) {
  if (!stop.bounded) return;
  more = true;
  last = stop.resume;
}

void page_of_records(const call_ptr& c, scan_query q, std::size_t limit,
                     const std::function<nlohmann::json(const record_view&)>& render) {
  nlohmann::json items = nlohmann::json::array();
  std::string first, last;
  bool more = false;
  q.examine_limit = c->ctx.options.scan_limit;
  scan_stop stop;
  auto r = c->ctx.log.scan(
      q,
      [&](const record_view& v, std::string_view pos) {
        if (items.size() == limit) {
          more = true;
          return false;
        }
        items.push_back(render(v));
        if (first.empty()) first = pos;
        last = pos;
        return true;
      },
      &stop);
  if (!r) return fail_scan(*c, r.err());
  bounded_page(stop, more, last);
  c->reply_json(200, page_json(*c, std::move(items), more, first, last, !q.after.empty()));
}

nlohmann::json attempt_json(const record_view& v) {
  nlohmann::json j;
  auto a = projections::attempt_from_json(v.body);
  if (a) {
    j = projections::to_json(*a);
    // What the dispatcher records beside the attempt (delivery/dispatcher.cpp): the answer's
    // headers as [name, value] pairs, and whether the body was longer than the excerpt.
    const auto raw = nlohmann::json::parse(v.body, nullptr, false);
    if (raw.is_object()) {
      if (auto h = raw.find("response_headers"); h != raw.end() && h->is_array())
        j["response_headers"] = *h;
      if (auto t = raw.find("response_truncated"); t != raw.end() && t->is_boolean() && *t)
        j["response_truncated"] = true;
    }
    // The record keeps up to the dispatcher's excerpt_limit (4096 bytes); the answer shows the
    // first kMaxResponseExcerpt of them, and says so.
    if (a->response_excerpt.size() > projections::kMaxResponseExcerpt) j["response_truncated"] = true;
  } else {
    j = {{"endpoint_id", v.entity_id}, {"event_seq", v.ref_seq}, {"malformed", true}};
  }
  j["seq"] = v.seq;
  j["event_id"] = event_id_for(v.ref_seq);
  j["event_type"] = v.type;
  j["tenant"] = v.tenant;
  j["recorded_at"] = format_rfc3339(v.recorded_at);
  if (a && a->next_attempt_at) j["next_attempt_at"] = format_rfc3339(*a->next_attempt_at);
  return j;
}

}  // namespace

void list_event_types(const call_ptr& c) {
  nlohmann::json items = nlohmann::json::array();
  const auto source = c->req.query_param("source");
  for (const auto& e : c->ctx.sources.catalog()) {
    if (source && *source != e.source) continue;
    items.push_back({{"type", e.type}, {"source", e.source}, {"description", e.description}});
  }
  c->reply_json(200, {{"items", std::move(items)}, {"next", nullptr}});
}

void list_events_now(const call_ptr& c);

void list_events(const call_ptr& c) {
  after_min_seq(c, [c] { list_events_now(c); });
}

void list_events_now(const call_ptr& c) {
  scan_query q;
  if (!event_query(*c, q)) return;
  auto render = [](const record_view& v) { return event_json(v, false); };
  if (wants_ndjson(*c)) {
    auto full = [](const record_view& v) { return event_json(v, true); };
    return stream_records(c, std::move(q), full);
  }
  auto limit = page_limit(*c);
  if (!limit) return;
  page_of_records(c, q, *limit, render);
}

void get_event_now(const call_ptr& c);

void get_event(const call_ptr& c) {
  after_min_seq(c, [c] { get_event_now(c); });
}

void get_event_now(const call_ptr& c) {
  auto seq = seq_from_event_id(c->params[0]);
  if (!seq) return c->not_found("event " + c->params[0]);
  auto r = c->ctx.log.get(*seq);
  if (!r) return c->fail(500, "log_failure", r.err().what());
  if (!*r || (*r)->kind != record_kind::event_received || !c->can_see((*r)->tenant))
    return c->not_found("event " + c->params[0]);
  const record& rec = **r;
  nlohmann::json j = event_json(rec.view(), true);
  j["hash"] = bytes::to_hex(rec.chain_hash.data(), 32);

  scan_query aq;
  aq.ref_seq = *seq;
  aq.kind = record_kind::delivery_attempt;
  nlohmann::json attempts = nlohmann::json::array();
  std::map<std::string, nlohmann::json> deliveries;
  auto n = c->ctx.log.scan(aq, [&](const record_view& a, std::string_view) {
    nlohmann::json aj = attempt_json(a);
    auto& d = deliveries[std::string(a.entity_id)];
    if (d.is_null()) d = {{"endpoint_id", a.entity_id}, {"attempts", 0}};
    d["attempts"] = d["attempts"].get<int>() + 1;
    d["last_status"] = aj.value("status", 0);
    d["last_attempt_at"] = aj["recorded_at"];
    const bool ok = aj.value("outcome", "") == "success";
    d["state"] = ok ? "delivered" : (is_dead(aj) ? "dead_letter" : "retrying");
    attempts.push_back(std::move(aj));
    return attempts.size() < 10000;
  });
  if (!n) return c->fail(500, "log_failure", n.err().what());
  nlohmann::json dl = nlohmann::json::array();
  for (auto& [id, d] : deliveries) dl.push_back(std::move(d));
  j["deliveries"] = std::move(dl);
  j["attempts"] = std::move(attempts);
  c->reply_json(200, j);
}

namespace {

// A timeline page's cursor: 32 hex digits, the last transition's occurred_at (sign bit flipped,
// so the digits sort as the times do) and seq, each as 16.
std::string timeline_cursor(const projections::transition& t) {
  char b[33];
  std::snprintf(b, sizeof b, "%016llx%016llx",
                static_cast<unsigned long long>(static_cast<std::uint64_t>(t.occurred_at) ^ (1ull << 63)),
                static_cast<unsigned long long>(t.seq));
  return std::string(b, 32);
}

std::optional<projections::timeline_position> timeline_position_of(std::string_view cursor) {
  if (cursor.size() != 32 || cursor.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t occurred = 0, seq = 0;
  std::from_chars(cursor.data(), cursor.data() + 16, occurred, 16);
  std::from_chars(cursor.data() + 16, cursor.data() + 32, seq, 16);
  return projections::timeline_position{static_cast<std::int64_t>(occurred ^ (1ull << 63)), seq};
}

}  // namespace

void get_timeline_now(const call_ptr& c);

void get_timeline(const call_ptr& c) {
  after_min_seq(c, [c] { get_timeline_now(c); });
}

void get_timeline_now(const call_ptr& c) {
  const std::string& kind = c->params[0];
  const std::string& id = c->params[1];
  // A page of at most ?limit= transitions (default and largest: --max-page), from the earliest
  // or after ?cursor=; `next` continues (null on the last page).
  std::size_t limit = c->ctx.options.max_page;
  if (c->req.query_param("limit")) {
    auto l = page_limit(*c);
    if (!l) return;
    limit = *l;
  }
  std::optional<projections::timeline_position> after;
  if (const auto cur = c->req.query_param("cursor"); cur && !cur->empty()) {
    after = timeline_position_of(*cur);
    if (!after)
      return c->fail(400, "bad_parameter", "cursor is not one this server gave",
                     {{"parameter", "cursor"}});
  }
  std::string tenant = c->scope_tenant(c->req.query_param("tenant").value_or(""));
  if (tenant.empty()) {
    // An admin without ?tenant=: the tenant of the entity's first event.
    scan_query q;
    q.entity_kind = kind;
    q.entity_id = id;
    q.kind = record_kind::event_received;
    auto n = c->ctx.log.scan(q, [&](const record_view& v, std::string_view) {
      tenant = std::string(v.tenant);
      return false;
    });
    if (!n) return c->fail(500, "log_failure", n.err().what());
    if (tenant.empty()) return c->not_found("entity " + kind + " " + id);
  }
  c->ctx.runner.wait_applied(c->ctx.log.committed_seq(), std::chrono::seconds(2));
  auto tl = c->ctx.runner.read_timeline(tenant, kind, id, limit, after);
  if (!tl) return c->fail(500, "state_failure", tl.err().what());
  if (!*tl) return c->not_found("entity " + kind + " " + id);
  nlohmann::json tr = nlohmann::json::array();
  for (const auto& x : (*tl)->transitions) tr.push_back(projections::to_json(x));
  const bool more = (*tl)->more && !(*tl)->transitions.empty();
  c->reply_json(200, {{"kind", kind},
                      {"id", id},
                      {"tenant", tenant},
                      {"current_status", (*tl)->current_status},
                      {"transitions", std::move(tr)},
                      {"next", more ? nlohmann::json(timeline_cursor((*tl)->transitions.back()))
                                    : nlohmann::json()}});
}

void list_attempts(const call_ptr& c) {
  scan_query q;
  q.kind = record_kind::delivery_attempt;
  std::optional<std::int64_t> from, to;
  if (!time_param(*c, "from", from) || !time_param(*c, "to", to)) return;
  q.recorded_from = from;
  q.recorded_to = to;
  q.tenant = c->scope_tenant(c->req.query_param("tenant").value_or(""));
  if (auto ep = c->req.query_param("endpoint_id")) {
    q.entity_kind = "endpoint";
    q.entity_id = std::string(*ep);
  } else {
    q.entity_kind = "endpoint";  // every endpoint's attempts, via the entity index
  }
  const std::string outcome = std::string(c->req.query_param("outcome").value_or(""));
  if (!outcome.empty() && outcome != "success" && outcome != "failure" && outcome != "dead_letter")
    return c->fail(400, "bad_parameter", "outcome must be success, failure or dead_letter",
                   {{"parameter", "outcome"}});
  auto desc = descending_param(*c);
  if (!desc) return;
  q.descending = *desc;
  if (!read_cursor(*c, q.after)) return;
  auto limit = page_limit(*c);
  if (!limit) return;
  q.examine_limit = c->ctx.options.scan_limit;  // records skipped by `outcome` count too
  nlohmann::json items = nlohmann::json::array();
  std::string first, last;
  bool more = false;
  scan_stop stop;
  auto r = c->ctx.log.scan(
      q,
      [&](const record_view& v, std::string_view pos) {
        nlohmann::json a = attempt_json(v);
        if (outcome == "dead_letter" ? !is_dead(a)
                                     : (!outcome.empty() && a.value("outcome", "") != outcome)) {
          last = pos;  // skipped records are behind the cursor too
          return true;
        }
        if (items.size() == *limit) {
          more = true;
          return false;
        }
        items.push_back(std::move(a));
        if (first.empty()) first = pos;
        last = pos;
        return true;
      },
      &stop);
  if (!r) return fail_scan(*c, r.err());
  bounded_page(stop, more, last);
  c->reply_json(200, page_json(*c, std::move(items), more, first, last, !q.after.empty()));
}

void audit_verify(const call_ptr& c) {
  std::uint64_t from = 1, to = UINT64_MAX;
  for (auto [name, out] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
    auto v = c->req.query_param(name);
    if (!v) continue;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), *out);
    if (ec != std::errc() || p != v->data() + v->size() || v->empty())
      return c->fail(400, "bad_parameter", std::string(name) + " must be a sequence number",
                     {{"parameter", name}});
  }
  if (from == 0)
    return c->fail(400, "bad_parameter", "from must be a sequence number of 1 or more",
                   {{"parameter", "from"}});
  if (from > to)  // an empty range would answer ok with nothing checked
    return c->fail(400, "bad_parameter",
                   "from (" + std::to_string(from) + ") is greater than to (" + std::to_string(to) +
                       "): the range would check nothing",
                   {{"parameter", "from"}});
  // The same for a from given past the head (without one, an empty log answers ok, 0 checked).
  if (const std::uint64_t head = c->ctx.log.head().seq; c->req.query_param("from") && from > head)
    return c->fail(400, "bad_parameter",
                   "from (" + std::to_string(from) + ") is past the log's last record (" +
                       std::to_string(head) + "): the range would check nothing",
                   {{"parameter", "from"}, {"head", head}});
  auto rep = c->ctx.log.verify(from, to);
  if (!rep) return c->fail(500, "log_failure", rep.err().what());
  nlohmann::json j = {{"ok", rep->ok},
                      {"from", rep->from},
                      {"to", rep->to},
                      {"checked", rep->checked},
                      {"head_hash", bytes::to_hex(rep->head_hash.data(), 32)}};
  if (!rep->ok) j["first_bad"] = {{"seq", rep->first_bad_seq}, {"problem", rep->problem}};
  c->reply_json(200, j);
}

void audit_head(const call_ptr& c) {
  const log_head h = c->ctx.log.head();
  nlohmann::json j = {{"seq", h.seq}, {"hash", bytes::to_hex(h.chain_hash.data(), 32)}};
  if (h.seq) {
    auto r = c->ctx.log.get(h.seq);
    if (r && *r) j["recorded_at"] = format_rfc3339((*r)->recorded_at);
  }
  c->reply_json(200, j);
}

}  // namespace hooklog::http::detail
