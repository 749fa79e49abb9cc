#include "projections/pending.hpp"

#include <algorithm>
#include <cstring>
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
  end_batch();
  return {};
}

void pending::end_batch() {
  due_cursor_ = lmdb::cursor{};
  ix_cursor_ = lmdb::cursor{};
  due_max_.clear();
  due_max_known_ = false;
}

result<void> pending::open_due_cursor(lmdb::txn& t, bool max) {
  if (due_cursor_.handle() == nullptr) {
    auto c = lmdb::cursor::open(t, due_);
    if (!c) return c.err();
    due_cursor_ = std::move(*c);
  }
  if (max && !due_max_known_) {
    auto last = due_cursor_.last();
    if (!last) return last.err();
    due_max_ = *last ? std::string((*last)->first) : std::string();
    due_max_known_ = true;
  }
  return {};
}

result<void> pending::open_ix_cursor(lmdb::txn& t) {
  if (ix_cursor_.handle() != nullptr) return {};
  auto c = lmdb::cursor::open(t, ix_);
  if (!c) return c.err();
  ix_cursor_ = std::move(*c);
  return {};
}

void pending::note_due_key(const std::string& key) {
  if (key > due_max_) due_max_ = key;
}

result<void> pending::append_due(const std::string& key, std::string_view value) {
  if (auto p = due_cursor_.put(key, value, MDB_APPEND); !p) return p;
  due_max_.assign(key);
  return {};
}

result<void> pending::put_due_split(const std::string& prefix, const std::string& left_key,
                                    const std::string& entries) {
  std::size_t n = 0, at = 0, half_at = 0;
  due_entry e;
  while (next_due_entry(entries, at, e))
    if (++n == kDueChunk / 2) half_at = at;
  if (n <= kDueChunk) {
    note_due_key(left_key);
    return due_cursor_.put(left_key, entries, 0);
  }
  // One entry over: the first half keeps the key, the second gets one of its own.
  const std::string_view left = std::string_view(entries).substr(0, half_at);
  const std::string_view right = std::string_view(entries).substr(half_at);
  std::size_t r = 0;
  if (!next_due_entry(right, r, e)) return {};
  std::string right_key = prefix;
  right_key.append(e.ep);
  note_due_key(left_key);
  note_due_key(right_key);
  if (auto p = due_cursor_.put(left_key, left, 0); !p) return p;
  return due_cursor_.put(right_key, right, 0);
}

result<void> pending::put_due(lmdb::txn& t, const std::string& prefix, const std::string& entries,
                              std::size_t count) {
  if (auto o = open_due_cursor(t); !o) return o;
  // No key of this (due, seq) yet: its entries go in chunks of kDueChunk, appended without a tree
  // search when they sort after every key (new events' first attempts arrive in increasing
  // order of (recorded_at, seq)).
  const bool append = prefix > due_max_;
  if (append && count <= kDueChunk) return append_due(prefix, entries);  // the usual case
  bool fresh = append;
  if (!fresh) {
    auto f = due_cursor_.seek(prefix);
    if (!f) return f.err();
    fresh = !*f || !(*f)->first.starts_with(prefix);
  }
  if (fresh) {
    if (count <= kDueChunk) {  // one chunk: no need to walk the entries
      if (auto p = due_cursor_.put(prefix, entries, 0); !p) return p;
      note_due_key(prefix);
      return {};
    }
    std::size_t at = 0, start = 0, n = 0;
    due_entry e;
    k4_ = prefix;  // the first chunk's key: the bare prefix
    for (bool more = true; more;) {
      const std::size_t before = at;
      more = next_due_entry(entries, at, e);
      if (n == kDueChunk || (!more && n > 0)) {  // the chunk [start, before) is complete
        if (auto p = due_cursor_.put(k4_, std::string_view(entries).substr(start, before - start),
                                     append ? MDB_APPEND : 0);
            !p)
          return p;
        note_due_key(k4_);
        start = before;
        n = 0;
        if (more) {
          k4_.assign(prefix);
          k4_.append(e.ep);
        }
      }
      if (more) ++n;
    }
    return {};
  }
  std::size_t at = 0;
  due_entry e;
  while (next_due_entry(entries, at, e)) {
    put_due_entry(v5_, e.ep, e.attempt, e.replay);
    if (auto i = insert_due(prefix, e.ep, v5_); !i) return i;
    v5_.clear();
  }
  return {};
}

result<bool> pending::seek_due_chunk(const std::string& prefix, std::string_view ep) {
  k4_ = prefix;
  k4_.append(ep);
  auto f = due_cursor_.seek(k4_);
  if (!f) return f.err();
  if (*f && (*f)->first == k4_) return true;  // a chunk starting at ep
  auto p = *f ? due_cursor_.prev() : due_cursor_.last();
  if (!p) return p.err();
  return *p && (*p)->first.starts_with(prefix);
}

result<void> pending::insert_due(const std::string& prefix, std::string_view ep,
                                 const std::string& entry) {
  // Usually the (due, seq) has one chunk, under the bare prefix: ep goes there when no later
  // chunk starts at or before it.
  auto b = due_cursor_.get(MDB_SET, prefix);
  if (!b) return b.err();
  if (*b) {
    const std::string_view value = (*b)->second;  // valid until the next write
    auto n = due_cursor_.next();
    if (!n) return n.err();
    if (!*n || !(*n)->first.starts_with(prefix) || (*n)->first.substr(prefix.size()) > ep) {
      merge_due(v3_, value, entry);
      return put_due_split(prefix, prefix, v3_);
    }
  }
  auto c = seek_due_chunk(prefix, ep);
  if (!c) return c.err();
  if (*c) {  // the chunk whose first key part is <= ep: ep goes there
    auto cur = due_cursor_.get(MDB_GET_CURRENT);
    if (!cur) return cur.err();
    const std::string key((*cur)->first);
    merge_due(v3_, (*cur)->second, entry);
    return put_due_split(prefix, key, v3_);
  }
  // No chunk at or before ep (so no first chunk under the bare prefix, which sorts before every
  // entry): ep starts one under the bare prefix.
  return put_due_split(prefix, prefix, entry);
}

result<void> pending::erase_due(lmdb::txn& t, std::int64_t due, std::uint64_t seq,
                                std::string_view ep) {
  if (auto o = open_due_cursor(t, false); !o) return o;
  due_key(k2_, due, seq);
  // The chunk under the bare prefix first (usually the only one), then the one ep sorts into.
  auto b = due_cursor_.get(MDB_SET, k2_);
  if (!b) return b.err();
  if (*b) {
    auto r = erase_due_here(ep, k2_, (*b)->second);
    if (!r) return r.err();
    if (*r) return {};
  }
  auto c = seek_due_chunk(k2_, ep);
  if (!c) return c.err();
  if (!*c) return {};
  auto cur = due_cursor_.get(MDB_GET_CURRENT);
  if (!cur) return cur.err();
  auto r = erase_due_here(ep, (*cur)->first, (*cur)->second);
  if (!r) return r.err();
  return {};
}

result<bool> pending::erase_due_here(std::string_view ep, std::string_view key,
                                     std::string_view old) {
  v3_.clear();
  std::size_t at = 0;
  due_entry e;
  bool found = false;
  while (next_due_entry(old, at, e)) {
    if (e.ep == ep)
      found = true;
    else
      put_due_entry(v3_, e.ep, e.attempt, e.replay);
  }
  if (!found) return false;
  if (v3_.empty()) {  // the chunk's key part stays even if ep was first
    if (auto d = due_cursor_.del(); !d) return d.err();
    return true;
  }
  k4_.assign(key);  // a copy: `key` may point into the page the put rewrites
  if (auto p = due_cursor_.put(k4_, v3_, 0); !p) return p.err();
  return true;
}

pending::staged_ix pending::stage(std::uint64_t seq, std::string_view value) {
  staged_ix s;
  s.seq = seq;
  s.value_at = staged_values_.size();
  s.value_size = static_cast<std::uint32_t>(value.size());
  s.live = true;
  staged_values_.append(value.data(), value.size());
  return s;
}

pending::staged_ix* pending::find_staged(std::string_view ep, std::uint64_t seq) {
  auto e = staged_.find(ep);
  if (e == staged_.end() || e->second.empty()) return nullptr;
  auto& v = e->second;
  if (v.back().seq == seq) return &v.back();  // the usual case: the endpoint's latest item
  auto at = std::lower_bound(v.begin(), v.end(), seq,
                             [](const staged_ix& s, std::uint64_t q) { return s.seq < q; });
  return at != v.end() && at->seq == seq ? &*at : nullptr;
}

result<void> pending::put_ix(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                             const std::string& value) {
  auto e = staged_.find(ep);
  if (e == staged_.end()) e = staged_.emplace(std::string(ep), staged_list{}).first;
  auto& v = e->second;
  if (!v.empty() && v.back().seq >= seq) {
    auto at = std::lower_bound(v.begin(), v.end(), seq,
                               [](const staged_ix& s, std::uint64_t q) { return s.seq < q; });
    if (at != v.end() && at->seq == seq) {  // staged already (removed, or a repeat): replaced
      at->live = true;
      if (value.size() <= at->value_size) {  // in its place (a retry: the same size)
        if (!value.empty())
          std::memcpy(staged_values_.data() + at->value_at, value.data(), value.size());
        at->value_size = static_cast<std::uint32_t>(value.size());
        return {};
      }
      *at = stage(seq, value);  // a longer value is appended: it counts as an entry more
      if (++staged_count_ >= max_staged_) return write_staged(t);
      return {};
    }
    // Before the endpoint's latest staged item (a retry of an earlier event): staged in its
    // place (usually near the end: a recent event), so that the write-out still goes in key
    // order, a block at a time.
    v.insert(at, stage(seq, value));
    if (++staged_count_ >= max_staged_) return write_staged(t);
    return {};
  }
  v.push_back(stage(seq, value));
  if (++staged_count_ >= max_staged_) return write_staged(t);
  return {};
}

result<std::optional<std::string_view>> pending::get_ix(lmdb::txn& t, std::string_view ep,
                                                        std::uint64_t seq) {
  if (auto* s = find_staged(ep, seq))
    return s->live ? std::optional<std::string_view>(staged_value(*s)) : std::nullopt;
  ix_block_key(k3_, ep, seq / kIxBlock);
  auto b = ix_.get(t, k3_);
  if (!b) return b.err();
  if (!*b) return std::optional<std::string_view>{};
  auto f = find_ix_item(**b, static_cast<unsigned>(seq % kIxBlock));
  return f ? std::optional<std::string_view>(f->value) : std::nullopt;
}

result<bool> pending::take_ix(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                              pending_item& it) {
  it.endpoint_id.assign(ep);
  it.event_seq = seq;
  if (auto* s = find_staged(ep, seq)) {
    if (!s->live) return false;
    s->live = false;
    return decode_ix_value(staged_value(*s), it);
  }
  if (auto o = open_ix_cursor(t); !o) return o.err();
  ix_block_key(k1_, ep, seq / kIxBlock);
  auto f = ix_cursor_.get(MDB_SET, k1_);
  if (!f) return f.err();
  if (!*f) return false;
  const std::string_view old = (*f)->second;
  auto at = find_ix_item(old, static_cast<unsigned>(seq % kIxBlock));
  if (!at) return false;
  const bool ok = decode_ix_value(at->value, it);
  // The block without the item (its last item: the key goes).
  if (at->begin == 0 && at->end == old.size()) {
    if (auto d = ix_cursor_.del(); !d) return d.err();
    return ok;
  }
  ixv_.assign(old.substr(0, at->begin));
  ixv_.append(old.substr(at->end));
  if (auto p = ix_cursor_.put(k1_, ixv_, MDB_CURRENT); !p) return p.err();
  return ok;
}

void pending::merge_ix_block(std::string& out, std::string_view old, const staged_ix* first,
                             const staged_ix* last) const {
  out.clear();
  if (old.empty()) {  // a new block (every block of a bulk load's write-out): the live entries
    std::size_t n = 0;
    for (const staged_ix* s = first; s != last; ++s)
      if (s->live) n += 1 + keys::str16_size(staged_value(*s));
    out.resize(n);
    char* p = out.data();
    for (const staged_ix* s = first; s != last; ++s) {
      if (!s->live) continue;
      *p++ = static_cast<char>(s->seq % kIxBlock);  // as put_ix_item
      p = keys::write_str16(p, staged_value(*s));
    }
    return;
  }
  std::size_t at = 0;
  ix_item e;
  bool has_old = next_ix_item(old, at, e);
  for (const staged_ix* s = first; s != last; ++s) {
    const auto offset = static_cast<unsigned>(s->seq % kIxBlock);
    for (; has_old && e.offset <= offset; has_old = next_ix_item(old, at, e))
      if (e.offset < offset) put_ix_item(out, e.offset, e.value);  // the staged one replaces it
    if (s->live) put_ix_item(out, offset, staged_value(*s));
  }
  for (; has_old; has_old = next_ix_item(old, at, e)) put_ix_item(out, e.offset, e.value);
}

result<void> pending::write_staged(lmdb::txn& t, bulk_writer* bw) {
  if (staged_count_ == 0 && staged_.empty()) return {};
  std::vector<std::pair<std::string_view, staged_list*>> eps;
  eps.reserve(staged_.size());
  for (auto& [ep, v] : staged_)
    if (!v.empty()) eps.emplace_back(ep, &v);
  std::sort(eps.begin(), eps.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  auto o = lmdb::cursor::open(bw ? bw->txn() : t, ix_);
  if (!o) return o.err();
  lmdb::cursor c = std::move(*o);
  std::string last_key;  // the database's largest key while writing ("" when empty)
  {
    auto l = c.last();
    if (!l) return l.err();
    if (*l) last_key = std::string((*l)->first);
  }
  // In key order, a block at a time: each put lands on or next to the cursor's page (LMDB
  // searches from the current page first), and past the last key it appends. Into an empty
  // database (a bulk load's write-out) every key is past the end: the keys ascend (an endpoint's
  // blocks by seq, the endpoints in byte order, and "a\0" sorts before "ab\0"), so neither the
  // comparison nor the copy of the last key is needed; MDB_APPEND would refuse a key out of
  // order. A block that is already in the database is merged with the staged entries.
  const bool empty = last_key.empty();
  for (auto& [ep, v] : eps) {
    k3_.clear();
    keys::put_part(k3_, ep);  // the endpoint's part, once; each block appends its number
    const std::size_t part = k3_.size();
    const staged_ix* const end = v->data() + v->size();
    for (const staged_ix* first = v->data(); first != end;) {
      const std::uint64_t block = first->seq / kIxBlock;
      const staged_ix* last = first + 1;
      while (last != end && last->seq / kIxBlock == block) ++last;
      k3_.resize(part);
      keys::put_u64_be(k3_, block);
      const bool past_end = empty || k3_ > last_key;
      bool there = false;
      std::string_view old;
      if (!past_end) {
        auto f = c.get(MDB_SET, k3_);
        if (!f) return f.err();
        if (*f) {
          there = true;
          old = (*f)->second;
        }
      }
      merge_ix_block(ixv_, old, first, last);  // copied out of the page before the put below
      first = last;
      if (ixv_.empty()) {  // every item settled in this batch: never written, or gone
        if (there)
          if (auto d = c.del(); !d) return d;
        continue;
      }
      if (auto p = c.put(k3_, ixv_, there ? MDB_CURRENT : past_end ? MDB_APPEND : 0); !p) return p;
      if (past_end && !empty) last_key = k3_;
      if (bw)  // a bulk write-out: perhaps its next part
        if (auto n = bw->wrote(c, ix_, k3_.size(), ixv_.size()); !n) return n;
    }
  }
  clear_staged();
  return {};
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
  ++(it.parked ? (*c)->parked : (*c)->queued);
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
      for (auto ep : matches_) {
        it.endpoint_id.assign(ep);
        ix_value(v1_, it);
        if (auto p = put_ix(t, it.endpoint_id, it.event_seq, v1_); !p) return p;
        if (auto a = add_rest(t, it); !a) return a;
        put_due_entry(v4_, ep, it.attempt, {});
      }
      due_key(k2_, it.due_us, it.event_seq);
      return put_due(t, k2_, v4_, matches_.size());
    }
    case record_kind::delivery_attempt: return on_attempt(t, r);
    case record_kind::replay_progressed: return on_replay(t, r);
    case record_kind::replay_cancelled: return on_replay_cancelled(t, r);
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
