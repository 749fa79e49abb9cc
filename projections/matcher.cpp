#include "projections/matcher.hpp"

#include <algorithm>

namespace hooklog::projections {

namespace {
template <class V, class T>
void erase_value(V& v, const T& x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}
}  // namespace

void matcher::upsert(const endpoint& e) {
  remove(e.id);
  ++changes_;
  if (e.disabled) return;
  auto en = std::make_unique<entry>();
  en->id = e.id;
  en->tenant = e.tenant;
  en->test_mode = e.test_mode();
  en->patterns = e.events;
  en->filter = e.filter;
  index(en.get());
  by_id_.emplace(e.id, std::move(en));
}

void matcher::remove(std::string_view id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  ++changes_;
  unindex(it->second.get());
  by_id_.erase(it);
}

void matcher::clear() {
  ++changes_;
  by_id_.clear();
  tenants_.clear();
}

void matcher::index(const entry* e) {
  auto& mi = tenants_[e->tenant].modes[e->test_mode ? 1 : 0];
  mi.memo.clear();
  for (const auto& p : e->patterns) {
    switch (p.k) {
      case type_pattern::kind::any:
        if (std::find(mi.any.begin(), mi.any.end(), e) == mi.any.end()) mi.any.push_back(e);
        break;
      case type_pattern::kind::exact: {
        auto& b = mi.exact[p.text];
        if (std::find(b.begin(), b.end(), e) == b.end()) b.push_back(e);
        break;
      }
      case type_pattern::kind::prefix: {
        auto& b = mi.prefix[p.text];
        if (std::find(b.begin(), b.end(), e) != b.end()) break;
        b.push_back(e);
        if (mi.prefix_length_refs[p.text.size()]++ == 0) {
          mi.prefix_lengths.push_back(p.text.size());
          std::sort(mi.prefix_lengths.begin(), mi.prefix_lengths.end());
        }
        break;
      }
    }
  }
}

void matcher::unindex(const entry* e) {
  auto t = tenants_.find(std::string_view(e->tenant));
  if (t == tenants_.end()) return;
  auto& mi = t->second.modes[e->test_mode ? 1 : 0];
  mi.memo.clear();
  for (const auto& p : e->patterns) {
    switch (p.k) {
      case type_pattern::kind::any: erase_value(mi.any, e); break;
      case type_pattern::kind::exact: {
        auto b = mi.exact.find(std::string_view(p.text));
        if (b == mi.exact.end()) break;
        erase_value(b->second, e);
        if (b->second.empty()) mi.exact.erase(b);
        break;
      }
      case type_pattern::kind::prefix: {
        auto b = mi.prefix.find(std::string_view(p.text));
        if (b == mi.prefix.end()) break;
        auto before = b->second.size();
        erase_value(b->second, e);
        if (b->second.size() == before) break;  // duplicate pattern already removed
        if (b->second.empty()) mi.prefix.erase(b);
        auto r = mi.prefix_length_refs.find(p.text.size());
        if (r != mi.prefix_length_refs.end() && --r->second == 0) {
          mi.prefix_length_refs.erase(r);
          erase_value(mi.prefix_lengths, p.text.size());
        }
        break;
      }
    }
  }
  if (t->second.modes[0].empty() && t->second.modes[1].empty()) tenants_.erase(t);
}

void matcher::match(std::string_view tenant, bool test_mode, std::string_view type,
                    std::string_view body, std::vector<std::string_view>& out) const {
  out.clear();
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return;
  const auto& mi = t->second.modes[test_mode ? 1 : 0];
  auto m = mi.memo.find(type);
  if (m == mi.memo.end()) {
    if (mi.memo.size() >= kMemoTypes) mi.memo.clear();
    m = mi.memo.emplace(std::string(type), collect(mi, type)).first;
  }
  bool viewed = false;
  for (const entry* e : m->second) {
    if (!e->filter.empty()) {
      if (!viewed) {
        view_.reset(body);  // one scan of each path, shared by this event's filters
        viewed = true;
      }
      if (!e->filter.matches(view_)) continue;
    }
    out.push_back(e->id);
  }
}

matcher::bucket matcher::collect(const mode_index& mi, std::string_view type) const {
  bucket c;
  const std::uint64_t stamp = ++stamp_;
  auto add = [&](const bucket& b) {
    for (const entry* e : b) {
      if (e->stamp == stamp) continue;  // matched by another pattern already
      e->stamp = stamp;
      c.push_back(e);
    }
  };
  add(mi.any);
  if (!mi.exact.empty())
    if (auto b = mi.exact.find(type); b != mi.exact.end()) add(b->second);
  for (std::size_t len : mi.prefix_lengths) {
    if (len > type.size()) break;
    if (auto b = mi.prefix.find(type.substr(0, len)); b != mi.prefix.end()) add(b->second);
  }
  return c;
}

}  // namespace hooklog::projections
