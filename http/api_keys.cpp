// API keys (admin only): issue, list, revoke. The key itself is shown once.
// GET /v1/whoami (any key): the caller's own key id, admin or tenant.
#include "engine/json_pointer.hpp"
#include "engine/time_util.hpp"
#include "http/api_internal.hpp"
#include "http/idempotency.hpp"

namespace hooklog::http::detail {
namespace {

nlohmann::json key_json(const key_info& k) {
  nlohmann::json j = {{"id", k.id},
                      {"tenant", k.tenant.empty() ? nlohmann::json() : nlohmann::json(k.tenant)},
                      {"admin", k.admin},
                      {"revoked", k.revoked},
                      {"issued_at", format_rfc3339(k.issued_at)}};
  if (!k.ingest_source.empty()) j["ingest_source"] = k.ingest_source;
  return j;
}

}  // namespace

void create_key(const call_ptr& c) {
  auto body = json_body(*c);
  if (!body) return;
  for (auto it = body->begin(); it != body->end(); ++it)
    if (it.key() != "tenant" && it.key() != "ingest_source")
      return c->fail(422, "invalid_key",
                     it.key() +
                         ": unknown field (a key has tenant and ingest_source; "
                         "omit tenant for an admin key)",
                     {{"field", "/" + json_pointer::escape(it.key())}});
  key_info k;
  k.id = key_store::new_id();
  if (auto t = body->find("tenant"); t != body->end() && !t->is_null()) {
    const auto problem =
        t->is_string()
            ? tenant_name_problem(t->get_ref<const std::string&>())
            : std::optional<std::string>("must be a non-empty string of at most 256 bytes");
    if (problem) return c->fail(422, "invalid_key", "tenant: " + *problem, {{"field", "tenant"}});
    k.tenant = *t;
  }
  if (auto s = body->find("ingest_source"); s != body->end() && !s->is_null()) {
    if (!s->is_string() || !c->ctx.sources.has(s->get<std::string>()))
      return c->fail(422, "invalid_key", "ingest_source: must name a loaded source",
                     {{"field", "ingest_source"}});
    if (k.tenant.empty())
      return c->fail(422, "invalid_key", "ingest_source: an ingest key needs a tenant",
                     {{"field", "tenant"}});
    k.ingest_source = *s;
  }
  k.admin = k.tenant.empty();
  // A repeat (Idempotency-Key) answers the key issued first, without the key itself: the
  // log keeps only its hash (revoke it and issue another if the first answer was lost).
  bool answered = false;
  auto claim = claim_of(*c, "POST /v1/keys", k.tenant, *body, answered);
  if (answered) return;
  const original_fn answer = [c](const record& r) {
    auto known = c->ctx.keys.find(r.entity_id);
    if (!known) return c->fail(500, "state_failure", "key " + r.entity_id + " is not loaded");
    nlohmann::json j = key_json(*known);
    c->reply_json(201, j);
  };
  if (claim && answered_if_known(*c, *claim, answer)) return;
  const std::string key = key_store::new_key();
  std::vector<record> one{key_store::issue_record(k, key_store::hash(key))};
  if (claim) claim->stamp(one[0]);
  c->ctx.writer.submit(std::move(one),
                       [c, k, key, claim, answer](record_sink::outcomes&& out) mutable {
                         if (!out[0]) return fail_write(*c, out[0].err());
                         if (out[0]->duplicate)
                           return answer_original(*c, *claim, out[0]->seq, answer);
                         record r = key_store::issue_record(k, key_store::hash(key));
                         r.seq = out[0]->seq;
                         r.recorded_at = recorded_at_of(c->ctx, r.seq);
                         c->ctx.keys.apply(r);
                         k.issued_at = r.recorded_at;
                         nlohmann::json j = key_json(k);
                         j["key"] = key;
                         c->reply_json(201, j);
                       });
}

void list_keys(const call_ptr& c) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& k : c->ctx.keys.list()) items.push_back(key_json(k));
  c->reply_json(200, {{"items", std::move(items)}, {"next", nullptr}});
}

void revoke_key(const call_ptr& c) {
  auto k = c->ctx.keys.find(c->params[0]);
  if (!k) return c->not_found("key " + c->params[0]);
  if (k->revoked) return c->reply_json(200, key_json(*k));  // nothing to write
  std::vector<record> one{key_store::revoke_record(*k)};
  c->ctx.writer.submit(std::move(one), [c, k = *k](record_sink::outcomes&& out) mutable {
    if (!out[0]) return fail_write(*c, out[0].err());
    c->ctx.keys.apply(key_store::revoke_record(k));
    k.revoked = true;
    c->reply_json(200, key_json(k));
  });
}

void whoami(const call_ptr& c) {
  // The caller's own key, as the console shows it ("config": the --admin-key key).
  c->reply_json(200, {{"key_id", c->who.key_id},
                      {"admin", c->who.admin},
                      {"tenant", c->who.admin ? nlohmann::json() : nlohmann::json(c->who.tenant)}});
}

}  // namespace hooklog::http::detail
