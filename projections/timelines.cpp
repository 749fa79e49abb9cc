#include "projections/timelines.hpp"

#include <nlohmann/json.hpp>

#include "engine/record.hpp"
#include "engine/time_util.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

namespace {
constexpr std::uint8_t kOutOfOrder = 1;
constexpr std::uint8_t kFromStated = 2;

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
  tr.out_of_order = (static_cast<std::uint8_t>(v[0]) & kOutOfOrder) != 0;
  tr.from_stated = (static_cast<std::uint8_t>(v[0]) & kFromStated) != 0;
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
  transitions_ = *a;
  return {};
}

result<void> timelines::apply(lmdb::txn& t, const record_view& r) {
  if (r.kind != record_kind::event_received || r.entity_kind.empty() || r.entity_id.empty() ||
      r.status_to.empty())
    return {};
  entity_prefix(key_, r.tenant, r.entity_kind, r.entity_id);
  const std::size_t prefix_size = key_.size();
  keys::put_i64_be(key_, r.occurred_at);
  keys::put_u64_be(key_, r.seq);
  auto same_entity = [&](std::string_view k) {
    return k.size() == prefix_size + 16 && k.compare(0, prefix_size, std::string_view(key_).substr(0, prefix_size)) == 0;
  };
  // The record's seq is the highest so far, so the key lands after every
  // transition of the entity with occurred_at <= this one; any key of the
  // entity after it occurred later (this one is out of order). Its `from`, when
  // not stated, is derived at read time from the transition before it.
  if (cursor_.handle() == nullptr) {
    auto c = lmdb::cursor::open(t, transitions_);
    if (!c) return c.err();
    cursor_ = std::move(*c);
  }
  auto at = cursor_.seek(key_);
  if (!at) return at.err();
  const bool out_of_order = *at && same_entity((*at)->first);
  const bool stated = !r.status_from.empty();
  value_.clear();
  value_.push_back(
      static_cast<char>((out_of_order ? kOutOfOrder : 0) | (stated ? kFromStated : 0)));
  keys::put_le<std::int64_t>(value_, r.recorded_at);
  keys::put_str16(value_, r.status_from);
  keys::put_str16(value_, r.status_to);
  return cursor_.put(key_, value_, 0);
}

void timelines::end_batch() {
  cursor_ = lmdb::cursor{};
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
  auto c = lmdb::cursor::open(t, transitions_);
  if (!c) return c.err();
  {
    // The entity's latest transition by occurred time gives its current status.
    std::string end = prefix;
    end.back() = '\x01';  // just past every key with this prefix
    auto kv = c->seek(end);
    if (!kv) return kv.err();
    kv = *kv ? c->prev() : c->last();
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) return std::optional<timeline>{};
    auto tr = decode_transition((*kv)->first, prefix.size(), (*kv)->second);
    if (tr) tl.current_status = tr->to;
  }
  // From the earliest, so each derived `from` is the `to` of the step before it.
  for (auto kv = c->seek(prefix); tl.transitions.size() < limit; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    if (auto tr = decode_transition((*kv)->first, prefix.size(), (*kv)->second))
      tl.transitions.push_back(std::move(*tr));
  }
  derive_from(tl.transitions);
  return std::optional<timeline>(std::move(tl));
}

void derive_from(std::vector<transition>& steps) {
  std::string previous_to;
  for (auto& t : steps) {
    if (!t.from_stated) t.from = previous_to;
    previous_to = t.to;
  }
}

nlohmann::json to_json(const transition& t) {
  nlohmann::json e = {{"from", t.from.empty() ? nlohmann::json() : nlohmann::json(t.from)},
                      {"to", t.to},
                      {"occurred_at", format_rfc3339(t.occurred_at)},
                      {"recorded_at", format_rfc3339(t.recorded_at)},
                      {"seq", t.seq},
                      {"event_id", event_id_for(t.seq)}};
  if (t.out_of_order) e["out_of_order"] = true;
  return e;
}

}  // namespace hooklog::projections
