#include "http/endpoint_quota.hpp"

#include "http/delivery/endpoint_validation.hpp"

namespace hooklog::http {

namespace {
// `shown` names the field in the message; `field` is what details.field is made of (a name, or a
// JSON pointer where a name could hold a '.': a header's).
quota_breach breach(std::string field, std::size_t size, std::size_t limit, const char* unit,
                    std::string shown = {}) {
  std::string m = (shown.empty() ? field : shown) + ": has " + std::to_string(size) + " " + unit +
                  ", more than the limit of " + std::to_string(limit) + " " + unit;
  return {std::move(field), limit, std::move(m)};
}
}  // namespace

std::optional<quota_breach> check_endpoint_quotas(const projections::endpoint& e,
                                                  const endpoint_quotas& q,
                                                  const nlohmann::json* changed) {
  auto checked = [&](const char* field) { return !changed || changed->contains(field); };
  if (checked("filter") && !e.filter.empty()) {
    const std::size_t bytes = e.filter.to_json().dump().size();
    if (bytes > q.max_filter_bytes) return breach("filter", bytes, q.max_filter_bytes, "bytes");
    const std::size_t n = e.filter.condition_count();
    if (n > q.max_filter_conditions)
      return breach("filter", n, q.max_filter_conditions, "conditions");
  }
  if (checked("headers")) {
    if (e.headers.size() > q.max_headers)
      return breach("headers", e.headers.size(), q.max_headers, "entries");
    for (const auto& [name, value] : e.headers)
      if (value.size() > q.max_header_value_bytes)
        return breach(pointer_to("headers", name), value.size(), q.max_header_value_bytes, "bytes",
                      "headers." + name);
  }
  if (checked("description") && e.description.size() > q.max_description_bytes)
    return breach("description", e.description.size(), q.max_description_bytes, "bytes");
  return std::nullopt;
}

bool create_slots::reserve(const std::string& tenant, std::size_t in_state,
                           std::uint64_t applied_seq, std::size_t max) {
  std::lock_guard lock(mutex_);
  auto& seqs = pending_[tenant];
  // Written and applied: counted in `in_state` now (0 = still being written, kept).
  seqs.erase(seqs.upper_bound(0), seqs.upper_bound(applied_seq));
  if (in_state + seqs.size() >= max) {
    if (seqs.empty()) pending_.erase(tenant);
    return false;
  }
  seqs.insert(0);
  return true;
}

void create_slots::written(const std::string& tenant, std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(tenant);
  if (it == pending_.end()) return;
  if (auto z = it->second.find(0); z != it->second.end()) it->second.erase(z);
  if (seq) it->second.insert(seq);
  if (it->second.empty()) pending_.erase(it);
}

}  // namespace hooklog::http
