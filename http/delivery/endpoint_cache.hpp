#pragma once
// The endpoints of a dispatcher round, prepared (delivery_request.hpp: secrets opened, HMAC keyed,
// auth header built, refusal decided) once per change of their stored state: current() walks the
// subscriptions projection's "sub_endpoints" database in the caller's read transaction and parses
// an endpoint again only when its stored bytes differ from the cached ones; endpoints no longer
// stored leave the cache. Unreadable states are skipped (like subscriptions::list()). When the
// database is not known by name it falls back to list(), preparing every endpoint.
// Returns false when the read failed (the round is retried later).
//
// Thread safety: one thread (the dispatcher's).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/lmdb.hpp"
#include "engine/secret_box.hpp"
#include "http/delivery/delivery_request.hpp"

namespace hooklog::projections {
class projection_runner;
}

namespace hooklog::http {

class endpoint_cache {
 public:
  endpoint_cache(projections::projection_runner& runner, const std::optional<secret_box>& box)
      : runner_(runner), box_(box) {}

  bool current(lmdb::txn& txn, std::vector<std::shared_ptr<prepared_endpoint>>& out);

 private:
  struct cached {
    std::string raw;  // the stored state it was made from
    std::shared_ptr<prepared_endpoint> info;
    std::uint64_t seen = 0;  // round generation
  };
  projections::projection_runner& runner_;
  const std::optional<secret_box>& box_;
  std::unordered_map<std::string, cached> cache_;
  std::uint64_t gen_ = 0;
};

}  // namespace hooklog::http
