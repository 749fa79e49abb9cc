#include "projections/timelines.hpp"

#include <algorithm>
#include <cstring>
#include <deque>

#include <nlohmann/json.hpp>

#include "engine/index_walk.hpp"
#include "engine/log_keys.hpp"
#include "engine/record.hpp"
#include "engine/time_util.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

namespace {
constexpr std::uint8_t kOutOfOrder = 1;
constexpr std::uint8_t kFromStated = 2;
constexpr std::size_t kSuffixSize = 16;  // occurred_at | seq, at the end of a transition's key
static_assert(kSuffixSize == timeline_held::kSuffixSize);
constexpr std::size_t kLatestFixed = kSuffixSize + 8;  // tl_latest: key suffix, last seq

// A transition's key: bucket | entity prefix | suffix.
std::string_view suffix_of(std::string_view key) {
  return key.substr(key.size() - kSuffixSize);
}
std::string_view group_of(std::string_view key) {
  return key.substr(0, key.size() - kSuffixSize);
}

// Puts into one database in a transaction, with MDB_APPEND while each key passes the largest
// key so far: LMDB then skips the search and fills pages instead of splitting them in half.
// Other keys are plain puts. What appends: tl_transitions' keys of the newest bucket, and a
// bulk load's tl_buckets keys of its first bucket (entity | bucket: a later bucket's keys fall
// between the earlier ones').
class appender {
 public:
  // Reads the database's largest key in `t`.
  result<void> start(lmdb::txn& t, const lmdb::dbi& db) {
    db_ = &db;
    auto c = lmdb::cursor::open(t, db);
    if (!c) return c.err();
    auto l = c->last();
    if (!l) return l.err();
    last_.assign(*l ? (*l)->first : std::string_view());
    return {};
  }
  // Through a cursor on the database in `t`.
  result<void> put(lmdb::cursor& c, std::string_view key, std::string_view value) {
    return put_with(key, [&](unsigned flags) { return c.put(key, value, flags); });
  }
  result<void> put(lmdb::txn& t, std::string_view key, std::string_view value) {
    return put_with(key, [&](unsigned flags) { return db_->put(t, key, value, flags); });
  }

 private:
  template <class Put>
  result<void> put_with(std::string_view key, Put&& put) {
    const bool past_end = key > std::string_view(last_);
    if (auto p = put(past_end ? MDB_APPEND : 0u); !p) return p;
    if (past_end) last_.assign(key);
    return {};
  }

  const lmdb::dbi* db_ = nullptr;
  std::string last_;  // "" when the database is empty (no key is empty)
};

void entity_prefix(std::string& k, std::string_view tenant, std::string_view kind,
                   std::string_view id) {
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
  return {{"kind", t.kind},
          {"id", t.id},
          {"tenant", t.tenant},
          {"status", t.current_status},
          {"transitions", std::move(arr)}};
}

result<void> timelines::open(state_store& s, lmdb::txn& t) {
  auto a = s.open_db(t, "tl_transitions");
  if (!a) return a.err();
  transitions_ = *a;
  auto l = s.open_db(t, "tl_latest");
  if (!l) return l.err();
  latest_ = *l;
  auto b = s.open_db(t, "tl_buckets");
  if (!b) return b.err();
  buckets_ = *b;
  auto c = s.open_db(t, "checkpoints");  // the runner's (runner.hpp)
  if (!c) return c.err();
  checkpoints_ = *c;
  return {};
}

result<void> timelines::apply(lmdb::txn& t, const record_view& r) {
  last_applied_ = r.seq;
  if (r.kind != record_kind::event_received || r.entity_kind.empty() || r.entity_id.empty() ||
      r.status_to.empty())
    return {};
  // Key and value written in place (one resize; into the bulk load's runs directly), not
  // appended field by field into arena_ and copied from there.
  const bool stated = !r.status_from.empty();
  const std::size_t key_size = log_keys::kBucketSize + keys::part_size(r.tenant) +
                               keys::part_size(r.entity_kind) + keys::part_size(r.entity_id) +
                               kSuffixSize;
  const std::size_t value_size =
      1 + 8 + keys::str16_size(r.status_from) + keys::str16_size(r.status_to);
  const std::uint32_t bucket = log_keys::entity_bucket(r.seq, bucket_bits_);
  auto write = [&](char* p) {
    p = log_keys::write_bucket(p, bucket);
    p = keys::write_part(p, r.tenant);
    p = keys::write_part(p, r.entity_kind);
    p = keys::write_part(p, r.entity_id);
    p = keys::write_i64_be(p, r.occurred_at);
    p = keys::write_u64_be(p, r.seq);
    *p++ = static_cast<char>(stated ? kFromStated : 0);  // kOutOfOrder: write_group
    p = keys::write_le<std::int64_t>(p, r.recorded_at);
    p = keys::write_str16(p, r.status_from);
    keys::write_str16(p, r.status_to);
  };
  if (bulk_) {
    runs_.add_written(key_size, value_size, write);
    return {};
  }
  held_.add(key_size, value_size, r.seq, write);
  const std::size_t unwritten = held_.size() - written_;
  if (unwritten >= max_staged_ || (unwritten > 0 && held_.bytes() > (std::size_t{1} << 31)))
    return write_staged(t);
  return {};
}

bool timelines::write_due() const {
  const std::size_t unwritten = held_.size() - written_;
  if (unwritten == 0) return false;
  const std::size_t span = max_held_ > SIZE_MAX / 4 ? SIZE_MAX : 4 * max_held_;  // records
  return max_held_ == 0 || retry_write_ || unwritten >= max_held_ ||
         held_.bytes() >= kMaxHeldBytes || last_applied_ - held_.seq(written_) >= span;
}

result<void> timelines::flush(lmdb::txn& t) {
  if (bulk_) return runs_.spill_if_over();
  return write_due() ? write_staged(t) : result<void>();
}

result<bool> timelines::write_held(lmdb::txn& t) {
  if (!has_held()) return false;
  if (auto w = write_staged(t); !w) return w.err();
  return true;
}

std::uint64_t timelines::stored_checkpoint(std::uint64_t last) const {
  return written_ == held_.size() ? last : held_.seq(written_) - 1;
}

void timelines::committed() {
  if (written_ > 0) retry_write_ = false;
  held_.commit(written_);
  written_ = 0;
}

void timelines::discard() {
  group_.clear();
  held_.discard_uncommitted();
  written_ = 0;  // what the rolled-back transaction wrote is held again
  if (held_.size() == 0) retry_write_ = false;
  runs_.clear();
  bulk_ = false;
}

void timelines::resetting(lmdb::txn& t) {
  held_.resetting(mdb_txn_id(t.handle()));
}

void timelines::reset_failed() {
  held_.resetting(0);
}

void timelines::dropped() {
  retry_write_ = false;
  group_.clear();
  held_.clear();
  written_ = 0;
  last_applied_ = 0;
}

template <class PutLatest, class PutBucket, class Put>
result<void> timelines::write_group(lmdb::cursor& latest, PutLatest&& put_latest,
                                    PutBucket&& put_bucket, Put&& put) {
  const std::size_t n = group_.size();
  const std::string_view first_key = group_[0].key;
  const std::string_view prefix = timeline_held::entity_of(first_key);
  // The entity's latest transition before the group (from earlier batches, or from an earlier
  // bucket of this one): its key's 16 bytes, its last seq, and `to`.
  auto kv = latest.seek(prefix);
  if (!kv) return kv.err();
  const bool past_end = !*kv;
  const bool known = *kv && (*kv)->first == prefix && (*kv)->second.size() >= kLatestFixed + 2;
  std::string_view before_key;  // empty when the entity is new
  std::uint64_t last_seq = 0;
  if (known) {
    latest_value_.assign((*kv)->second);  // copied: the puts below may move its page
    before_key = std::string_view(latest_value_).substr(0, kSuffixSize);
    last_seq = keys::get_u64_be(std::string_view(latest_value_).substr(kSuffixSize));
  }
  // The entity's first group in this bucket: groups come in bucket order, so tl_latest's last
  // seq is of an earlier bucket then.
  const std::uint32_t bucket = log_keys::get_bucket(first_key);
  const bool new_bucket = !known || log_keys::entity_bucket(last_seq, bucket_bits_) != bucket;
  // A transition is late when an earlier record has a greater key: tl_latest's (every record it
  // saw is earlier), or a later key of the group with a smaller seq.
  late_.assign(n, 0);
  std::uint64_t min_seq_after = UINT64_MAX;
  for (std::size_t i = n; i-- > 0;) {
    const std::uint64_t seq = group_[i].seq;
    if (min_seq_after < seq || (known && suffix_of(group_[i].key) < before_key)) late_[i] = 1;
    min_seq_after = std::min(min_seq_after, seq);
    last_seq = std::max(last_seq, seq);
  }
  // tl_latest's new value: the greater of its key and the group's last.
  const held& last = group_[n - 1];
  std::string& value = value_;  // free again once tl_latest is put
  std::string_view to;
  if (known && before_key > suffix_of(last.key)) {
    value.assign(before_key);
    std::size_t at = kLatestFixed;
    auto v = keys::get_str16(latest_value_, at);
    if (v) to = *v;
  } else {
    value.assign(suffix_of(last.key));
    std::size_t at = 9;
    auto from = keys::get_str16(last.value, at);
    auto v = from ? keys::get_str16(last.value, at) : std::nullopt;
    if (v) to = *v;
  }
  keys::put_u64_be(value, last_seq);
  keys::put_str16(value, to);
  if (auto p = latest.put(prefix, value, past_end ? MDB_APPEND : 0); !p) return p;
  if (auto p = put_latest(prefix, value); !p) return p;
  if (new_bucket) {
    bucket_key_.assign(prefix);
    log_keys::append_bucket(bucket_key_, bucket);
    if (auto p = put_bucket(bucket_key_); !p) return p;
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view v = group_[i].value;
    if (late_[i] != 0) {
      value_.assign(v);
      value_[0] = static_cast<char>(value_[0] | kOutOfOrder);
      v = value_;
    }
    if (auto p = put(group_[i].key, v); !p) return p;
  }
  group_.clear();
  return {};
}

result<void> timelines::write_staged(lmdb::txn& t) {
  const std::size_t end = held_.size();
  if (written_ == end) return {};
  retry_write_ = true;  // until a commit of what this writes (committed())
  // By the heads, then (rarely) the rest: cheaper than byte compares of keys that share a long
  // prefix (bucket, tenant, kind).
  order_.clear();
  for (std::size_t i = written_; i < end; ++i) {
    const std::string_view k = held_.key(i);
    order_.push_back({keys::head_of(k.data(), k.size()), k.data(),
                      static_cast<std::uint32_t>(k.size()), static_cast<std::uint32_t>(i)});
  }
  std::sort(order_.begin(), order_.end(), [](const sort_entry& a, const sort_entry& b) {
    return keys::compare_keys(a.head, {a.key, a.size}, b.head, {b.key, b.size}) < 0;
  });
  auto c = lmdb::cursor::open(t, transitions_);
  if (!c) return c.err();
  auto lc = lmdb::cursor::open(t, latest_);
  if (!lc) return lc.err();
  appender transitions, buckets;
  if (auto s = transitions.start(t, transitions_); !s) return s;
  if (auto s = buckets.start(t, buckets_); !s) return s;
  auto no_count = [](std::string_view, std::string_view) { return result<void>(); };
  auto put_bucket = [&](std::string_view key) { return buckets.put(t, key, {}); };
  auto put = [&](std::string_view key, std::string_view value) {
    return transitions.put(*c, key, value);
  };
  group_.clear();
  for (const auto& o : order_) {
    const std::string_view key = held_.key(o.index);
    if (!group_.empty() && group_of(group_[0].key) != group_of(key))
      if (auto w = write_group(*lc, no_count, put_bucket, put); !w) return w;
    group_.push_back({key, held_.value(o.index), held_.seq(o.index)});
  }
  if (auto w = write_group(*lc, no_count, put_bucket, put); !w) return w;
  group_.clear();
  written_ = end;  // forgotten when the transaction commits (committed())
  return {};
}

bool timelines::begin_bulk(const std::string& run_dir, std::size_t memory) {
  dropped();  // the databases are empty: nothing held is of them
  runs_ = sorted_runs(run_dir, kName, memory);
  bulk_ = true;
  return true;
}

result<void> timelines::finish_bulk(bulk_writer& w) {
  if (!bulk_) return {};
  auto o = lmdb::cursor::open(w.txn(), transitions_);
  if (!o) return o.err();
  lmdb::cursor c = std::move(*o);
  auto ol = lmdb::cursor::open(w.txn(), latest_);
  if (!ol) return ol.err();
  lmdb::cursor lc = std::move(*ol);
  // Every put into tl_transitions appends (the merge is in key order); the parts count the
  // bytes of both databases' puts.
  auto count = [&](std::string_view key, std::string_view value) {
    return w.wrote(c, transitions_, &lc, &latest_, key.size(), value.size());
  };
  auto put = [&](std::string_view key, std::string_view value) -> result<void> {
    if (auto p = c.put(key, value, MDB_APPEND); !p) return p;
    return count(key, value);
  };
  appender buckets;
  if (auto s = buckets.start(w.txn(), buckets_); !s) return s;
  auto put_bucket = [&](std::string_view key) -> result<void> {
    if (auto p = buckets.put(w.txn(), key, {}); !p) return p;
    return count(key, {});
  };
  std::deque<std::string> copies;  // the entries read from run files (views need stable bytes)
  // `copy`: the views are valid only during the call (run files): the entry is copied first.
  auto visit = [&](std::string_view key, std::string_view v, bool copy) -> result<void> {
    if (key.size() < log_keys::kBucketSize + kSuffixSize) return {};  // never staged
    if (!group_.empty() && group_of(group_[0].key) != group_of(key)) {
      if (auto g = write_group(lc, count, put_bucket, put); !g) return g;
      copies.clear();
    }
    if (copy) {
      key = copies.emplace_back(key);
      v = copies.emplace_back(v);
    }
    group_.push_back({key, v, keys::get_u64_be(key.substr(key.size() - 8))});
    return {};
  };
  group_.clear();
  auto m =
      runs_.runs() == 0
          ? runs_.merge_memory(
                [&](std::string_view k, std::string_view v) { return visit(k, v, false); })
          : runs_.merge([&](std::string_view k, std::string_view v) { return visit(k, v, true); });
  if (!m) return m;
  if (!group_.empty())
    if (auto g = write_group(lc, count, put_bucket, put); !g) return g;
  runs_.clear();
  bulk_ = false;
  // A reader whose transaction began during the load (checkpoint 0, tl_* partly written) must
  // not join it with the transitions held after it.
  held_.raise_floor(last_applied_);
  return {};
}

result<std::optional<timeline>> timelines::get(lmdb::txn& t, std::string_view tenant,
                                               std::string_view kind, std::string_view id,
                                               std::size_t limit,
                                               std::optional<timeline_position> after) const {
  std::string prefix;
  entity_prefix(prefix, tenant, kind, id);
  // How far tl_* are whole in t, and the held transitions past that (committed batches only).
  std::uint64_t whole = 0;
  {
    auto v = checkpoints_.get(t, kName);
    if (!v) return v.err();
    if (*v && (*v)->size() == 8) whole = keys::get_u64_be(**v);
  }
  std::vector<timeline_held::copy> held;
  if (!held_.copy_entity(prefix, whole, mdb_txn_id(t.handle()), held))
    return make_error(proj_errc::read_again,
                      "timelines were written or rebuilt after the read transaction began");
  std::sort(held.begin(), held.end(),
            [](const auto& a, const auto& b) { return a.suffix < b.suffix; });
  // The current status, and the key of the entity's latest transition on disk.
  auto l = latest_.get(t, prefix);
  if (!l) return l.err();
  const bool known = *l && (*l)->size() >= kLatestFixed + 2;
  if (!known && held.empty()) return std::optional<timeline>{};
  const std::string_view disk_latest = known ? (**l).substr(0, kSuffixSize) : std::string_view();
  timeline tl;
  tl.tenant = std::string(tenant);
  tl.kind = std::string(kind);
  tl.id = std::string(id);
  if (!held.empty() && (!known || std::string_view(held.back().suffix) > disk_latest)) {
    if (auto h = decode_transition(held.back().suffix, 0, held.back().value))
      tl.current_status = h->to;
  } else {
    std::size_t at = kLatestFixed;
    if (auto to = keys::get_str16(**l, at)) tl.current_status = std::string(*to);
  }
  // The held ones decoded, each out_of_order as its write-out will decide it (write_group): an
  // earlier record has a greater key, on disk (tl_latest's) or held.
  std::vector<transition> held_steps;  // held_steps[i] is held[i]'s (what does not decode goes)
  held_steps.reserve(held.size());
  std::size_t kept = 0;
  for (std::size_t i = 0; i < held.size(); ++i)
    if (auto tr = decode_transition(held[i].suffix, 0, held[i].value)) {
      held_steps.push_back(std::move(*tr));
      if (kept != i) held[kept] = std::move(held[i]);  // (never a move into itself)
      ++kept;
    }
  held.resize(kept);
  {
    std::uint64_t min_seq_after = UINT64_MAX;
    for (std::size_t i = held_steps.size(); i-- > 0;) {
      auto& tr = held_steps[i];
      tr.out_of_order =
          min_seq_after < tr.seq || (known && std::string_view(held[i].suffix) < disk_latest);
      min_seq_after = std::min(min_seq_after, tr.seq);
    }
  }
  std::string start_suffix;  // the position after which a page starts
  if (after) {
    keys::put_i64_be(start_suffix, after->occurred_at);
    keys::put_u64_be(start_suffix, after->seq);
  }
  // From the earliest (or the first after `after`), so each derived `from` is the `to` of the
  // step before it; the disk's steps, then the held ones merged in.
  std::string before;         // the `to` of the step before the first one read
  std::string before_suffix;  // and its key's suffix ("" when none)
  std::vector<transition> disk;
  bool disk_more = false;
  if (known) {
    // The buckets that hold its transitions.
    auto bc = lmdb::cursor::open(t, buckets_);
    if (!bc) return bc.err();
    std::vector<std::uint32_t> buckets;
    for (auto kv = bc->seek(prefix);; kv = bc->next()) {
      if (!kv) return kv.err();
      if (!*kv || !(*kv)->first.starts_with(prefix)) break;
      if ((*kv)->first.size() == prefix.size() + log_keys::kBucketSize)
        buckets.push_back(log_keys::get_bucket((*kv)->first.substr(prefix.size())));
    }
    const std::string start = prefix + start_suffix;
    if (after) {
      // The step at the position, or the one before it, gives the first one's derived `from`.
      index_walk back(t, transitions_, prefix, true, index_walk::layout::bucketed);
      auto b = back.seek_buckets(start, false, buckets);
      if (!b) return b.err();
      if (*b)
        if (auto tr = decode_transition(**b, prefix.size(), back.value())) {
          before = tr->to;
          before_suffix = std::string((**b).substr(prefix.size()));
        }
    }
    index_walk walk(t, transitions_, prefix, false, index_walk::layout::bucketed);
    for (auto k = walk.seek_buckets(start, after.has_value(), buckets);; k = walk.next()) {
      if (!k) return k.err();
      if (!*k) break;
      if (disk.size() == limit) {
        disk_more = true;
        break;
      }
      if (auto tr = decode_transition(**k, prefix.size(), walk.value()))
        disk.push_back(std::move(*tr));
    }
  }
  // The held steps after the position; the one at or before it may give `before`.
  std::size_t h = 0;
  if (after) {
    while (h < held.size() && held[h].suffix <= start_suffix) ++h;
    if (h > 0 && held[h - 1].suffix > before_suffix) before = held_steps[h - 1].to;
  }
  auto key_less = [](const transition& a, const transition& b) {
    return a.occurred_at != b.occurred_at ? a.occurred_at < b.occurred_at : a.seq < b.seq;
  };
  std::size_t d = 0;
  while (d < disk.size() || h < held_steps.size()) {
    const bool take_disk =
        h == held_steps.size() || (d < disk.size() && key_less(disk[d], held_steps[h]));
    if (tl.transitions.size() == limit) {
      tl.more = true;
      break;
    }
    tl.transitions.push_back(std::move(take_disk ? disk[d++] : held_steps[h++]));
  }
  tl.more = tl.more || disk_more;
  derive_from(tl.transitions, std::move(before));
  return std::optional<timeline>(std::move(tl));
}

void derive_from(std::vector<transition>& steps, std::string before) {
  std::string previous_to = std::move(before);
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
