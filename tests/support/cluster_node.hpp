#pragma once
// What the cluster tests that start `hooklog serve` nodes share: the cell's master key, the jelp
// status-change ingest path, a node's cluster flags, and a node's log head once it has
// materialized a given seq.
#include <catch2/catch.hpp>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/hooklog_server.hpp"
#include "support/nats_cluster.hpp"

namespace hooklog::test {

inline constexpr const char* kClusterSecretKey =
    "8f3c0a9b1d2e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdd0";
inline const std::string kStatusChange =
    "/v1/sources/jelp/events?type=order_update:status_change";

// `hooklog serve` flags of a node of `cell` on `nats` that does not deliver, then `extra`.
inline std::vector<std::string> cluster_node_args(const nats_cluster& nats, const std::string& cell,
                                                  const std::string& node_id, int replicas,
                                                  const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--cluster",    nats.urls(),       "--cell",
                                cell,           "--node-id",       node_id,
                                "--secret-key", kClusterSecretKey, "--cluster-replicas",
                                std::to_string(replicas),          "--no-deliver"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// GET /v1/audit/head of `s` once it has materialized `min_seq` (the events query waits for it).
inline nlohmann::json head_at(hooklog_server& s, std::uint64_t min_seq) {
  auto w = s.get("/v1/events?limit=1&min_seq=" + std::to_string(min_seq));
  REQUIRE(w.status == 200);
  auto h = s.get("/v1/audit/head");
  REQUIRE(h.status == 200);
  return h.json;
}

}  // namespace hooklog::test
