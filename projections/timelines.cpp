#include "projections/timelines.hpp"

#include <nlohmann/json.hpp>

#include "engine/time_util.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

namespace {
void entity_prefix(std::string& k, std::string_view tenant, std::string_view kind, std::string_view id) {
  k.clear();
  keys::put_part(k, tenant);
  keys::put_part(k, kind);
  keys::put_part(k, id);
}

std::optional<transition> decode_transition(std::string_view key, std::size_t prefix_size,
                                            std::string_view v) {
  if (key.size() != prefix_size + 16 || v.size() < 9) return std::nullopt;
  transition tr;
  tr.occurred_at = keys::get_i64_be(key.substr(prefix_size));
  tr.seq = keys::get_u64_be(key.substr(prefix_size + 8));
  tr.out_of_order = (static_cast<std::uint8_t>(v[0]) & 1) != 0;
  tr.recorded_at = keys::get_le<std::int64_t>(v, 1);
  std::size_t at = 9;
  auto from = keys::get_str16(v, at);
  auto to = keys::get_str16(v, at);
  if (!from || !to) return std::nullopt;
  tr.from = std::string(*from);
  tr.to = std::string(*to);
  return tr;
}
}  // namespace

nlohmann::json to_json(const timeline& t) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& tr : t.transitions)
    arr.push_back({{"from", tr.from},
                   {"to", tr.to},
                   {"occurred_at", format_rfc3339(tr.occurred_at)},
                   {"recorded_at", format_rfc3339(tr.recorded_at)},
                   {"seq", tr.seq},
                   {"out_of_order", tr.out_of_order}});
  return {{"kind", t.kind}, {"id", t.id}, {"tenant", t.tenant}, {"status", t.current_status},
          {"transitions", std::move(arr)}};
}

result<void> timelines::open(state_store& s, lmdb::txn& t) {
  auto a = s.open_db(t, "tl_transitions");
  if (!a) return a.err();
  auto b = s.open_db(t, "tl_last");
  if (!b) return b.err();
  transitions_ = *a;
  last_ = *b;
  return {};
}

result<void> timelines::apply(lmdb::txn& t, const record_view& r) {
  if (r.kind != record_kind::event_received || r.entity_kind.empty() || r.entity_id.empty() ||
      r.status_to.empty())
    return {};
  entity_prefix(key_, r.tenant, r.entity_kind, r.entity_id);
  const std::size_t prefix_size = key_.size();
  std::string last_key(key_.data(), prefix_size - 1);  // without the trailing NUL

  auto last = last_.get(t, last_key);
  if (!last) return last.err();
  bool in_order = true;
  std::string_view from = r.status_from;
  std::string prev_status;
  if (*last && (*last)->size() >= 16) {
    std::int64_t last_occurred = keys::get_le<std::int64_t>(**last, 0);
    if (r.occurred_at < last_occurred) {
      in_order = false;
    } else if (from.empty()) {
      std::size_t at = 16;
      if (auto s = keys::get_str16(**last, at)) prev_status = std::string(*s);
      from = prev_status;
    }
  }
  keys::put_i64_be(key_, r.occurred_at);
  keys::put_u64_be(key_, r.seq);
  if (!in_order && from.empty()) {
    // The status just before this transition in (occurred, seq) order.
    auto c = lmdb::cursor::open(t, transitions_);
    if (!c) return c.err();
    auto kv = c->seek(key_);
    if (!kv) return kv.err();
    kv = *kv ? c->prev() : c->last();
    if (!kv) return kv.err();
    if (*kv && (*kv)->first.size() == prefix_size + 16 &&
        (*kv)->first.compare(0, prefix_size, key_, 0, prefix_size) == 0) {
      if (auto tr = decode_transition((*kv)->first, prefix_size, (*kv)->second)) {
        prev_status = std::move(tr->to);
        from = prev_status;
      }
    }
  }
  value_.clear();
  value_.push_back(in_order ? 0 : 1);
  keys::put_le<std::int64_t>(value_, r.recorded_at);
  keys::put_str16(value_, from);
  keys::put_str16(value_, r.status_to);
  if (auto p = transitions_.put(t, key_, value_); !p) return p;
  if (in_order) {
    value_.clear();
    keys::put_le<std::int64_t>(value_, r.occurred_at);
    keys::put_le<std::uint64_t>(value_, r.seq);
    keys::put_str16(value_, r.status_to);
    if (auto p = last_.put(t, last_key, value_); !p) return p;
  }
  return {};
}

result<std::optional<timeline>> timelines::get(lmdb::txn& t, std::string_view tenant,
                                               std::string_view kind, std::string_view id,
                                               std::size_t limit) const {
  std::string prefix;
  entity_prefix(prefix, tenant, kind, id);
  timeline tl;
  tl.tenant = std::string(tenant);
  tl.kind = std::string(kind);
  tl.id = std::string(id);
  auto last = last_.get(t, std::string_view(prefix).substr(0, prefix.size() - 1));
  if (!last) return last.err();
  if (!*last) return std::optional<timeline>{};
  std::size_t at = 16;
  if (auto s = keys::get_str16(**last, at)) tl.current_status = std::string(*s);
  auto c = lmdb::cursor::open(t, transitions_);
  if (!c) return c.err();
  for (auto kv = c->seek(prefix); tl.transitions.size() < limit; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    if (auto tr = decode_transition((*kv)->first, prefix.size(), (*kv)->second))
      tl.transitions.push_back(std::move(*tr));
  }
  return std::optional<timeline>(std::move(tl));
}

}  // namespace hooklog::projections
