// The pending projection's queue index ("pending_ix": pending.hpp describes the layout and its
// staging): the items staged per batch or bulk load, their reads, and their write-out in key
// order. The projection's handlers are in pending.cpp.
#include "projections/pending.hpp"

#include <algorithm>
#include <cstring>

#include "projections/pending_codec.hpp"

namespace hooklog::projections {

result<void> pending::open_ix_cursor(lmdb::txn& t) {
  if (ix_cursor_.handle() != nullptr) return {};
  auto c = lmdb::cursor::open(t, ix_);
  if (!c) return c.err();
  ix_cursor_ = std::move(*c);
  return {};
}

pending::staged_ix pending::stage(std::uint64_t seq, std::string_view value) {
  value = value.substr(0, UINT16_MAX);  // as a block keeps it (str16 cuts there)
  staged_ix s;
  s.seq = seq;
  s.live = true;
  s.value_size = static_cast<std::uint16_t>(value.size());
  if (value.size() <= staged_ix::kInline) {
    if (!value.empty()) std::memcpy(s.value, value.data(), value.size());
    return s;
  }
  const auto at = static_cast<std::uint32_t>(staged_values_.size());  // put_ix keeps it in range
  std::memcpy(s.value, &at, sizeof at);
  staged_values_.append(value.data(), value.size());
  return s;
}

bool pending::restage(staged_ix& s, std::string_view value) {
  value = value.substr(0, UINT16_MAX);
  if (value.size() <= staged_ix::kInline) {
    if (!value.empty()) std::memcpy(s.value, value.data(), value.size());
  } else if (s.value_size > staged_ix::kInline && value.size() <= s.value_size) {
    std::memcpy(staged_values_.data() + staged_at(s), value.data(), value.size());
  } else {
    return false;
  }
  s.value_size = static_cast<std::uint16_t>(value.size());
  s.live = true;
  return true;
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

result<void> pending::make_room(lmdb::txn& t, std::size_t value_size) {
  if (staged_values_.size() + value_size > kMaxStagedValueBytes)  // its offset would not fit
    return write_staged(t);
  return {};
}

result<void> pending::put_ix(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                             const std::string& value) {
  if (auto r = make_room(t, value.size()); !r) return r;
  return put_ix_in(t, staged_list_of(ep), seq, value);
}

pending::staged_list& pending::staged_list_of(std::string_view ep) {
  auto e = staged_.find(ep);
  if (e == staged_.end()) e = staged_.emplace(std::string(ep), staged_list{}).first;
  return e->second;
}

result<void> pending::put_ix_in(lmdb::txn& t, staged_list& v, std::uint64_t seq,
                                const std::string& value) {
  if (!v.empty() && v.back().seq >= seq) {
    auto at = std::lower_bound(v.begin(), v.end(), seq,
                               [](const staged_ix& s, std::uint64_t q) { return s.seq < q; });
    if (at != v.end() && at->seq == seq) {  // staged already (removed, or a repeat): replaced
      if (restage(*at, value)) return {};   // in its place (a retry: the same size)
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
    // Values not inline were appended in event order across all endpoints, and are read here
    // an endpoint at a time: each is a cache miss. The sizes are in the entries, so this pass
    // fetches the block's values (up to kIxBlock misses in flight) while it counts.
    std::size_t n = 0;
    for (const staged_ix* s = first; s != last; ++s)
      if (s->live) {
        if (s->value_size > staged_ix::kInline)
          __builtin_prefetch(staged_values_.data() + staged_at(*s));
        n += 1 + keys::str16_size(staged_value(*s));
      }
    // An inline value is copied as all kInline bytes (a copy of fixed size, no call), its
    // length saying how many count: room for the last one's spare bytes, cut off after.
    out.resize(n + staged_ix::kInline);
    char* p = out.data();
    for (const staged_ix* s = first; s != last; ++s) {
      if (!s->live) continue;
      *p++ = static_cast<char>(s->seq % kIxBlock);  // as put_ix_item
      p = s->value_size <= staged_ix::kInline
              ? keys::write_str16_fixed<staged_ix::kInline>(p, s->value, s->value_size)
              : keys::write_str16(p, staged_value(*s));
    }
    out.resize(n);
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

}  // namespace hooklog::projections
