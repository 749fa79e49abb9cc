#pragma once
// The subscriptions projection: each endpoint's current settings, secrets and
// health, and the in-memory matcher built from them.
//
// Records applied:
//   endpoint_created   body = full endpoint JSON; id = the record's entity id,
//                      tenant = the record's tenant; created_at = updated_at = recorded_at.
//   endpoint_updated   body = full endpoint JSON replacing the settings; id, tenant,
//                      created_at, the secret history and the disabled state are kept
//                      (disable/enable records own those); a body without "secret"
//                      keeps the current secret. Unknown endpoint: ignored.
//   endpoint_deleted   the endpoint and its health are removed.
//   endpoint_disabled  disabled = true, disabled_reason = body.reason.
//   endpoint_enabled   disabled = false, reason cleared, consecutive failures reset.
//   secret_rotated     body {"secret","previous_valid_until"}: the current secret
//                      becomes a previous secret valid until previous_valid_until;
//                      previous secrets expired at the record's time are dropped.
//   delivery_attempt   health: consecutive failures, last success/failure, last status/error.
// Bodies that fail validation are skipped (counted in skipped(), and reported on stderr with
// the record's seq and the reason: e.g. a filter nested deeper than filter.hpp allows).
//
// Databases: "sub_endpoints" id -> endpoint state JSON (endpoint_to_state);
// "sub_by_tenant" tenant \0 id -> ""; "sub_health" id -> health JSON.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "projections/endpoint.hpp"
#include "projections/matcher.hpp"
#include "projections/projection.hpp"

namespace hooklog::projections {

struct endpoint_health {
  std::uint64_t consecutive_failures = 0;
  std::int64_t last_success_at = 0;  // µs, 0 = never
  std::int64_t last_failure_at = 0;
  int last_status = 0;
  std::string last_error;
  std::uint64_t last_attempt_seq = 0;
};
nlohmann::json to_json(const endpoint_health& h);

class subscriptions final : public projection {
 public:
  static constexpr const char* kName = "subscriptions";
  const char* name() const override { return kName; }
  std::vector<std::string> databases() const override {
    return {"sub_endpoints", "sub_by_tenant", "sub_health"};
  }
  result<void> open(state_store& s, lmdb::txn& t) override;
  result<void> load(lmdb::txn& t) override;
  result<void> apply(lmdb::txn& t, const record_view& r) override;
  result<void> flush(lmdb::txn& t) override;
  void discard() override { health_cache_.clear(); }

  // Runner thread only (used by the pending projection while applying).
  const matcher& match_index() const { return matcher_; }
  enum class status { absent, enabled, disabled };
  status endpoint_status(std::string_view id) const;
  std::uint64_t skipped() const { return skipped_; }

  // Reads; any thread, caller's read txn.
  result<std::optional<endpoint>> get(lmdb::txn& t, std::string_view id) const;
  // Endpoints of `tenant` ("" = every tenant) with id > after, in id order.
  result<std::vector<endpoint>> list(lmdb::txn& t, std::string_view tenant, std::string_view after,
                                     std::size_t limit) const;
  result<std::optional<endpoint_health>> health(lmdb::txn& t, std::string_view id) const;
  // How many endpoints `tenant` has, counting no further than stop_at (index keys only).
  result<std::size_t> count(lmdb::txn& t, std::string_view tenant, std::size_t stop_at) const;

 private:
  result<void> put_endpoint(lmdb::txn& t, const endpoint& e);
  result<std::optional<endpoint>> load_endpoint(lmdb::txn& t, std::string_view id) const;
  result<endpoint_health*> cached_health(lmdb::txn& t, std::string_view id);
  result<void> skip(const record_view& r, const error& why);  // counts and reports a bad record

  lmdb::dbi endpoints_, by_tenant_, health_;
  matcher matcher_;
  std::unordered_map<std::string, bool> disabled_;  // id -> disabled, every known endpoint
  std::unordered_map<std::string, std::optional<endpoint_health>> health_cache_;  // nullopt = delete
  std::uint64_t skipped_ = 0;
};

}  // namespace hooklog::projections
