#pragma once
// Helpers shared by the engine tests: making records and opening test logs.
#include <string>

#include "engine/event_log.hpp"
#include "engine/record.hpp"

namespace hooklog::test {

inline record make_event(std::string tenant, std::string type, std::string entity_id,
                         std::int64_t occurred, std::string body = "{\"x\":1}") {
  record r;
  r.kind = record_kind::event_received;
  r.tenant = std::move(tenant);
  r.source = "standard";
  r.type = std::move(type);
  r.entity_kind = "order";
  r.entity_id = std::move(entity_id);
  r.occurred_at = occurred;
  r.body = std::move(body);
  return r;
}

inline std::unique_ptr<event_log> open_log(const std::string& dir, bool sync = false,
                                           std::size_t initial = 1u << 20,
                                           std::size_t max = 1ull << 34) {
  log_options o;
  o.dir = dir;
  o.sync = sync;
  o.initial_map_size = initial;
  o.max_map_size = max;
  auto l = event_log::open(o);
  if (!l) throw std::runtime_error(l.err().message);
  return std::move(*l);
}

inline std::uint64_t append_one(event_log& log, record r) {
  std::vector<record> v{std::move(r)};
  auto out = log.append(v);
  if (!out[0]) throw std::runtime_error(out[0].err().message);
  return out[0]->seq;
}

}  // namespace hooklog::test
