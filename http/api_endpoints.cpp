// Endpoint routes: create, list, get, update (PATCH), delete, rotate-secret,
// disable, enable. Every change is a log record; reads come from the
// subscriptions projection.
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "engine/bytes.hpp"
#include "engine/json_pointer.hpp"
#include "engine/secret_box.hpp"
#include "engine/time_util.hpp"
#include "http/api_internal.hpp"
#include "http/delivery/delivery_errc.hpp"
#include "http/delivery/endpoint_validation.hpp"
#include "http/delivery/ssrf_guard.hpp"
#include "http/idempotency.hpp"
#include "projections/endpoint.hpp"
#include "projections/runner.hpp"

namespace hooklog::http::detail {
namespace {

using projections::endpoint;

std::string new_endpoint_id() {
  unsigned char raw[8];
  RAND_bytes(raw, sizeof raw);
  return "ep_" + bytes::to_hex(raw, sizeof raw);
}

void fail_invalid(call& c, const error& e) {
  const std::string& m = e.message;
  const auto colon = m.find(": ");
  nlohmann::json d = nlohmann::json::object();
  if (!e.field.empty())
    d["field"] = e.field;  // a JSON pointer already (a member the user named)
  else if (colon != std::string::npos)
    d["field"] = m.substr(0, colon);
  c.fail(422, "invalid_endpoint", m, d);
}

void fail_field(call& c, const field_problem& p) {
  c.fail(422, "invalid_endpoint", p.message, {{"field", p.field}});
}

// The endpoint as answered: secrets hidden unless `with_secret` (create and
// rotate show the new secret once), times in RFC 3339, plus its health.
nlohmann::json endpoint_answer(call& c, const endpoint& e, bool with_secret) {
  nlohmann::json j = projections::to_json(e, false);
  if (with_secret) j["secret"] = e.secret;
  j["created_at"] = format_rfc3339(e.created_at);
  j["updated_at"] = format_rfc3339(e.updated_at);
  // Previous secrets stay listed until the next rotation drops them; "expired" tells those
  // still signing (until valid_until) from those that no longer do.
  nlohmann::json prev = nlohmann::json::array();
  const std::int64_t now = now_micros();
  for (const auto& p : e.previous_secrets)
    prev.push_back(
        {{"valid_until", format_rfc3339(p.valid_until)}, {"expired", p.valid_until <= now}});
  j["previous_secrets"] = std::move(prev);
  if (!e.disabled) j.erase("disabled_reason");
  if (auto t = c.ctx.runner.store().begin_read(); t) {
    if (auto h = c.ctx.runner.subs().health(*t, e.id); h && *h) {
      j["health"] = projections::to_json(**h);
      // Stored as microseconds (0 = never); answered in the API's one time format.
      for (const char* k : {"last_success_at", "last_failure_at"}) {
        const std::int64_t at = j["health"].value(k, std::int64_t{0});
        j["health"][k] = at ? nlohmann::json(format_rfc3339(at)) : nlohmann::json();
      }
    }
  }
  return j;
}

// The endpoint with this id if the caller may see it; otherwise answers 404/500.
std::optional<endpoint> visible_endpoint(call& c, const std::string& id) {
  c.await_projections();
  auto t = c.ctx.runner.store().begin_read();
  if (!t) {
    c.fail(500, "state_failure", t.err().what());
    return std::nullopt;
  }
  auto e = c.ctx.runner.subs().get(*t, id);
  if (!e) {
    c.fail(500, "state_failure", e.err().what());
    return std::nullopt;
  }
  if (!*e || !c.can_see((*e)->tenant)) {
    c.not_found("endpoint " + id);
    return std::nullopt;
  }
  return std::move(**e);
}

record endpoint_record(record_kind kind, const std::string& id, const std::string& tenant,
                       std::string body) {
  record r;
  r.kind = kind;
  r.tenant = tenant;
  r.entity_kind = "endpoint";
  r.entity_id = id;
  r.body = std::move(body);
  return r;
}

// Appends one management record; `then` runs after it is durable. A record with an
// idempotency key that was known is not stored: `then` gets the original's seq, duplicate set.
void write_outcome_then(const call_ptr& c, record r, std::function<void(append_outcome)> then) {
  std::vector<record> one;
  one.push_back(std::move(r));
  c->ctx.writer.submit(std::move(one), [c, then = std::move(then)](record_sink::outcomes&& out) {
    if (!out[0]) return fail_write(*c, out[0].err());
    std::uint64_t prev = c->ctx.last_management_seq.load();
    while (prev < out[0]->seq && !c->ctx.last_management_seq.compare_exchange_weak(prev, out[0]->seq)) {
    }
    then(*out[0]);
  });
}

void write_then(const call_ptr& c, record r, std::function<void(std::uint64_t seq)> then) {
  write_outcome_then(c, std::move(r), [then = std::move(then)](append_outcome o) { then(o.seq); });
}

// Test hook (tests/http/replay_from_test.cpp): HOOKLOG_TEST_FAIL_REPLAY_FROM=N makes the first N
// replays of "replay_from" fail as a failed write would, after the endpoint record is durable
// (what a crash or storage_full between the two records leaves).
bool fail_replay_for_test() {
  static std::atomic<int> left{[] {
    const char* v = std::getenv("HOOKLOG_TEST_FAIL_REPLAY_FROM");
    return v ? std::atoi(v) : 0;
  }()};
  int n = left.load();
  while (n > 0 && !left.compare_exchange_weak(n, n - 1)) {
  }
  return n > 0;
}

// Starts the replay "replay_from" asks for: the endpoint's events from `from` up to its creation
// record `endpoint_seq` (events after it are delivered live). With an Idempotency-Key the replay
// record carries it too (scope "@POST /v1/endpoints replay_from"), so a retry that finds no replay
// (the first call failed or crashed between the two records) creates it once.
void start_replay(const call_ptr& c, const endpoint& ep, std::int64_t from, std::uint64_t endpoint_seq,
                  const std::optional<idempotency_claim>& claim, replay_manager::done_fn done) {
  if (fail_replay_for_test())
    return done(make_error(errc::invalid_record, "replay not created (test hook)"));
  replay_spec spec;
  spec.endpoint_id = ep.id;
  spec.tenant = ep.tenant;
  spec.from = from;
  spec.to_seq = endpoint_seq;
  std::function<void(record&)> stamp;
  if (claim) {
    idempotency_claim r = *claim;
    r.scope += " replay_from";
    stamp = [r](record& rec) { r.stamp(rec); };
  }
  c->ctx.replays->create(std::move(spec), std::move(done), std::move(stamp));
}

// The answer to a repeated creation (Idempotency-Key): the endpoint as created by the
// original record, with its secret of then, and the replay its "replay_from" started; when the
// request asks for one and there is none, it is started now.
void answer_created(const call_ptr& c, const record& original, std::optional<std::int64_t> replay_from,
                    const std::optional<idempotency_claim>& claim) {
  auto body = nlohmann::json::parse(original.body, nullptr, false);
  auto e = body.is_object() ? projections::endpoint_from_json(body)
                            : result<endpoint>(make_error(errc::invalid_record, "not JSON"));
  if (!e)
    return c->fail(500, "state_failure",
                   "the endpoint record " + std::to_string(original.seq) +
                       " cannot be read: " + e.err().what());
  if (auto s = c->ctx.secrets.open_or_plain(e->secret)) e->secret = *s;
  e->created_at = e->updated_at = original.recorded_at;
  nlohmann::json j = endpoint_answer(*c, *e, true);
  if (c->ctx.replays)
    for (const auto& r : c->ctx.replays->list(e->tenant, e->id, "", "", 100))
      if (r.spec.to_seq == original.seq) j["replay"] = to_json(r);
  if (j.contains("replay") || !replay_from || !c->ctx.replays) return c->reply_json(201, j);
  start_replay(c, *e, *replay_from, original.seq, claim,
               [c, j = std::move(j)](result<replay_info> r) mutable {
                 j["replay"] = r ? to_json(*r) : nlohmann::json{{"error", r.err().what()}};
                 c->reply_json(201, j);
               });
}

// The SSRF guard at creation: refuses URLs on loopback, private, link-local or
// metadata addresses unless --allow-private-targets (checked again after DNS
// resolution at every connection). A tenant is told only that the target is not
// allowed; an admin key also sees why (the address class, the server's setting).
bool url_allowed(call& c, const std::string& url) {
  auto r = check_url(url, c.ctx.options.allow_private_targets);
  if (!r) {
    const bool hide = r.code() == delivery_errc::ssrf && !c.who.admin;
    c.fail(422, "invalid_endpoint", "url: " + (hide ? std::string(kTargetNotAllowed) : r.err().what()),
           {{"field", "url"}});
    return false;
  }
  return true;
}

// The per-endpoint quotas (endpoint_quota.hpp); false after answering 422 quota_exceeded.
bool within_quotas(call& c, const endpoint& e, const nlohmann::json* changed) {
  auto b = check_endpoint_quotas(e, c.ctx.options.quotas, changed);
  if (!b) return true;
  c.fail(422, "quota_exceeded", b->message, {{"field", b->field}, {"limit", b->limit}});
  return false;
}

// A place for one more endpoint of `tenant`, held until the creation is written (or failed).
// settle() must run before the answer is sent: a client's next create may arrive before the
// last copy of this slot is destroyed, and must not find the place still held as unwritten.
struct create_slot {
  create_slot(create_slots& s, std::string t) : slots(s), tenant(std::move(t)) {}
  create_slot(const create_slot&) = delete;
  create_slot& operator=(const create_slot&) = delete;
  ~create_slot() { settle(0); }
  // Written at `seq` (counted until the projection has applied it), or 0: not written.
  void settle(std::uint64_t seq) {
    if (settled_.exchange(true)) return;
    slots.written(tenant, seq);
  }
  create_slots& slots;
  std::string tenant;

 private:
  std::atomic<bool> settled_{false};
};

// Reserves a place under the per-tenant endpoint quota; nullptr after answering 422.
std::shared_ptr<create_slot> reserve_endpoint(call& c, const std::string& tenant) {
  c.await_projections();
  const std::size_t max = c.ctx.options.quotas.max_endpoints_per_tenant;
  auto t = c.ctx.runner.store().begin_read();
  auto n = t ? c.ctx.runner.subs().count(*t, tenant, max) : result<std::size_t>(t.err());
  auto applied = t ? c.ctx.runner.checkpoint_in(*t, projections::subscriptions::kName)
                   : result<std::uint64_t>(t.err());
  if (!n || !applied) {
    c.fail(500, "state_failure", (!n ? n.err() : applied.err()).what());
    return nullptr;
  }
  if (c.ctx.endpoint_creates.reserve(tenant, *n, *applied, max))
    return std::make_shared<create_slot>(c.ctx.endpoint_creates, tenant);
  c.fail(422, "quota_exceeded",
         "tenant " + tenant + " has " + std::to_string(max) +
             " endpoints, the limit (--max-endpoints-per-tenant): delete one to create another",
         {{"limit", max}});
  return nullptr;
}

// The optional {"reason": "..."} body of delete, disable and enable; nullopt after answering.

}  // namespace

void create_endpoint(const call_ptr& c) {
  auto body = json_body(*c);
  if (!body) return;
  for (const char* k : {"id", "previous_secrets", "created_at", "updated_at", "health", "disabled_reason"})
    if (body->contains(k)) return c->fail(422, "invalid_endpoint", std::string(k) + ": is set by the server", {{"field", k}});
  bool answered = false;
  const std::string tenant = !c->who.admin
                                 ? c->who.tenant
                                 : (body->contains("tenant") && (*body)["tenant"].is_string()
                                        ? (*body)["tenant"].get<std::string>()
                                        : std::string("default"));
  auto claim = claim_of(*c, "POST /v1/endpoints", tenant, *body, answered);
  if (answered) return;
  // "replay_from": replay this endpoint's history from that time once it exists.
  // Read as a replay request's times are (replay_time_field: within years 1 to 9999), so the
  // replay it starts is one its stored spec gives back at a restart: a time out of that range
  // started a replay that a restart dropped without a word, and 2^64-1 wrapped to -1.
  std::optional<std::int64_t> replay_from;
  if (auto rf = body->find("replay_from"); rf != body->end()) {
    auto t = replay_time_field(*body, "replay_from");
    if (!t) return c->fail(422, "invalid_endpoint", t.err().message, {{"field", "replay_from"}});
    replay_from = *t;
    if (replay_from && !c->ctx.replays)
      return c->fail(503, "replays_unavailable", "replays are not running in this server");
    body->erase(rf);
  }
  const original_fn answer = [c, replay_from, claim](const record& r) {
    answer_created(c, r, replay_from, claim);
  };
  if (claim && answered_if_known(*c, *claim, answer)) return;
  const std::string id = new_endpoint_id();
  (*body)["id"] = id;
  if (!c->who.admin) (*body)["tenant"] = c->who.tenant;
  else if (!body->contains("tenant") || (*body)["tenant"].is_null())
    (*body)["tenant"] = "default";
  else if (const auto& t = (*body)["tenant"]; t.is_string()) {
    // As a key's tenant (api_keys.cpp): "" matched no event (ingest records "default") and no
    // list (?tenant= is every tenant).
    if (auto problem = tenant_name_problem(t.get_ref<const std::string&>()))
      return c->fail(422, "invalid_endpoint", "tenant: " + *problem, {{"field", "tenant"}});
  }
  if (!body->contains("secret") || (*body)["secret"].is_null())
    (*body)["secret"] = generate_secret();
  else if ((*body)["secret"].is_string())
    if (auto p = check_signing_secret((*body)["secret"].get_ref<const std::string&>())) return fail_field(*c, *p);
  auto e = projections::endpoint_from_json(*body);
  if (!e) return fail_invalid(*c, e.err());
  if (auto p = check_endpoint_input(*e)) return fail_field(*c, *p);
  if (!within_quotas(*c, *e, nullptr)) return;
  auto slot = reserve_endpoint(*c, e->tenant);
  if (!slot) return;
  if (!url_allowed(*c, e->url)) return;
  nlohmann::json stored = projections::to_json(*e, true);
  stored["secret"] = c->ctx.secrets.seal(e->secret);
  seal_credentials(stored, c->ctx.secrets);
  auto ep = std::make_shared<endpoint>(std::move(*e));
  record rec = endpoint_record(record_kind::endpoint_created, id, ep->tenant, stored.dump());
  if (claim) claim->stamp(rec);
  write_outcome_then(c, std::move(rec),
                     [c, ep, replay_from, slot, claim, answer](append_outcome o) {
                       if (o.duplicate) {
                         slot->settle(0);
                         return answer_original(*c, *claim, o.seq, answer);
                       }
                       const std::uint64_t seq = o.seq;
                       slot->settle(seq);
                       ep->created_at = ep->updated_at = recorded_at_of(c->ctx, seq);
                       if (!replay_from) return c->reply_json(201, endpoint_answer(*c, *ep, true));
                       start_replay(c, *ep, *replay_from, seq, claim, [c, ep](result<replay_info> r) {
                         nlohmann::json j = endpoint_answer(*c, *ep, true);
                         if (r)
                           j["replay"] = to_json(*r);
                         else
                           j["replay"] = {{"error", r.err().what()}};
                         c->reply_json(201, j);
                       });
                     });
}

namespace {

// A listing's cursor: the sort position of the page's last endpoint, 16 hex digits of its
// created_at (sign bit flipped) then its id, so that the next page starts after that position
// even when that endpoint has been deleted since.
std::string endpoint_cursor(const endpoint& e) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx",
                static_cast<unsigned long long>(static_cast<std::uint64_t>(e.created_at) ^ (1ull << 63)));
  return std::string(b, 16) + e.id;
}

std::optional<std::pair<std::int64_t, std::string>> endpoint_position(std::string_view cursor) {
  if (cursor.size() <= 16 || cursor.substr(0, 16).find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t at = 0;
  std::from_chars(cursor.data(), cursor.data() + 16, at, 16);
  return std::pair{static_cast<std::int64_t>(at ^ (1ull << 63)), std::string(cursor.substr(16))};
}

}  // namespace

// Endpoints are listed in creation order (created_at, then id; newest first with order=desc).
// The projection indexes them by id only, so a page sorts the caller's scope: for a tenant at
// most --max-endpoints-per-tenant. The cursor is the sort position of the previous page's last
// endpoint (endpoint_cursor); a bare endpoint id (the cursors of earlier versions) still works
// while that endpoint exists.
void list_endpoints(const call_ptr& c) {
  auto limit = page_limit(*c);
  if (!limit) return;
  auto desc = descending_param(*c);
  if (!desc) return;
  c->await_projections();
  const std::string tenant = c->scope_tenant(c->req.query_param("tenant").value_or(""));
  const std::string after = std::string(c->req.query_param("cursor").value_or(""));
  auto t = c->ctx.runner.store().begin_read();
  if (!t) return c->fail(500, "state_failure", t.err().what());
  auto list = c->ctx.runner.subs().list(*t, tenant, "", SIZE_MAX);
  if (!list) return c->fail(500, "state_failure", list.err().what());
  // a before b in the listing's order.
  auto before = [&](std::int64_t a_at, const std::string& a_id, std::int64_t b_at, const std::string& b_id) {
    return *desc ? (a_at != b_at ? a_at > b_at : a_id > b_id) : (a_at != b_at ? a_at < b_at : a_id < b_id);
  };
  std::sort(list->begin(), list->end(), [&](const endpoint& a, const endpoint& b) {
    return before(a.created_at, a.id, b.created_at, b.id);
  });
  auto it = list->begin();
  if (!after.empty()) {
    auto pos = endpoint_position(after);
    if (!pos) {
      const auto same = std::find_if(list->begin(), list->end(), [&](const endpoint& e) { return e.id == after; });
      if (same != list->end()) pos = std::pair{same->created_at, same->id};
    }
    if (!pos)
      return c->fail(400, "bad_parameter", "cursor is not one this server gave",
                     {{"parameter", "cursor"}});
    it = std::find_if(list->begin(), list->end(), [&](const endpoint& e) {
      return before(pos->first, pos->second, e.created_at, e.id);
    });
  }
  nlohmann::json items = nlohmann::json::array();
  const std::size_t left = static_cast<std::size_t>(list->end() - it);
  const bool more = left > *limit;
  const auto end = it + static_cast<std::ptrdiff_t>(std::min(left, *limit));
  for (auto i = it; i != end; ++i) items.push_back(endpoint_answer(*c, *i, false));
  nlohmann::json next = more ? nlohmann::json(endpoint_cursor(*(end - 1))) : nlohmann::json();
  c->reply_json(200, {{"items", std::move(items)}, {"next", next}});
}

void get_endpoint(const call_ptr& c) {
  auto e = visible_endpoint(*c, c->params[0]);
  if (!e) return;
  c->reply_json(200, endpoint_answer(*c, *e, false));
}

void get_endpoint_secret(const call_ptr& c) {
  auto e = visible_endpoint(*c, c->params[0]);
  if (!e) return;
  auto open = [&](const std::string& v) -> std::optional<std::string> {
    auto s = c->ctx.secrets.open_or_plain(v);
    if (s) return std::move(*s);
    c->fail(500, "state_failure",
            "the secret of endpoint " + e->id +
                " cannot be opened (another master key?): " + s.err().what());
    return std::nullopt;
  };
  auto current = open(e->secret);
  if (!current) return;
  // Only previous secrets that still sign (until expires_at); expired ones are left out.
  nlohmann::json prev = nlohmann::json::array();
  const std::int64_t now = now_micros();
  for (const auto& p : e->previous_secrets) {
    if (p.valid_until <= now) continue;
    auto s = open(p.secret);
    if (!s) return;
    prev.push_back({{"secret", *s}, {"expires_at", format_rfc3339(p.valid_until)}});
  }
  c->reply_json(200, {{"id", e->id}, {"secret", *current}, {"previous_secrets", std::move(prev)}});
}

void update_endpoint(const call_ptr& c) {
  auto patch = json_body(*c);
  if (!patch) return;
  // A credential sent back as the "***" a GET shows means "unchanged": the stored one stays.
  if (auto a = patch->find("auth"); a != patch->end() && a->is_object())
    for (const char* k : {"password", "token", "value"})
      if (auto f = a->find(k);
          f != a->end() && f->is_string() && f->get_ref<const std::string&>() == "***")
        a->erase(f);
  auto current = visible_endpoint(*c, c->params[0]);
  if (!current) return;
  for (const char* k : {"id", "tenant", "secret", "previous_secrets", "created_at", "updated_at",
                        "health", "disabled", "disabled_reason"})
    if (patch->contains(k))
      return c->fail(422, "invalid_endpoint",
                     std::string(k) + ": cannot be changed by PATCH (use rotate-secret, enable or disable)",
                     {{"field", k}});
  nlohmann::json merged = projections::to_json(*current, true);
  merged.merge_patch(*patch);  // RFC 7386: null removes a field (back to its default)
  for (const char* k : {"previous_secrets", "created_at", "updated_at", "health", "disabled",
                        "disabled_reason"})
    merged.erase(k);
  auto e = projections::endpoint_from_json(merged);
  if (!e) return fail_invalid(*c, e.err());
  input_scope scope;
  scope.secret = false;
  scope.kept_sealed = open_stored_credentials(*e, *patch, c->ctx.secrets);
  if (auto p = check_endpoint_input(*e, scope)) return fail_field(*c, *p);
  if (!within_quotas(*c, *e, &*patch)) return;
  if (patch->contains("url") && !url_allowed(*c, e->url)) return;
  nlohmann::json stored = projections::to_json(*e, true);
  seal_credentials(stored, c->ctx.secrets);
  stored.erase("secret");  // unchanged: the projection keeps the current one
  stored.erase("previous_secrets");
  auto ep = std::make_shared<endpoint>(std::move(*e));
  ep->created_at = current->created_at;
  ep->disabled = current->disabled;
  ep->disabled_reason = current->disabled_reason;
  ep->previous_secrets = current->previous_secrets;  // still signing (the answer showed none)
  write_then(c, endpoint_record(record_kind::endpoint_updated, ep->id, ep->tenant, stored.dump()),
             [c, ep](std::uint64_t seq) {
               ep->updated_at = recorded_at_of(c->ctx, seq);
               c->reply_json(200, endpoint_answer(*c, *ep, false));
             });
}

void delete_endpoint(const call_ptr& c) {
  const auto reason = reason_of(*c, "invalid_endpoint");
  if (!reason) return;
  auto current = visible_endpoint(*c, c->params[0]);
  if (!current) return;
  const std::string id = current->id;
  write_then(c,
             endpoint_record(record_kind::endpoint_deleted, id, current->tenant,
                             nlohmann::json{{"reason", *reason}}.dump()),
             [c, id](std::uint64_t seq) {
               c->reply_json(200, {{"id", id}, {"deleted", true}, {"seq", seq}});
             });
}

void rotate_secret(const call_ptr& c) {
  auto current = visible_endpoint(*c, c->params[0]);
  if (!current) return;
  auto body = json_body(*c, true);
  if (!body || !only_members(*c, *body, {"secret", "overlap_seconds"}, "invalid_endpoint")) return;
  nlohmann::json& j = *body;
  std::string secret = generate_secret();
  if (j.contains("secret")) {
    if (!j["secret"].is_string())
      return fail_field(*c, {"/secret", "/secret: must be a string (whsec_ followed by base64 of 24 to 64 bytes)"});
    if (auto p = check_signing_secret(j["secret"].get_ref<const std::string&>())) return fail_field(*c, *p);
    secret = j["secret"];
  }
  std::int64_t overlap_s = c->ctx.options.rotation_overlap.count();
  if (j.contains("overlap_seconds")) {
    // At most ten years: a bound that keeps now + overlap far inside the microsecond clock.
    constexpr std::int64_t kMaxOverlapS = 315'576'000;  // 10 × 365.25 days
    const auto& o = j["overlap_seconds"];
    if (!o.is_number_integer() ||
        (o.is_number_unsigned() && o.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxOverlapS)) ||
        o.get<std::int64_t>() < 0 || o.get<std::int64_t>() > kMaxOverlapS)
      return c->fail(422, "invalid_endpoint",
                     "overlap_seconds: must be a whole number from 0 to " + std::to_string(kMaxOverlapS) +
                         " (ten years)",
                     {{"field", "overlap_seconds"}});
    overlap_s = o.get<std::int64_t>();
  }
  const std::int64_t until = now_micros() + overlap_s * 1'000'000;
  const std::string id = current->id;
  write_then(c,
             endpoint_record(record_kind::secret_rotated, id, current->tenant,
                             nlohmann::json{{"secret", c->ctx.secrets.seal(secret)},
                                            {"previous_valid_until", until}}
                                 .dump()),
             [c, id, secret, until](std::uint64_t) {
               c->reply_json(200, {{"id", id},
                                   {"secret", secret},
                                   {"previous_valid_until", format_rfc3339(until)}});
             });
}

namespace {
void set_disabled(const call_ptr& c, bool disabled) {
  const auto given = reason_of(*c, "invalid_endpoint");
  if (!given) return;
  auto current = visible_endpoint(*c, c->params[0]);
  if (!current) return;
  const std::string reason = *given;
  const std::string id = current->id;
  auto ep = std::make_shared<endpoint>(std::move(*current));
  write_then(
      c,
      endpoint_record(
          disabled ? record_kind::endpoint_disabled : record_kind::endpoint_enabled, id, ep->tenant,
          nlohmann::json{{"reason", reason.empty() && disabled ? "disabled by API" : reason}}
              .dump()),
      [c, ep, disabled, reason](std::uint64_t seq) {
        ep->disabled = disabled;
        ep->disabled_reason = disabled ? (reason.empty() ? "disabled by API" : reason) : "";
        ep->updated_at = recorded_at_of(c->ctx, seq);
        c->reply_json(200, endpoint_answer(*c, *ep, false));
      });
}
}  // namespace

void disable_endpoint(const call_ptr& c) { set_disabled(c, true); }
void enable_endpoint(const call_ptr& c) { set_disabled(c, false); }

}  // namespace hooklog::http::detail
