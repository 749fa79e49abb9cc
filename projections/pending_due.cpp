// The pending projection's due order ("pending_due": pending.hpp describes the layout): a key
// per (due time, event) holding up to kDueChunk endpoints' entries, inserted into and erased
// from through one cursor. The projection's handlers are in pending.cpp.
#include "projections/pending.hpp"

#include "projections/pending_codec.hpp"

namespace hooklog::projections {

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

}  // namespace hooklog::projections
