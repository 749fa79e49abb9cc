// event_log in cluster mode: records that arrive with their seq (the stream sequence) and
// recorded_at, and the gaps a late repeat leaves (event_log.hpp, docs/FORMAT.md).
#include <algorithm>
#include <cstring>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "engine/log_keys.hpp"
#include "engine/merkle_store.hpp"
#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"

namespace hooklog {

using namespace log_keys;

std::vector<result<append_outcome>> event_log::append_replicated(std::vector<record>& records) {
  std::vector<result<append_outcome>> out;
  if (opts_.read_only) {
    out.assign(records.size(), make_error(errc::read_only, "the log is open read-only"));
    return out;
  }
  // The messages' own times, restored when a full map makes us retry.
  std::vector<std::pair<std::int64_t, std::int64_t>> times;
  times.reserve(records.size());
  for (const auto& r : records) times.emplace_back(r.recorded_at, r.occurred_at);

  log_head new_head;
  std::int64_t new_last_recorded = 0;
  std::uint64_t new_applied = 0;
  for (;;) {
    out.clear();
    log_head head;
    std::int64_t last_recorded;
    {
      std::lock_guard g(head_mutex_);
      head = head_;
      last_recorded = last_recorded_at_;
    }
    std::uint64_t applied = applied_seq();
    auto attempt = [&]() -> result<void> {
      std::shared_lock lock(resize_mutex_);
      auto t = lmdb::txn::begin(env_, false);
      if (!t) return t.err();
      std::array<std::vector<std::string>, 5> ix_keys;
      // The Merkle tree's leaves of this batch: one per seq, kGapLeaf for a gap, so leaf s-1 is
      // seq s on every node (engine/merkle_store.hpp).
      const std::uint64_t tree_first = applied;
      std::vector<hash256> leaves;
      leaves.reserve(records.size());
      for (std::size_t i = 0; i < records.size(); ++i) {
        record& r = records[i];
        if (r.seq <= applied)
          return make_error(errc::sequence_mismatch, "replicated record " + std::to_string(r.seq) +
                                                         " is not after the last applied seq " +
                                                         std::to_string(applied));
        if (r.kind == kUnreadableMessage) {  // a message that is no record: a gap to 0
          if (auto p = gaps_.put(*t, seq_key(r.seq), bytes::be64(0), MDB_APPEND); !p)
            return p.err();
          leaves.push_back(merkle::kGapLeaf);
          applied = r.seq;
          out.emplace_back(
              make_error(errc::invalid_record,
                         "stream message " + std::to_string(r.seq) + " is not a record"));
          continue;
        }
        // Deterministic on every node: the message's time, never before the previous record's.
        r.recorded_at = std::max(times[i].first, last_recorded);
        r.occurred_at = times[i].second ? times[i].second : r.recorded_at;
        if (!r.idempotency_key.empty()) {
          auto prior = idem_.put_new(*t, idem_key(r.tenant, r.source, r.idempotency_key),
                                     bytes::be64(r.seq));
          if (!prior) return prior.err();
          if (*prior) {
            const std::uint64_t original = bytes::get_be64(**prior);
            if (auto p = gaps_.put(*t, seq_key(r.seq), bytes::be64(original), MDB_APPEND); !p)
              return p.err();
            leaves.push_back(merkle::kGapLeaf);
            applied = r.seq;
            out.emplace_back(append_outcome{original, true});
            continue;
          }
        }
        if (auto e = encode(r, scratch_); !e) return e.err();  // the publisher encoded it once
        if (auto st = store_encoded(*t, r, head, ix_keys, leaves); !st) return st;
        applied = r.seq;
        last_recorded = r.recorded_at;
        out.emplace_back(append_outcome{r.seq, false});
      }
      if (auto f = finish_append(*t, ix_keys, tree_first, leaves); !f) return f;
      new_head = head;
      new_last_recorded = last_recorded;
      new_applied = applied;
      return {};
    };
    auto r = attempt();
    if (r) break;
    if (r.code() == make_error_code(errc::map_full)) {
      if (auto g = grow_map(); !g) {
        out.assign(records.size(), g.err());
        return out;
      }
      continue;
    }
    out.assign(records.size(), r.err());
    return out;
  }
  publish_commit(new_head, new_last_recorded, new_applied);
  return out;
}

result<std::optional<std::uint64_t>> event_log::gap_original(std::uint64_t seq) const {
  if (!has_gaps_) return std::optional<std::uint64_t>{};
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  auto v = gaps_.get(*t, seq_key(seq));
  if (!v) return v.err();
  if (!*v) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{bytes::get_be64(**v)};
}

result<std::optional<std::string>> event_log::cluster_cell() const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  auto v = meta_.get(*t, "cell");
  if (!v) return v.err();
  if (!*v) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(**v)};
}

result<void> event_log::set_cluster_cell(std::string_view cell) {
  if (opts_.read_only) return make_error(errc::read_only, "the log is open read-only");
  std::shared_lock lock(resize_mutex_);
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return t.err();
  if (auto p = meta_.put(*t, "cell", cell); !p) return p;
  return t->commit();
}

result<bool> event_log::all_gaps(lmdb::txn& t, std::uint64_t from, std::uint64_t to) const {
  if (from >= to) return true;
  if (!has_gaps_) return false;
  for (std::uint64_t s = from; s < to; ++s) {
    auto v = gaps_.get(t, seq_key(s));
    if (!v) return v.err();
    if (!*v) return false;
  }
  return true;
}

}  // namespace hooklog
