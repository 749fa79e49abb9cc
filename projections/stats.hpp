#pragma once
// The delivery-stats projection: per endpoint and per (tenant, event type),
// from delivery_attempt records only.
//   delivered      successful attempts
//   failed         failed attempts (every failed try, the last included)
//   dead_lettered  deliveries that ended unsuccessfully (attempt.is_dead())
//   latency        histogram of latency_us over every attempt, with sum and count
// Histogram upper bounds (ms): 1 2 5 10 25 50 100 250 500 1000 2500 5000 10000 30000 +Inf
// (cumulative in to_json, as Prometheus expects).
//
// Databases: "stats_endpoint" endpoint id -> stats_value; "stats_type"
// tenant \0 type -> stats_value; stats_value is fixed-size little-endian:
// delivered, failed, dead_lettered, latency_sum_us, latency_count, 15 buckets (u64 each).
// Stats of deleted endpoints are kept.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "projections/projection.hpp"

namespace hooklog::projections {

inline constexpr std::array<std::int64_t, 14> kLatencyBoundsMs = {1,   2,    5,    10,   25,    50,   100,
                                                                  250, 500, 1000, 2500, 5000, 10000, 30000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsMs.size() + 1;

struct delivery_stats {
  std::uint64_t delivered = 0, failed = 0, dead_lettered = 0;
  std::uint64_t latency_sum_us = 0, latency_count = 0;
  std::array<std::uint64_t, kLatencyBuckets> buckets{};  // non-cumulative

  void add_latency(std::int64_t latency_us);
  std::string encode() const;
  static std::optional<delivery_stats> decode(std::string_view bytes);
  friend bool operator==(const delivery_stats&, const delivery_stats&) = default;
};
nlohmann::json to_json(const delivery_stats& s);

class stats final : public projection {
 public:
  static constexpr const char* kName = "stats";
  const char* name() const override { return kName; }
  std::vector<std::string> databases() const override { return {"stats_endpoint", "stats_type"}; }
  result<void> open(state_store& s, lmdb::txn& t) override;
  result<void> apply(lmdb::txn& t, const record_view& r) override;
  result<void> flush(lmdb::txn& t) override;
  void discard() override { cache_.clear(); }

  // Any thread, caller's read txn.
  result<std::optional<delivery_stats>> for_endpoint(lmdb::txn& t, std::string_view endpoint_id) const;
  result<std::optional<delivery_stats>> for_type(lmdb::txn& t, std::string_view tenant,
                                                 std::string_view type) const;

 private:
  result<delivery_stats*> cached(lmdb::txn& t, bool by_type, std::string_view key);

  lmdb::dbi by_endpoint_, by_type_;
  // Key: '\1' + endpoint id, or '\2' + tenant \0 type.
  std::unordered_map<std::string, delivery_stats> cache_;
  std::string key_;
};

}  // namespace hooklog::projections
