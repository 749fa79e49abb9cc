#include "projections/subscriptions.hpp"

#include <algorithm>
#include <cstdio>

#include "engine/logger.hpp"
#include "projections/attempt.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

namespace {
std::string tenant_key(std::string_view tenant, std::string_view id) {
  std::string k;
  keys::put_part(k, tenant);
  k.append(id);
  return k;
}

std::string health_to_state(const endpoint_health& h) { return to_json(h).dump(); }

std::optional<endpoint_health> health_from_state(std::string_view s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  endpoint_health h;
  h.consecutive_failures = j.value("consecutive_failures", std::uint64_t{0});
  h.last_success_at = j.value("last_success_at", std::int64_t{0});
  h.last_failure_at = j.value("last_failure_at", std::int64_t{0});
  h.last_status = j.value("last_status", 0);
  h.last_error = j.value("last_error", std::string());
  h.last_attempt_seq = j.value("last_attempt_seq", std::uint64_t{0});
  return h;
}

std::string body_reason(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto it = j.find("reason");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

// A dispatcher's disable judged the endpoint as it was when the attempt started
// ("endpoint_updated_at" in the body): when the endpoint changed since (a PATCH of its URL, an
// enable, a rotated secret), the answer came from what was replaced, and the disable is stale.
// Records without the field (written before it) apply as they always did.
bool stale_disable(std::string_view body, std::int64_t updated_at) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return false;
  const auto at = j.find("endpoint_updated_at");
  return at != j.end() && at->is_number_integer() && at->get<std::int64_t>() != updated_at;
}
}  // namespace

result<void> subscriptions::skip(const record_view& r, const error& why) {
  ++skipped_;
  logging::warn("projection.skipped", "an endpoint record was skipped",
                {{"seq", r.seq}, {"endpoint_id", std::string(r.entity_id)}, {"reason", why.what()}});
  return {};
}

nlohmann::json to_json(const endpoint_health& h) {
  return {{"consecutive_failures", h.consecutive_failures},
          {"last_success_at", h.last_success_at},
          {"last_failure_at", h.last_failure_at},
          {"last_status", h.last_status},
          {"last_error", h.last_error},
          {"last_attempt_seq", h.last_attempt_seq}};
}

result<void> subscriptions::open(state_store& s, lmdb::txn& t) {
  auto a = s.open_db(t, "sub_endpoints");
  if (!a) return a.err();
  auto b = s.open_db(t, "sub_by_tenant");
  if (!b) return b.err();
  auto c = s.open_db(t, "sub_health");
  if (!c) return c.err();
  endpoints_ = *a;
  by_tenant_ = *b;
  health_ = *c;
  return {};
}

result<void> subscriptions::load(lmdb::txn& t) {
  matcher_.clear();
  disabled_.clear();
  health_cache_.clear();
  auto c = lmdb::cursor::open(t, endpoints_);
  if (!c) return c.err();
  for (auto kv = c->first(); ; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
    auto e = endpoint_from_state((*kv)->second);
    if (!e) {
      logging::error("projection.error", "an endpoint in the state is not loaded",
                     {{"endpoint_id", std::string((*kv)->first)}, {"reason", e.err().what()}});
      continue;
    }
    disabled_[e->id] = e->disabled;
    matcher_.upsert(*e);
  }
  return {};
}

subscriptions::status subscriptions::endpoint_status(std::string_view id) const {
  auto it = disabled_.find(std::string(id));
  if (it == disabled_.end()) return status::absent;
  return it->second ? status::disabled : status::enabled;
}

result<std::optional<endpoint>> subscriptions::load_endpoint(lmdb::txn& t, std::string_view id) const {
  auto v = endpoints_.get(t, id);
  if (!v) return v.err();
  if (!*v) return std::optional<endpoint>{};
  auto e = endpoint_from_state(**v);
  if (!e) return std::optional<endpoint>{};
  return std::optional<endpoint>(std::move(*e));
}

result<void> subscriptions::put_endpoint(lmdb::txn& t, const endpoint& e) {
  if (auto r = endpoints_.put(t, e.id, endpoint_to_state(e)); !r) return r;
  if (auto r = by_tenant_.put(t, tenant_key(e.tenant, e.id), ""); !r) return r;
  disabled_[e.id] = e.disabled;
  matcher_.upsert(e);
  return {};
}

result<endpoint_health*> subscriptions::cached_health(lmdb::txn& t, std::string_view id) {
  auto it = health_cache_.find(std::string(id));
  if (it == health_cache_.end()) {
    auto v = health_.get(t, id);
    if (!v) return v.err();
    std::optional<endpoint_health> h;
    if (*v) h = health_from_state(**v);
    if (!h) h = endpoint_health{};
    it = health_cache_.emplace(std::string(id), std::move(h)).first;
  }
  if (!it->second) it->second = endpoint_health{};
  return &*it->second;
}

result<void> subscriptions::apply(lmdb::txn& t, const record_view& r) {
  switch (r.kind) {
    case record_kind::endpoint_created: {
      auto e = endpoint_from_json_text(r.body);
      if (!e) return skip(r, e.err());
      if (!r.entity_id.empty()) e->id = std::string(r.entity_id);
      if (!valid_endpoint_id(e->id)) { ++skipped_; return {}; }
      e->tenant = std::string(r.tenant);
      e->created_at = e->updated_at = r.recorded_at;
      auto old = load_endpoint(t, e->id);
      if (!old) return old.err();
      if (*old && (*old)->tenant != e->tenant)
        if (auto d = by_tenant_.del(t, tenant_key((*old)->tenant, e->id)); !d) return d.err();
      return put_endpoint(t, *e);
    }
    case record_kind::endpoint_updated: {
      auto old = load_endpoint(t, r.entity_id);
      if (!old) return old.err();
      auto e = endpoint_from_json_text(r.body);
      if (!e) return skip(r, e.err());
      if (!*old) { ++skipped_; return {}; }
      const endpoint& o = **old;
      e->id = o.id;
      e->tenant = o.tenant;
      e->created_at = o.created_at;
      e->updated_at = r.recorded_at;
      if (e->secret.empty()) e->secret = o.secret;
      e->previous_secrets = o.previous_secrets;
      e->disabled = o.disabled;
      e->disabled_reason = o.disabled_reason;
      return put_endpoint(t, *e);
    }
    case record_kind::endpoint_deleted: {
      auto old = load_endpoint(t, r.entity_id);
      if (!old) return old.err();
      if (!*old) return {};
      if (auto d = endpoints_.del(t, r.entity_id); !d) return d.err();
      if (auto d = by_tenant_.del(t, tenant_key((*old)->tenant, r.entity_id)); !d) return d.err();
      if (auto d = health_.del(t, r.entity_id); !d) return d.err();
      health_cache_.erase(std::string(r.entity_id));
      disabled_.erase(std::string(r.entity_id));
      matcher_.remove(r.entity_id);
      return {};
    }
    case record_kind::endpoint_disabled:
    case record_kind::endpoint_enabled: {
      auto old = load_endpoint(t, r.entity_id);
      if (!old) return old.err();
      if (!*old) return {};
      if (r.kind == record_kind::endpoint_disabled && stale_disable(r.body, (*old)->updated_at))
        return {};
      endpoint e = std::move(**old);
      e.updated_at = r.recorded_at;
      if (r.kind == record_kind::endpoint_disabled) {
        e.disabled = true;
        e.disabled_reason = body_reason(r.body);
      } else {
        e.disabled = false;
        e.disabled_reason.clear();
        auto h = cached_health(t, e.id);
        if (!h) return h.err();
        (*h)->consecutive_failures = 0;
      }
      return put_endpoint(t, e);
    }
    case record_kind::secret_rotated: {
      auto old = load_endpoint(t, r.entity_id);
      if (!old) return old.err();
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (!*old || !j.is_object() || !j.contains("secret") || !j["secret"].is_string()) {
        ++skipped_;
        return {};
      }
      endpoint e = std::move(**old);
      std::int64_t until = r.recorded_at;
      if (auto it = j.find("previous_valid_until"); it != j.end() && it->is_number_integer())
        until = it->get<std::int64_t>();
      std::erase_if(e.previous_secrets,
                    [&](const previous_secret& p) { return p.valid_until <= r.recorded_at; });
      if (!e.secret.empty() && until > r.recorded_at) e.previous_secrets.push_back({e.secret, until});
      e.secret = j["secret"].get<std::string>();
      e.updated_at = r.recorded_at;
      return put_endpoint(t, e);
    }
    case record_kind::delivery_attempt: {
      if (endpoint_status(r.entity_id) == status::absent) return {};
      const auto& a = attempt_of(r.body);
      if (!a) { ++skipped_; return {}; }
      auto h = cached_health(t, r.entity_id);
      if (!h) return h.err();
      endpoint_health& hh = **h;
      if (a->success) {
        hh.consecutive_failures = 0;
        hh.last_success_at = r.recorded_at;
      } else {
        ++hh.consecutive_failures;
        hh.last_failure_at = r.recorded_at;
        hh.last_error = a->error;
      }
      hh.last_status = a->status;
      hh.last_attempt_seq = r.seq;
      return {};
    }
    default: return {};
  }
}

result<void> subscriptions::flush(lmdb::txn& t) {
  for (auto& [id, h] : health_cache_) {
    if (!h) continue;
    if (auto r = health_.put(t, id, health_to_state(*h)); !r) return r;
  }
  health_cache_.clear();
  return {};
}

result<std::optional<endpoint>> subscriptions::get(lmdb::txn& t, std::string_view id) const {
  return load_endpoint(t, id);
}

result<std::size_t> subscriptions::count(lmdb::txn& t, std::string_view tenant,
                                         std::size_t stop_at) const {
  std::string prefix;
  keys::put_part(prefix, tenant);
  auto c = lmdb::cursor::open(t, by_tenant_);
  if (!c) return c.err();
  std::size_t n = 0;
  for (auto kv = c->seek(prefix); n < stop_at; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    ++n;
  }
  return n;
}

result<std::vector<endpoint>> subscriptions::list(lmdb::txn& t, std::string_view tenant,
                                                  std::string_view after, std::size_t limit) const {
  std::vector<endpoint> out;
  if (tenant.empty()) {
    auto c = lmdb::cursor::open(t, endpoints_);
    if (!c) return c.err();
    auto kv = after.empty() ? c->first() : c->seek(after);
    for (; out.size() < limit; kv = c->next()) {
      if (!kv) return kv.err();
      if (!*kv) break;
      if ((*kv)->first == after) continue;
      auto e = endpoint_from_state((*kv)->second);
      if (e) out.push_back(std::move(*e));
    }
    return out;
  }
  std::string prefix;
  keys::put_part(prefix, tenant);
  auto c = lmdb::cursor::open(t, by_tenant_);
  if (!c) return c.err();
  auto kv = c->seek(prefix + std::string(after));
  for (; out.size() < limit; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    auto id = (*kv)->first.substr(prefix.size());
    if (id == after) continue;
    auto e = load_endpoint(t, id);
    if (!e) return e.err();
    if (*e) out.push_back(std::move(**e));
  }
  return out;
}

result<std::optional<endpoint_health>> subscriptions::health(lmdb::txn& t, std::string_view id) const {
  auto v = health_.get(t, id);
  if (!v) return v.err();
  if (!*v) return std::optional<endpoint_health>{};
  return health_from_state(**v);
}

}  // namespace hooklog::projections
