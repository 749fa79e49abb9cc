#include "http/delivery/endpoint_cache.hpp"

#include "projections/endpoint.hpp"
#include "projections/runner.hpp"
#include "projections/subscriptions.hpp"

namespace hooklog::http {

bool endpoint_cache::current(lmdb::txn& txn, std::vector<std::shared_ptr<prepared_endpoint>>& out) {
  out.clear();
  ++gen_;
  auto dbi = runner_.store().db("sub_endpoints");
  if (!dbi) {
    std::string after;
    for (;;) {
      auto page = runner_.subs().list(txn, "", after, 256);
      if (!page) return false;
      for (auto& ep : *page) {
        after = ep.id;
        out.push_back(prepare_endpoint(std::move(ep), box_));
      }
      if (page->size() < 256) break;
    }
    return true;
  }
  auto c = lmdb::cursor::open(txn, *dbi);
  if (!c) return false;
  for (auto kv = c->first();; kv = c->next()) {
    if (!kv) return false;
    if (!*kv) break;
    auto [id, raw] = **kv;
    auto it = cache_.find(std::string(id));
    if (it == cache_.end() || it->second.raw != raw) {
      auto e = projections::endpoint_from_state(raw);
      if (!e) {
        if (it != cache_.end()) cache_.erase(it);
        continue;  // like list(): unreadable states are skipped
      }
      cached ce;
      ce.raw = std::string(raw);
      ce.info = prepare_endpoint(std::move(*e), box_);
      it = cache_.insert_or_assign(std::string(id), std::move(ce)).first;
    }
    it->second.seen = gen_;
    out.push_back(it->second.info);
  }
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.seen != gen_; });
  return true;
}

}  // namespace hooklog::http
