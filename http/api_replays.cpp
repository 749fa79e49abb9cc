// Replay routes: POST /v1/replays, GET /v1/replays, GET /v1/replays/{id},
// DELETE /v1/replays/{id}. The jobs themselves live in replay_manager.hpp.
#include "http/api_internal.hpp"
#include "http/delivery/replay_manager.hpp"
#include "http/idempotency.hpp"
#include "projections/runner.hpp"

namespace hooklog::http::detail {
namespace {

bool manager_ready(call& c) {
  if (c.ctx.replays) return true;
  c.fail(503, "replays_unavailable", "replays are not running in this server");
  return false;
}

// The replay if the caller may see it; otherwise answers 404.
std::optional<replay_info> visible_replay(call& c, const std::string& id) {
  auto r = c.ctx.replays->get(id);
  if (!r || !c.can_see(r->spec.tenant)) {
    c.not_found("replay " + id);
    return std::nullopt;
  }
  return r;
}

}  // namespace

void start_replay(const call_ptr& c, replay_spec spec, std::function<void(const replay_info&)> then,
                  const nlohmann::json* idempotent_body) {
  c->await_projections();
  auto t = c->ctx.runner.store().begin_read();
  if (!t) return c->fail(500, "state_failure", t.err().what());
  auto e = c->ctx.runner.subs().get(*t, spec.endpoint_id);
  if (!e) return c->fail(500, "state_failure", e.err().what());
  if (!*e || !c->can_see((*e)->tenant)) return c->not_found("endpoint " + spec.endpoint_id);
  spec.tenant = (*e)->tenant;  // a replay sends only the endpoint's tenant's events
  if (spec.rate_limit > c->ctx.replays->options().max_rate)
    return c->fail(422, "invalid_replay",
                   "rate_limit: at most " + std::to_string(c->ctx.replays->options().max_rate) +
                       " events per second",
                   {{"field", "rate_limit"}});
  std::optional<idempotency_claim> claim;
  if (idempotent_body) {
    bool answered = false;
    claim = claim_of(*c, "POST /v1/replays", spec.tenant, *idempotent_body, answered);
    if (answered) return;
  }
  const original_fn answer = [c, then](const record& original) {
    auto known = c->ctx.replays->get(original.entity_id);
    if (!known)
      return c->fail(500, "state_failure", "replay " + original.entity_id + " is not loaded");
    then(*known);
  };
  if (claim && answered_if_known(*c, *claim, answer)) return;
  std::function<void(record&)> stamp;
  if (claim) stamp = [claim](record& r) { claim->stamp(r); };
  c->ctx.replays->create(
      std::move(spec),
      [c, then = std::move(then), claim, answer](result<replay_info> r) {
        if (!r) return fail_write(*c, r.err());
        if (r->duplicate) return answer_original(*c, *claim, r->request_seq, answer);
        then(*r);
      },
      std::move(stamp));
}

void create_replay(const call_ptr& c) {
  if (!manager_ready(*c)) return;
  auto body = json_body(*c);
  if (!body) return;
  for (const char* k : {"tenant", "to_seq", "replay_id"})
    if (body->contains(k))
      return c->fail(422, "invalid_replay", std::string(k) + ": is set by the server", {{"field", k}});
  auto spec = replay_spec_from_json(*body);
  if (!spec) {
    const std::string& m = spec.err().message;
    const auto colon = m.find(": ");
    nlohmann::json d = nlohmann::json::object();
    if (!spec.err().field.empty())
      d["field"] = spec.err().field;  // a JSON pointer already (a member the user named)
    else if (colon != std::string::npos)
      d["field"] = m.substr(0, colon);
    return c->fail(422, "invalid_replay", m, d);
  }
  start_replay(
      c, std::move(*spec), [c](const replay_info& r) { c->reply_json(202, to_json(r)); }, &*body);
}

void list_replays(const call_ptr& c) {
  if (!manager_ready(*c)) return;
  auto limit = page_limit(*c);
  if (!limit) return;
  const std::string tenant = c->scope_tenant(c->req.query_param("tenant").value_or(""));
  const std::string endpoint = std::string(c->req.query_param("endpoint_id").value_or(""));
  const std::string state = std::string(c->req.query_param("state").value_or(""));
  const std::string after = std::string(c->req.query_param("cursor").value_or(""));
  auto desc = descending_param(*c);
  if (!desc) return;
  if (auto known = after.empty() ? std::nullopt : c->ctx.replays->get(after);
      !after.empty() && (!known || !c->can_see(known->spec.tenant)))
    return c->fail(400, "bad_parameter", "cursor is not one this server gave",
                   {{"parameter", "cursor"}});
  auto list = c->ctx.replays->list(tenant, endpoint, state, after, *limit + 1, *desc);
  const bool more = list.size() > *limit;
  if (more) list.resize(*limit);
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : list) items.push_back(to_json(r));
  c->reply_json(200, {{"items", std::move(items)},
                      {"next", more ? nlohmann::json(list.back().id) : nlohmann::json()}});
}

void get_replay(const call_ptr& c) {
  if (!manager_ready(*c)) return;
  auto r = visible_replay(*c, c->params[0]);
  if (!r) return;
  c->reply_json(200, to_json(*r));
}

void cancel_replay(const call_ptr& c) {
  if (!manager_ready(*c)) return;
  auto r = visible_replay(*c, c->params[0]);
  if (!r) return;
  if (r->state == "cancelled" || r->state == "failed")
    return c->fail(409, "conflict", "replay " + r->id + " is already " + r->state);
  const auto reason = reason_of(*c, "invalid_replay");
  if (!reason) return;
  c->ctx.replays->cancel(r->id, reason->empty() ? "cancelled by API" : *reason,
                         [c](result<replay_info> x) {
                           if (!x) {
                             if (x.err().message.find("already") != std::string::npos)
                               return c->fail(409, "conflict", x.err().message);
                             return fail_write(*c, x.err());
                           }
                           c->reply_json(200, to_json(*x));
                         });
}

}  // namespace hooklog::http::detail
