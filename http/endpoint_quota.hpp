#pragma once
// Operator quotas on endpoints, so that one tenant cannot grow the server's memory without
// bound (every endpoint, its filter and headers live in the matcher of `hooklog serve`).
//
// Checked by the API when an endpoint is created or changed, never when the log is replayed:
// lowering a quota does not drop endpoints that exist. Each limit is a `hooklog serve` flag.
//   per tenant        max_endpoints_per_tenant (POST /v1/endpoints; 422 quota_exceeded)
//   per endpoint      filter size (compact JSON, as stored) and conditions (all + any), headers
//                     and each header value, description (422 quota_exceeded, details.field)
// Hard bounds of the endpoint model stay in force above these (endpoint.hpp, filter.hpp): 64
// headers, 8192-byte header values, 4096-byte descriptions, 32 conditions in each of all/any.
// Thread safety: check_endpoint_quotas is a pure function; create_slots is thread-safe.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "projections/endpoint.hpp"

namespace hooklog::http {

struct endpoint_quotas {
  std::size_t max_endpoints_per_tenant = 1000;
  std::size_t max_filter_bytes = 16 * 1024;
  std::size_t max_filter_conditions = 32;
  std::size_t max_headers = 32;
  std::size_t max_header_value_bytes = 1024;
  std::size_t max_description_bytes = 1024;
};

// One quota an endpoint exceeds: the field at fault ("filter", "headers.X-Token"), the limit,
// and a message naming both ("filter: is 20000 bytes, more than the limit of 16384 bytes").
struct quota_breach {
  std::string field;
  std::size_t limit = 0;
  std::string message;
};

// The first per-endpoint quota `e` exceeds, in the order of the list above; nullopt when none.
// With `changed` (a PATCH body), only the fields it sets are checked: an endpoint over a quota
// that was lowered after it was made can still be changed elsewhere.
std::optional<quota_breach> check_endpoint_quotas(const projections::endpoint& e,
                                                  const endpoint_quotas& q,
                                                  const nlohmann::json* changed = nullptr);

// Endpoint creations written but perhaps not yet applied by the projections, per tenant: the
// per-tenant count is the projection's count plus these, so concurrent creates cannot together
// pass the limit. Entries at or below the projection's checkpoint are in its count already.
class create_slots {
 public:
  // Reserves a creation for `tenant` when `in_state` (the projection's count in a read
  // transaction whose subscriptions checkpoint is `applied_seq`) plus the creations not yet
  // applied is below `max`.
  bool reserve(const std::string& tenant, std::size_t in_state, std::uint64_t applied_seq,
               std::size_t max);
  // The reserved creation was written at `seq` (0: it failed and holds no place).
  void written(const std::string& tenant, std::uint64_t seq);

 private:
  std::mutex mutex_;
  // tenant -> seqs of its creations (0 while being written)
  std::map<std::string, std::multiset<std::uint64_t>> pending_;
};

}  // namespace hooklog::http
