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
  // The Merkle tree gets one leaf per seq, kGapLeaf for a gap, so leaf s-1 is seq s on every
  // node (engine/merkle_store.hpp).
  return run_append(records, [&](append_group& g) -> result<void> {
    for (std::size_t i = 0; i < records.size(); ++i) {
      record& r = records[i];
      if (r.seq <= g.applied)
        return make_error(errc::sequence_mismatch, "replicated record " + std::to_string(r.seq) +
                                                       " is not after the last applied seq " +
                                                       std::to_string(g.applied));
      if (r.kind == kUnreadableMessage) {  // a message that is no record: a gap to 0
        if (auto p = gaps_.put(g.t, seq_key(r.seq), bytes::be64(0), MDB_APPEND); !p)
          return p.err();
        g.leaves.push_back(merkle::kGapLeaf);
        g.applied = r.seq;
        g.out.emplace_back(make_error(
            errc::invalid_record, "stream message " + std::to_string(r.seq) + " is not a record"));
        continue;
      }
      // Deterministic on every node: the message's time, never before the previous record's.
      r.recorded_at = std::max(g.times[i].first, g.last_recorded);
      // The publisher filled an absent occurred_at with the record's time before it published
      // (jetstream_publisher.cpp): a 0 here is the payload's own 1970-01-01T00:00:00Z.
      r.occurred_at = g.times[i].second;
      if (!r.idempotency_key.empty()) {
        auto prior = claim_idem(g, r);
        if (!prior) return prior.err();
        if (*prior) {
          const std::uint64_t original = **prior;
          if (auto p = gaps_.put(g.t, seq_key(r.seq), bytes::be64(original), MDB_APPEND); !p)
            return p.err();
          g.leaves.push_back(merkle::kGapLeaf);
          g.applied = r.seq;
          g.out.emplace_back(append_outcome{original, true});
          continue;
        }
      }
      if (auto e = encode_unsealed(r, scratch_); !e) return e.err();  // the publisher encoded it once
      if (auto st = store_encoded(g, r); !st) return st;
      g.out.emplace_back(append_outcome{r.seq, false});
    }
    return {};
  });
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
