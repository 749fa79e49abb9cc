// event_log's reads by query: scan() through the index that drives it, in either direction.
#include <algorithm>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "engine/index_walk.hpp"
#include "engine/log_keys.hpp"
#include "engine/record_codec.hpp"

namespace hooklog {
namespace {

using namespace log_keys;

bool glob_match(std::string_view pattern, std::string_view type) {
  if (pattern.empty() || pattern == "*") return true;
  if (pattern.back() == '*') return type.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  return pattern == type;
}

bool matches(const record_view& v, const scan_query& q) {
  if (v.seq < q.from_seq || v.seq > q.to_seq) return false;
  if (q.kind && v.kind != *q.kind) return false;
  if (q.occurred_from && v.occurred_at < *q.occurred_from) return false;
  if (q.occurred_to && v.occurred_at >= *q.occurred_to) return false;
  if (q.recorded_from && v.recorded_at < *q.recorded_from) return false;
  if (q.recorded_to && v.recorded_at >= *q.recorded_to) return false;
  if (!q.tenant.empty() && v.tenant != q.tenant) return false;
  if (!q.source.empty() && v.source != q.source) return false;
  if (!q.type.empty() && !glob_match(q.type, v.type)) return false;
  if (!q.entity_kind.empty() &&
      (v.entity_kind != q.entity_kind || (!q.entity_id.empty() && v.entity_id != q.entity_id)))
    return false;
  if (q.ref_seq && v.ref_seq != *q.ref_seq) return false;
  return true;
}

// A decoded record found at index or records key `key`: handed to the scan's callback with its
// position (the key in hex) when it matches the query, and counted. False when the callback ends
// the scan.
bool offer(const record_view& v, std::string_view key, const scan_query& q,
           const event_log::scan_fn& fn, std::uint64_t& matched) {
  if (!matches(v, q)) return true;
  ++matched;
  return fn(v, bytes::to_hex(key.data(), key.size()));
}

// The records a walk examines against q.examine_limit (scan_stop in event_log.hpp).
class examine_budget {
 public:
  examine_budget(const scan_query& q, scan_stop* stop) : limit_(q.examine_limit), stop_(stop) {}
  // Called before examining the record at `key` (the walk goes on): false once the bound is
  // spent, after filling the stop with the last examined record's position.
  bool admit(std::string_view key) {
    if (limit_ == 0) return true;
    if (examined_ == limit_) {
      if (stop_) {
        stop_->bounded = true;
        stop_->resume = bytes::to_hex(last_.data(), last_.size());
      }
      return false;
    }
    ++examined_;
    last_.assign(key);
    return true;
  }

 private:
  std::uint64_t limit_;
  scan_stop* stop_;
  std::uint64_t examined_ = 0;
  std::string last_;
};

// Whether `position` is one of an index walk of `q` in seq order (an exact prefix: ref_seq, one
// entity, an exact event type, a tenant), then the seq: the records' walk in seq order, which
// filters the same records, goes on after that seq.
bool ends_seq_ordered_walk(const scan_query& q, bool events_only, bool exact_type,
                           std::string_view position) {
  auto is = [&](const std::string& prefix) {
    return position.size() == prefix.size() + 8 && position.substr(0, prefix.size()) == prefix;
  };
  if (q.ref_seq) return is(bytes::be64(*q.ref_seq));
  if (!q.entity_id.empty() && is(entity_prefix(q.entity_kind, q.entity_id))) return true;
  if (!events_only || !q.kind) return false;
  return (exact_type && is(q.type + '\0')) || (!q.tenant.empty() && is(q.tenant + '\0'));
}
}  // namespace

result<std::optional<std::uint64_t>> event_log::first_seq_recorded_at_or_after(
    lmdb::txn& t, std::int64_t micros) const {
  std::uint64_t lo = 1, hi = committed_seq() + 1;  // answer in [lo, hi]; hi = none
  auto c = lmdb::cursor::open(t, records_);
  if (!c) return c.err();
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    // The first record at mid or after it (a cluster-mode gap holds none).
    auto kv = c->seek(seq_key(mid));
    if (!kv) return kv.err();
    if (!*kv || bytes::get_be64((**kv).first) >= hi) {
      hi = mid;
      continue;
    }
    const std::uint64_t at = bytes::get_be64((**kv).first);
    auto d = decode((**kv).second, at);
    if (!d) return d.err();
    if (d->recorded_at < micros) lo = at + 1;
    else hi = mid;  // [mid, at) holds no record: mid answers as well as `at`
  }
  if (lo > committed_seq()) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{lo};
}

result<std::uint64_t> event_log::scan(const scan_query& query, const scan_fn& fn,
                                      scan_stop* stop) const {
  if (stop) *stop = scan_stop{};
  const bool indexed = index_readable();  // before the lock: it may wait for the writer
  const bool by_entity =
      indexed && !query.seq_order && query.ref_seq == std::nullopt && !query.entity_kind.empty();
  auto lock = read_lock();
  // ix_entity's newest keys are in the writer's memory (engine/entity_tail.hpp): copied under
  // its lock, which is let go once the index env's transaction began (that transaction then
  // says which of them its ix_entity lacks).
  index_key_list tail;
  std::shared_lock<std::shared_mutex> tail_lock;
  if (by_entity && index_->separate())
    tail_lock =
        query.entity_id.empty()
            ? index_->tail_keys(query.entity_kind + '\0', false, query.from_seq, query.to_seq, tail)
            : index_->tail_keys(entity_prefix(query.entity_kind, query.entity_id), true,
                                query.from_seq, query.to_seq, tail);
  // The index env's transaction first: every entry it holds then points at a record the log's
  // transaction holds (the log commits before the index env).
  lmdb::txn index_txn;
  if (index_->separate()) {
    auto it = lmdb::txn::begin(index_->env(), true);
    if (!it) return it.err();
    index_txn = std::move(*it);
  }
  if (tail_lock) tail_lock.unlock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  lmdb::txn& ixt = index_->separate() ? index_txn : *t;  // legacy: the indexes are in the log env
  scan_query q = query;
  if (q.recorded_from) {
    auto s = first_seq_recorded_at_or_after(*t, *q.recorded_from);
    if (!s) return s.err();
    if (!*s) return std::uint64_t{0};
    q.from_seq = std::max(q.from_seq, **s);
  }
  if (q.recorded_to) {
    auto s = first_seq_recorded_at_or_after(*t, *q.recorded_to);
    if (!s) return s.err();
    if (*s) q.to_seq = std::min(q.to_seq, **s - 1);
  }
  q.to_seq = std::min(q.to_seq, read_limit_);
  if (q.from_seq > q.to_seq) return std::uint64_t{0};

  const bool events_only = !q.kind || *q.kind == record_kind::event_received;
  const bool exact_type = !q.type.empty() && q.type.find('*') == std::string::npos;
  // Without a usable index env (a read-only open beside a lagging or missing one; index_readable)
  // every query walks the records in seq order below: the same records, the index's order only
  // where that is seq order (one prefix).
  const bool ix = indexed && !q.seq_order;
  if (ix && q.ref_seq)
    return scan_index(ixt, *t, index_->ix(4), bytes::be64(*q.ref_seq), true, q, fn, stop);
  // ix_entity without the writer's tail (a read-only process beside a writer) answers only
  // while it holds every key; otherwise the walks below answer, filtering by entity.
  bool entity_ix = ix && by_entity;
  if (entity_ix && index_->separate() && !index_->write_side()) {
    auto whole = index_->entity_whole(ixt, q.to_seq);
    if (!whole) return whole.err();
    entity_ix = *whole;
  }
  if (entity_ix && !q.entity_id.empty())
    return scan_index(ixt, *t, index_->ix(3), entity_prefix(q.entity_kind, q.entity_id), true, q,
                      fn, stop, index_->entity_bucket_bits(), &tail);
  if (entity_ix)
    return scan_index(ixt, *t, index_->ix(3), q.entity_kind + '\0', false, q, fn, stop,
                      index_->entity_bucket_bits(), &tail);
  if (ix && events_only && q.kind && exact_type)
    return scan_index(ixt, *t, index_->ix(1), q.type + '\0', true, q, fn, stop);
  if (ix && events_only && q.kind && !q.tenant.empty())
    return scan_index(ixt, *t, index_->ix(2), q.tenant + '\0', true, q, fn, stop);

  // Occurred-time order, or sequence order.
  const bool by_occurred = ix && events_only && q.kind && (q.occurred_from || q.occurred_to);
  auto c = lmdb::cursor::open(by_occurred ? ixt : *t, by_occurred ? index_->ix(0) : records_);
  if (!c) return c.err();
  const bool desc = q.descending;
  std::string start;
  if (!q.after.empty()) {
    auto a = bytes::from_hex(q.after);
    if (!a) return make_error(errc::invalid_record, "the resume position is not valid");
    start = *a;
    // A position of another walk of this query (the index env became usable or not between two
    // pages): one of an index walk in seq order (prefix, then the seq) goes on here by its seq;
    // any other shape is refused rather than sought (it would skip records without a word).
    const std::size_t want = by_occurred ? 16 : 8;
    if (start.size() != want) {
      if (by_occurred || !ends_seq_ordered_walk(q, events_only, exact_type, start))
        return make_error(errc::invalid_record, "the resume position does not fit this query");
      start = start.substr(start.size() - 8);
    }
  } else if (by_occurred) {
    // Descending: from the end of [from, to) (no record has seq 0: (to, 0) is past them all).
    if (!desc)
      start = occurred_key(q.occurred_from.value_or(INT64_MIN), 0);
    else if (q.occurred_to)
      start = occurred_key(*q.occurred_to, 0);
  } else {
    start = seq_key(desc ? q.to_seq : q.from_seq);
  }
  auto kv = position(*c, start, desc, !q.after.empty() || (desc && by_occurred));
  auto advance = [&] { return desc ? c->prev() : c->next(); };
  lmdb::page_prefetch prefetch(desc);  // the records' pages, in the seq-order walk
  std::uint64_t matched = 0;
  examine_budget budget(q, stop);
  for (;;) {
    if (!kv) return kv.err();
    if (!*kv) break;
    auto [k, val] = **kv;
    std::uint64_t seq;
    std::string_view bytes_view;
    if (by_occurred) {
      seq = bytes::get_be64(k.substr(8));
      if (!desc && q.occurred_to && bytes::get_be64(k) >= bytes::ordered_signed(*q.occurred_to))
        break;
      if (desc && q.occurred_from && bytes::get_be64(k) < bytes::ordered_signed(*q.occurred_from))
        break;
      if (!budget.admit(k)) break;
      auto v = records_.get(*t, seq_key(seq));
      if (!v) return v.err();
      if (!*v) break;
      bytes_view = **v;
    } else {
      seq = bytes::get_be64(k);
      if (desc ? seq < q.from_seq : seq > q.to_seq) break;
      if (!budget.admit(k)) break;
      if (seq > q.to_seq) {  // descending from a cursor past to_seq
        kv = advance();
        continue;
      }
      bytes_view = val;
      prefetch(val);
    }
    auto d = decode(bytes_view, seq);
    if (!d) return d.err();
    if (!offer(*d, k, q, fn, matched)) break;
    kv = advance();
  }
  return matched;
}

result<std::uint64_t> event_log::scan_index(lmdb::txn& ixt, lmdb::txn& t, const lmdb::dbi& ix,
                                            std::string prefix, bool exact_prefix,
                                            const scan_query& q, const scan_fn& fn, scan_stop* stop,
                                            unsigned bucket_bits, index_key_list* tail) const {
  const bool desc = q.descending;
  std::string start = prefix;
  if (exact_prefix) {
    bytes::put_be64(start, desc ? q.to_seq : q.from_seq);
  } else if (desc) {
    start.back() = '\x01';  // prefix ends in '\0': just past every key under it
  }
  std::string after;
  if (!q.after.empty()) {
    auto a = bytes::from_hex(q.after);
    // A seq (the records' walk of this query, when the index env was not usable for the page
    // before) goes on here in seq order too.
    if (a && exact_prefix && a->size() == 8) a = prefix + *a;
    if (!a || a->size() < prefix.size() + 8 || a->compare(0, prefix.size(), prefix) != 0 ||
        (exact_prefix && a->size() != prefix.size() + 8))
      return make_error(errc::invalid_record, "the resume position does not fit this query");
    after = *a;
    if (desc ? after < start : after > start) start = after;
  }
  // A bucketed index (ix_entity, log_keys.hpp): the buckets of the seqs asked for, merged in
  // the order of the keys without their bucket; one entity's keys are in bucket order already.
  auto layout = index_walk::layout::plain;
  std::uint32_t lo = 0, hi = 0;
  bool walk_db = true;
  if (bucket_bits != 0) {
    auto held = index_walk::buckets_of(ixt, ix);
    if (!held) return held.err();
    walk_db = held->has_value();
    const index_walk::bucket_range range = held->value_or(index_walk::bucket_range{});
    lo = std::max(range.lo, log_keys::entity_bucket(q.from_seq, bucket_bits));
    hi = std::min(range.hi, log_keys::entity_bucket(q.to_seq, bucket_bits));
    // One entity, resumed: the buckets before `after` in the walking order hold nothing more.
    if (exact_prefix && !after.empty()) {
      const std::uint64_t after_seq = bytes::get_be64(after.substr(after.size() - 8));
      const std::uint32_t from = log_keys::entity_bucket(after_seq, bucket_bits);
      if (desc)
        hi = std::min(hi, from);
      else
        lo = std::max(lo, from);
    }
    layout = exact_prefix ? index_walk::layout::bucketed_disjoint : index_walk::layout::bucketed;
  }
  const bool skip_start = !after.empty() && start == after;
  index_walk walk(ixt, ix, prefix, desc, layout);
  result<std::optional<std::string_view>> wkv = std::optional<std::string_view>{};
  if (walk_db) wkv = walk.seek(start, skip_start, lo, hi);
  // The writer's tail (keys ix_entity does not hold yet, ascending), merged with the walk: its
  // keys from `start` on in the walking order.
  std::vector<std::string_view> held;
  if (tail)
    if (auto a = index_->entity_keys_after(ixt, *tail, held); !a) return a.err();
  const std::size_t tail_n = held.size();
  std::size_t ti = 0;  // tail keys taken, in the walking order
  if (tail_n != 0) {
    const auto& v = held;
    const std::string_view start_view = start;
    const auto from = skip_start != desc ? std::upper_bound(v.begin(), v.end(), start_view)
                                         : std::lower_bound(v.begin(), v.end(), start_view);
    const auto at = static_cast<std::size_t>(from - v.begin());
    ti = desc ? tail_n - at : at;  // desc: the keys before `from`, from the last one down
  }
  bool from_tail = false;
  auto pick = [&]() -> result<std::optional<std::string_view>> {
    if (!wkv) return wkv.err();
    std::optional<std::string_view> tk;
    if (ti < tail_n) tk = held[desc ? tail_n - 1 - ti : ti];
    from_tail = tk && (!*wkv || (desc ? *tk > **wkv : *tk < **wkv));
    return from_tail ? tk : *wkv;
  };
  auto kv = pick();
  auto advance = [&] {
    if (from_tail)
      ++ti;
    else
      wkv = walk.next();
    return pick();
  };
  std::uint64_t matched = 0;
  examine_budget budget(q, stop);
  for (;;) {
    if (!kv) return kv.err();
    if (!*kv) break;
    const std::string_view k = **kv;  // under the prefix: the walk ends where it does
    if (k.size() < prefix.size() + 8) break;
    if (exact_prefix && k.size() != prefix.size() + 8) break;
    if (k == after) {
      kv = advance();
      continue;
    }
    const std::uint64_t seq = bytes::get_be64(k.substr(k.size() - 8));
    if (exact_prefix && (desc ? seq < q.from_seq : seq > q.to_seq)) break;
    if (!budget.admit(k)) break;
    if (seq < q.from_seq || seq > q.to_seq) {
      kv = advance();
      continue;
    }
    auto v = records_.get(t, seq_key(seq));
    if (!v) return v.err();
    if (!*v) break;
    auto d = decode(**v, seq);
    if (!d) return d.err();
    if (!offer(*d, k, q, fn, matched)) break;
    kv = advance();
  }
  return matched;
}

}  // namespace hooklog
