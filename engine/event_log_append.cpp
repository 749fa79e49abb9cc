// event_log's write path: a group appended in one transaction of each env, answered after the
// log's commit (append_then), its index entries written after (event_log.hpp has the contract).
#include <algorithm>
#include <cstring>

#include "engine/event_log.hpp"
#include "engine/log_keys.hpp"
#include "engine/logger.hpp"
#include "engine/merkle_store.hpp"
#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"
#include "engine/time_util.hpp"

namespace hooklog {

using namespace log_keys;

result<std::optional<std::uint64_t>> event_log::claim_idem(append_group& g, const record& r) {
  auto prior = index_->put_idem(g.ixt, idem_key(r.tenant, r.source, r.idempotency_key), r.seq);
  if (!prior) g.index_failed = true;
  return prior;
}

namespace {
// Set while this thread runs append_then's `durable`: its group is in the log, not yet in the
// index env, so its own queries (on any log: the flag is per thread) walk the records instead
// of reading (or waiting for) the index env.
thread_local bool t_answering_early = false;

struct answering_early {
  answering_early() { t_answering_early = true; }
  ~answering_early() { t_answering_early = false; }
  answering_early(const answering_early&) = delete;
  answering_early& operator=(const answering_early&) = delete;
};

// An announced group is settled on every path: normally after its index write; if an
// exception leaves run_append first, the index env is marked behind (readers walk the records;
// the next append catches it up) and the group settled, so that no reader waits forever.
class settle_on_unwind {
 public:
  explicit settle_on_unwind(log_index& ix) : ix_(ix) {}
  ~settle_on_unwind() {
    if (armed_) ix_.abandon(seq_);
  }
  settle_on_unwind(const settle_on_unwind&) = delete;
  settle_on_unwind& operator=(const settle_on_unwind&) = delete;
  void announce(std::uint64_t s) {
    ix_.announce(s);
    seq_ = s;
    armed_ = true;
  }
  void settle() {
    armed_ = false;
    ix_.settle(seq_);
  }

 private:
  log_index& ix_;
  std::uint64_t seq_ = 0;
  bool armed_ = false;
};
}  // namespace

bool event_log::index_readable() const {
  if (t_answering_early) return false;
  index_->wait_settled();
  return index_->usable();
}

std::vector<result<append_outcome>> event_log::run_append(
    std::vector<record>& records, const std::function<result<void>(append_group&)>& fill,
    const outcomes_fn* durable) {
  std::vector<result<append_outcome>> out;
  // Every outcome before the log's commit is a failure of the whole group.
  auto fail = [&](const error& e) {
    out.assign(records.size(), e);
    if (durable) (*durable)(out);
    return std::move(out);
  };
  if (opts_.read_only) return fail(make_error(errc::read_only, "the log is open read-only"));
  // The idempotency look-ups below read the index env: it must hold every record first.
  if (index_->indexed_through() < applied_seq())
    if (auto c = index_->catch_up(index_source()); !c) return fail(c.err());
  // The records' own times, restored when a full map makes us retry.
  std::vector<std::pair<std::int64_t, std::int64_t>> times;
  times.reserve(records.size());
  for (const auto& r : records) times.emplace_back(r.recorded_at, r.occurred_at);

  log_head new_head;
  std::int64_t new_last_recorded = 0;
  std::uint64_t new_applied = 0;
  result<void> indexed;  // the index env's commit, after the log's
  settle_on_unwind announced(*index_);
  for (;;) {
    out.clear();
    bool index_full = false;
    auto attempt = [&]() -> result<void> {
      std::shared_lock lock(resize_mutex_);
      auto ixt = lmdb::txn::begin(index_->env(), false);
      if (!ixt) return ixt.err();
      auto t = lmdb::txn::begin(env_, false);
      if (!t) return t.err();
      append_group g{*t, *ixt, times, out};
      {
        std::lock_guard h(head_mutex_);
        g.head = head_;
        g.last_recorded = last_recorded_at_;
      }
      g.applied = applied_seq();
      const std::uint64_t tree_first = g.applied;  // leaf index of the group's first seq
      g.leaves.reserve(records.size());
      if (auto f = fill(g); !f) {
        index_full = g.index_failed;
        return f;
      }
      if (has_merkle_)
        if (auto m =
                merkle::append(*t, merkle_, records_.handle(), tree_first, g.leaves, gaps_dbi());
            !m)
          return m;
      if (auto c = t->commit(); !c) return c;  // durable from here on
      new_head = g.head;
      new_last_recorded = g.last_recorded;
      new_applied = g.applied;
      if (durable) {
        // Announced before the head moves: whoever sees the records committed (or answered)
        // and then queries the indexes waits for this group's entries.
        announced.announce(new_applied);
        publish_commit(new_head, new_last_recorded, new_applied);
        // This thread holds the resize lock shared; a query from `durable` takes it shared
        // again. Safe: its only exclusive users (grow_map, log_index::grow) run on this thread.
        answering_early scope;
        (*durable)(out);
      }
      // The index entries, put in key order (neighbouring keys share pages), and the binding;
      // no fsync. A failure leaves indexed_through behind: caught up below.
      auto w = index_->finish(*ixt, g.ix_keys, g.applied, g.head.chain_hash);
      indexed =
          w ? index_->commit_group(*ixt, *w, g.applied, g.head.chain_hash) : result<void>(w.err());
      return {};
    };
    auto r = attempt();
    if (r) break;
    if (r.code() == make_error_code(errc::map_full)) {
      if (auto g = index_full ? index_->grow() : grow_map(); !g) return fail(g.err());
      continue;  // the whole group again, on a larger map
    }
    return fail(r.err());
  }
  if (!indexed) {
    // The records are durable; their entries come from the records (growing a full map).
    auto src = index_source();
    src.applied = std::max(src.applied, new_applied);
    auto c = index_->catch_up(src);
    if (!c)
      logging::error("storage.index", "the log's index env lags the records: caught up later",
                     {{"reason", c.err().what()}, {"indexed_through", index_->indexed_through()}});
  }
  if (durable)
    announced.settle();  // in, or usable() false: readers may go on
  else
    publish_commit(new_head, new_last_recorded, new_applied);
  return out;
}

std::vector<result<append_outcome>> event_log::append(std::vector<record>& records) {
  std::vector<result<append_outcome>> out;
  append_then(records, [&](std::vector<result<append_outcome>>& o) { out = std::move(o); });
  return out;
}

void event_log::append_then(std::vector<record>& records, const outcomes_fn& durable) {
  auto fill = [&](append_group& g) -> result<void> {
    const std::int64_t now = now_micros();
    for (std::size_t i = 0; i < records.size(); ++i) {
      record& r = records[i];
      // A producer's own time (a restored export) is kept unless it would go back in
      // time: recorded_at never decreases along the log, record by record (range scans
      // search it by bisection), so the last record holds the largest (read on open).
      r.recorded_at = std::max(g.times[i].first ? g.times[i].first : now, g.last_recorded);
      r.occurred_at = g.times[i].second || r.occurred_given ? g.times[i].second : r.recorded_at;
      r.seq = g.head.seq + 1;
      if (auto e = encode_unsealed(r, scratch_); !e) {
        g.out.emplace_back(e.err());
        continue;
      }
      if (!r.idempotency_key.empty()) {
        auto prior = claim_idem(g, r);
        if (!prior) return prior.err();
        if (*prior) {
          g.out.emplace_back(append_outcome{**prior, true});
          continue;
        }
      }
      if (auto st = store_encoded(g, r); !st) return st;
      g.out.emplace_back(append_outcome{r.seq, false});
    }
    return {};
  };
  run_append(records, fill, &durable);
}

result<void> event_log::store_encoded(append_group& g, record& r) {
  g.head.chain_hash = seal(scratch_, g.head.chain_hash);
  r.chain_hash = g.head.chain_hash;
  std::memcpy(r.leaf_hash.data(), scratch_.data() + format::kOffsetLeafHash, 32);
  g.leaves.push_back(r.leaf_hash);
  if (auto p = records_.put(g.t, seq_key(r.seq), scratch_, MDB_APPEND); !p) return p.err();
  collect_index_keys(r, index_->entity_bucket_bits(), g.ix_keys);
  g.head.seq = r.seq;
  g.applied = r.seq;
  g.last_recorded = r.recorded_at;
  return {};
}

void event_log::publish_commit(const log_head& head, std::int64_t last_recorded,
                               std::uint64_t applied) {
  {
    std::lock_guard g(head_mutex_);
    head_ = head;
    last_recorded_at_ = last_recorded;
  }
  {
    std::lock_guard g(commit_mutex_);
    committed_.store(head.seq, std::memory_order_release);
    applied_.store(std::max(applied, head.seq), std::memory_order_release);
  }
  commit_cv_.notify_all();
}

}  // namespace hooklog
