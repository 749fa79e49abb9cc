#include "projections/pending.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "projections/attempt.hpp"
#include "projections/key_codec.hpp"
#include "projections/pending_codec.hpp"

namespace hooklog::projections {

namespace {
std::string dead_to_state(const dead_letter& d) { return to_json(d).dump(); }
}  // namespace

result<void> pending::open(state_store& s, lmdb::txn& t) {
  lmdb::dbi* dbs[] = {&due_, &ix_, &replay_, &dead_, &counts_, &relied_};
  auto names = databases();
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto d = s.open_db(t, names[i]);
    if (!d) return d.err();
    *dbs[i] = *d;
  }
  return {};
}

result<pending_counts*> pending::cached_counts(lmdb::txn& t, std::string_view ep) {
  auto it = counts_cache_.find(ep);
  if (it != counts_cache_.end()) return &it->second;
  auto v = counts_.get(t, ep);
  if (!v) return v.err();
  const pending_counts c = decode_counts(*v);
  return &counts_cache_.emplace(std::string(ep), c).first->second;
}

bool pending::begin_bulk(const std::string&, std::size_t memory) {
  bulk_ = true;
  max_staged_ = std::max<std::size_t>(1, memory / kBulkEntryBytes);
  return true;
}

result<void> pending::finish_bulk(bulk_writer& bw) {
  bump_due_changes();  // the staged items become visible
  if (auto w = write_staged(bw.txn(), &bw); !w) return w;
  staged_values_.release();  // what a bulk load held (a batch's values fit in a fraction of it)
  end_batch();
  bulk_ = false;
  max_staged_ = batch_max_staged_;
  return {};
}

result<void> pending::flush(lmdb::txn& t) {
  if (!bulk_)
    if (auto w = write_staged(t); !w) return w;
  std::string v;
  for (const auto& [ep, c] : counts_cache_) {
    if (c.queued == 0 && c.parked == 0 && c.dead == 0) {
      if (auto d = counts_.del(t, ep); !d) return d.err();
      continue;
    }
    v.clear();
    keys::put_le(v, c.queued);
    keys::put_le(v, c.parked);
    keys::put_le(v, c.dead);
    if (auto p = counts_.put(t, ep, v); !p) return p;
  }
  counts_cache_.clear();
  drop_ep_memo();
  end_batch();
  return {};
}

result<pending::ep_memo*> pending::memo_for(lmdb::txn& t, std::string_view matched_id) {
  if (const auto changes = subs_.match_index().changes(); changes != ep_memo_changes_) {
    drop_ep_memo();
    ep_memo_changes_ = changes;
  }
  // Ids live in the matcher's entries (heap blocks 16-byte aligned): the bits above the
  // alignment spread them over the slots.
  ep_memo& m = ep_memo_[(reinterpret_cast<std::uintptr_t>(matched_id.data()) >> 4) % kEpMemo];
  if (m.id == matched_id.data()) return &m;
  auto c = cached_counts(t, matched_id);
  if (!c) return c.err();
  m = {matched_id.data(), &staged_list_of(matched_id), *c};
  return &m;
}

void pending::end_batch() {
  due_cursor_ = lmdb::cursor{};
  ix_cursor_ = lmdb::cursor{};
  due_max_.clear();
  due_max_known_ = false;
}

result<void> pending::add(lmdb::txn& t, const pending_item& it) {
  ix_value(v1_, it);
  if (auto p = put_ix(t, it.endpoint_id, it.event_seq, v1_); !p) return p;
  if (!it.parked) {
    due_key(k2_, it.due_us, it.event_seq);
    v2_.clear();
    put_due_entry(v2_, it.endpoint_id, it.attempt, it.replay_id);
    if (auto p = put_due(t, k2_, v2_, 1); !p) return p;
  }
  return add_rest(t, it);
}

result<void> pending::add_rest(lmdb::txn& t, const pending_item& it) {
  if (!it.replay_id.empty()) {
    replay_key(k2_, it.replay_id, it.endpoint_id, it.event_seq);
    if (auto p = replay_.put(t, k2_, ""); !p) return p;
  }
  auto c = cached_counts(t, it.endpoint_id);
  if (!c) return c.err();
  count_added(**c, it);
  return {};
}

result<std::optional<pending_item>> pending::remove(lmdb::txn& t, std::string_view ep,
                                                    std::uint64_t seq) {
  std::optional<pending_item> it(std::in_place);
  auto v = take_ix(t, ep, seq, *it);
  if (!v) return v.err();
  if (!*v) return std::optional<pending_item>{};
  if (!it->parked)
    if (auto d = erase_due(t, it->due_us, seq, ep); !d) return d.err();
  if (!it->replay_id.empty()) {
    replay_key(k2_, it->replay_id, ep, seq);
    if (auto d = replay_.del(t, k2_); !d) return d.err();
  }
  auto c = cached_counts(t, ep);
  if (!c) return c.err();
  auto& n = it->parked ? (*c)->parked : (*c)->queued;
  if (n > 0) --n;
  return it;
}

result<void> pending::apply(lmdb::txn& t, const record_view& r) {
  if (r.kind != record_kind::event_received) bump_due_changes();  // any other kind: maybe
  switch (r.kind) {
    case record_kind::event_received: {
      if (r.flags & record_flags::kNoDelivery) return {};
      subs_.match_index().match(r.tenant, (r.flags & record_flags::kTestMode) != 0, r.type, r.body,
                                matches_);
      if (matches_.empty()) return {};
      bump_due_changes();
      // One pending_due key for the event, its endpoints in byte order (matched endpoints are
      // enabled: none of these items is parked).
      std::sort(matches_.begin(), matches_.end());
      pending_item it;
      it.due_us = r.recorded_at;
      it.event_seq = r.seq;
      v4_.clear();
      ix_value(v1_, it);  // the same for every endpoint: parked, due, attempt; no replay id
      for (auto ep : matches_) {
        if (auto r = make_room(t, v1_.size()); !r) return r;
        auto m = memo_for(t, ep);
        if (!m) return m.err();
        count_added(*(*m)->counts, it);  // the rest of add_rest: there is no replay id
        // Last: a write-out it may make (the staging bound) drops the memo.
        if (auto p = put_ix_in(t, *(*m)->list, it.event_seq, v1_); !p) return p;
        put_due_entry(v4_, ep, it.attempt, {});
      }
      due_key(k2_, it.due_us, it.event_seq);
      return put_due(t, k2_, v4_, matches_.size());
    }
    case record_kind::delivery_attempt: return on_attempt(t, r);
    case record_kind::replay_progressed:
      bump_reorders();
      return on_replay(t, r);
    case record_kind::replay_cancelled:
      bump_reorders();
      return on_replay_cancelled(t, r);
    case record_kind::endpoint_disabled:
    case record_kind::endpoint_enabled:
    case record_kind::endpoint_deleted: return on_endpoint(t, r);
    default: return {};
  }
}

result<void> pending::on_attempt(lmdb::txn& t, const record_view& r) {
  const auto& a = attempt_of(r.body);
  if (!a) return {};
  std::string ep = r.entity_id.empty() ? a->endpoint_id : std::string(r.entity_id);
  std::uint64_t seq = r.ref_seq ? r.ref_seq : a->event_seq;
  auto old = remove(t, ep, seq);
  if (!old) return old.err();
  // The item's marker (a cancel may have handed it to another replay while the attempt, made
  // under the first, was in flight), else the attempt's.
  std::string replay = *old ? (*old)->replay_id : a->replay_id;
  if (a->success) return drop_reliers(t, ep, seq);
  if (a->is_dead()) {
    dead_letter d{ep, seq, a->attempt, a->status, a->error, r.recorded_at, r.seq, replay};
    ix_key(k1_, ep, seq);
    auto had = dead_.get(t, k1_);  // a replay dead-letters the same event again: one dead letter
    if (!had) return had.err();
    const bool counted = had->has_value();
    if (auto p = dead_.put(t, k1_, dead_to_state(d)); !p) return p;
    if (!counted) {
      auto c = cached_counts(t, ep);
      if (!c) return c.err();
      ++(*c)->dead;
    }
    return drop_reliers(t, ep, seq);
  }
  // The item stays queued until its attempt is applied: none means a cancel or an endpoint
  // delete dropped it while the attempt was in flight, and it is not queued again.
  if (!*old) return {};
  auto st = subs_.endpoint_status(ep);
  if (st == subscriptions::status::absent) return drop_reliers(t, ep, seq);
  pending_item it{*a->next_attempt_at, ep, seq, a->attempt + 1, replay,
                  st == subscriptions::status::disabled};
  return add(t, it);
}

result<void> pending::on_replay(lmdb::txn& t, const record_view& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return {};
  auto ep_it = j.find("endpoint_id");
  auto rid_it = j.find("replay_id");
  auto sch = j.find("scheduled");
  if (ep_it == j.end() || !ep_it->is_string() || sch == j.end() || !sch->is_array()) return {};
  std::string ep = ep_it->get<std::string>();
  auto st = subs_.endpoint_status(ep);
  if (st == subscriptions::status::absent) return {};
  pending_item it;
  it.endpoint_id = ep;
  it.due_us = r.recorded_at;
  it.replay_id = rid_it != j.end() && rid_it->is_string() ? rid_it->get<std::string>()
                                                          : std::string(r.entity_id);
  it.parked = st == subscriptions::status::disabled;
  for (const auto& s : *sch) {
    if (!s.is_number_unsigned()) continue;
    it.event_seq = s.get<std::uint64_t>();
    auto v = get_ix(t, ep, it.event_seq);
    if (!v) return v.err();
    if (*v) {  // already queued: that delivery serves the replay too, which relies on it
      pending_item q;
      if (!decode_ix_value(**v, q) || q.replay_id == it.replay_id) continue;
      if (auto a = add_relier(t, ep, it.event_seq, it.replay_id); !a) return a;
      continue;
    }
    if (auto a = add(t, it); !a) return a;
  }
  return {};
}

result<void> pending::on_replay_cancelled(lmdb::txn& t, const record_view& r) {
  std::string rid(r.entity_id);
  if (auto j = nlohmann::json::parse(r.body, nullptr, false); j.is_object())
    if (auto it = j.find("replay_id"); it != j.end() && it->is_string()) rid = it->get<std::string>();
  if (rid.empty()) return {};
  std::string prefix;
  keys::put_part(prefix, rid);
  std::vector<std::pair<std::string, std::uint64_t>> victims;
  {
    auto c = lmdb::cursor::open(t, replay_);
    if (!c) return c.err();
    for (auto kv = c->seek(prefix);; kv = c->next()) {
      if (!kv) return kv.err();
      if (!*kv || !(*kv)->first.starts_with(prefix)) break;
      auto rest = (*kv)->first.substr(prefix.size());
      auto nul = rest.find('\0');
      if (nul == std::string_view::npos || rest.size() != nul + 9) continue;
      victims.emplace_back(std::string(rest.substr(0, nul)), keys::get_u64_be(rest.substr(nul + 1)));
    }
  }
  for (const auto& [ep, seq] : victims) {
    replay_key(k2_, rid, ep, seq);
    if (auto d = replay_.del(t, k2_); !d) return d.err();
    auto v = get_ix(t, ep, seq);
    if (!v) return v.err();
    pending_item it;
    if (!*v || !decode_ix_value(**v, it)) continue;
    if (it.replay_id != rid) {  // the replay relied on another's item: that one stays
      if (auto x = take_relier(t, ep, seq, rid); !x) return x.err();
      continue;
    }
    auto heir = take_relier(t, ep, seq, {});  // another replay relies on it: handed over
    if (!heir) return heir.err();
    auto x = remove(t, ep, seq);
    if (!x) return x.err();
    if (heir->empty() || !*x) continue;
    it = std::move(**x);
    it.replay_id = std::move(*heir);
    if (auto a = add(t, it); !a) return a;
  }
  return {};
}

result<void> pending::on_endpoint(lmdb::txn& t, const record_view& r) {
  // The scan below reads pending_ix itself: the staged entries go to the database first.
  if (auto w = write_staged(t); !w) return w;
  std::string ep(r.entity_id);
  // A disable subscriptions did not apply (stale: the endpoint changed since the attempt that
  // judged it) parks nothing.
  if (r.kind == record_kind::endpoint_disabled &&
      subs_.endpoint_status(ep) != subscriptions::status::disabled)
    return {};
  std::vector<pending_item> items;
  auto walked = visit_items(t, ep, 0, [&](const pending_item& it) {
    items.push_back(it);
    return true;
  });
  if (!walked) return walked.err();
  for (auto& it : items) {
    if (r.kind == record_kind::endpoint_disabled && it.parked) continue;
    if (r.kind == record_kind::endpoint_enabled && !it.parked) continue;
    auto x = remove(t, ep, it.event_seq);
    if (!x) return x.err();
    if (r.kind == record_kind::endpoint_deleted) {
      if (auto d = drop_reliers(t, ep, it.event_seq); !d) return d;
      continue;
    }
    it.parked = r.kind == record_kind::endpoint_disabled;
    if (!it.parked) it.due_us = std::max(it.due_us, r.recorded_at);
    if (auto a = add(t, it); !a) return a;
  }
  return {};
}

}  // namespace hooklog::projections
