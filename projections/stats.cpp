#include "projections/stats.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "projections/attempt.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

namespace {
constexpr std::size_t kEncodedSize = (5 + kLatencyBuckets) * 8;
}

void delivery_stats::add_latency(std::int64_t latency_us) {
  if (latency_us < 0) latency_us = 0;
  latency_sum_us += static_cast<std::uint64_t>(latency_us);
  ++latency_count;
  std::size_t b = 0;
  while (b < kLatencyBoundsMs.size() && latency_us > kLatencyBoundsMs[b] * 1000) ++b;
  ++buckets[b];
}

std::string delivery_stats::encode() const {
  std::string out;
  out.reserve(kEncodedSize);
  for (auto v : {delivered, failed, dead_lettered, latency_sum_us, latency_count}) keys::put_le(out, v);
  for (auto v : buckets) keys::put_le(out, v);
  return out;
}

std::optional<delivery_stats> delivery_stats::decode(std::string_view b) {
  if (b.size() != kEncodedSize) return std::nullopt;
  delivery_stats s;
  s.delivered = keys::get_le<std::uint64_t>(b, 0);
  s.failed = keys::get_le<std::uint64_t>(b, 8);
  s.dead_lettered = keys::get_le<std::uint64_t>(b, 16);
  s.latency_sum_us = keys::get_le<std::uint64_t>(b, 24);
  s.latency_count = keys::get_le<std::uint64_t>(b, 32);
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) s.buckets[i] = keys::get_le<std::uint64_t>(b, 40 + 8 * i);
  return s;
}

nlohmann::json to_json(const delivery_stats& s) {
  nlohmann::json buckets = nlohmann::json::array();
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    cum += s.buckets[i];
    buckets.push_back({{"le_ms", i < kLatencyBoundsMs.size() ? nlohmann::json(kLatencyBoundsMs[i])
                                                             : nlohmann::json("+Inf")},
                       {"count", cum}});
  }
  return {{"delivered", s.delivered},           {"failed", s.failed},
          {"dead_lettered", s.dead_lettered},   {"latency_sum_us", s.latency_sum_us},
          {"latency_count", s.latency_count},   {"latency_buckets", std::move(buckets)}};
}

result<void> stats::open(state_store& s, lmdb::txn& t) {
  auto a = s.open_db(t, "stats_endpoint");
  if (!a) return a.err();
  auto b = s.open_db(t, "stats_type");
  if (!b) return b.err();
  by_endpoint_ = *a;
  by_type_ = *b;
  return {};
}

result<delivery_stats*> stats::cached(lmdb::txn& t, bool by_type, std::string_view key) {
  key_.clear();
  key_.push_back(by_type ? '\2' : '\1');
  key_.append(key);
  auto it = cache_.find(key_);
  if (it != cache_.end()) return &it->second;
  auto v = (by_type ? by_type_ : by_endpoint_).get(t, key);
  if (!v) return v.err();
  delivery_stats s;
  if (*v)
    if (auto d = delivery_stats::decode(**v)) s = *d;
  return &cache_.emplace(key_, s).first->second;
}

result<void> stats::apply(lmdb::txn& t, const record_view& r) {
  if (r.kind != record_kind::delivery_attempt) return {};
  const auto& a = attempt_of(r.body);
  if (!a) return {};
  std::string tk;
  keys::put_part(tk, r.tenant);
  tk.append(r.type);
  std::string_view ep = r.entity_id.empty() ? std::string_view(a->endpoint_id) : r.entity_id;
  for (int i = 0; i < 2; ++i) {
    auto s = i == 0 ? cached(t, false, ep) : cached(t, true, tk);
    if (!s) return s.err();
    delivery_stats& d = **s;
    if (a->success) ++d.delivered;
    else ++d.failed;
    if (a->is_dead()) ++d.dead_lettered;
    d.add_latency(a->latency_us);
  }
  return {};
}

result<void> stats::flush(lmdb::txn& t) {
  for (const auto& [k, s] : cache_) {
    auto& db = k[0] == '\2' ? by_type_ : by_endpoint_;
    if (auto p = db.put(t, std::string_view(k).substr(1), s.encode()); !p) return p;
  }
  cache_.clear();
  return {};
}

result<std::optional<delivery_stats>> stats::for_endpoint(lmdb::txn& t, std::string_view ep) const {
  auto v = by_endpoint_.get(t, ep);
  if (!v) return v.err();
  if (!*v) return std::optional<delivery_stats>{};
  return delivery_stats::decode(**v);
}

result<std::optional<delivery_stats>> stats::for_type(lmdb::txn& t, std::string_view tenant,
                                                      std::string_view type) const {
  std::string k;
  keys::put_part(k, tenant);
  k.append(type);
  auto v = by_type_.get(t, k);
  if (!v) return v.err();
  if (!*v) return std::optional<delivery_stats>{};
  return delivery_stats::decode(**v);
}

}  // namespace hooklog::projections
