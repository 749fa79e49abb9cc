#pragma once
// The timelines projection's transitions held in memory across batches (timelines.hpp, "Held
// across batches"): every transition staged since tl_* were last written, in the order the
// runner applied them (seq order), each key and value in one arena, with an index by entity so
// that a reader copies one entity's transitions without a scan.
//
// A key is bucket (log_keys::kBucketSize bytes) | entity prefix | suffix (kSuffixSize bytes:
// occurred_at, seq), as in tl_transitions; its value is the stored value without the
// out_of_order bit (decided when it is written, timelines.hpp).
//
// Visibility: entries added by the batch being applied are the runner's alone; commit() (after
// the batch's transaction committed) makes them visible to readers and forgets the entries that
// transaction wrote into tl_*. `floor` is then the greatest seq forgotten so far: a reader whose
// transaction's checkpoint of timelines is below it may lack transitions (written after its
// transaction began, no longer held), and must read again with a new transaction. A bulk load,
// which writes tl_* itself, raises the floor to its last seq (raise_floor()). A reset (tl_*
// dropped) separates what a reader's transaction holds from what is held: a reader whose
// transaction (LMDB's id of its snapshot) is from before the reset's, or sees the reset before
// clear() forgot what was held, reads again too.
//
// Threads: the runner's thread calls every member but copy_entity(), and reads entries (key(),
// value(), seq()) without a lock; every change takes the mutex exclusively. copy_entity() runs
// on any thread, under the mutex shared. Views returned by key() and value() are valid until the
// next change.
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/log_keys.hpp"

namespace hooklog::projections {

class timeline_held {
 public:
  static constexpr std::size_t kSuffixSize = 16;  // occurred_at | seq, at the end of a key

  // One held transition, as a reader gets it.
  struct copy {
    std::string suffix;  // occurred_at (i64 BE, sign flipped) | seq (u64 BE)
    std::string value;   // without the out_of_order bit
    std::uint64_t seq = 0;
  };

  // Adds a transition of record `seq` (greater than every seq added before): reserves key_size +
  // value_size bytes and calls write(char*) to fill them, key then value.
  template <class Write>
  void add(std::size_t key_size, std::size_t value_size, std::uint64_t seq, Write&& write) {
    std::unique_lock g(mutex_);
    entry e{arena_.size(), static_cast<std::uint16_t>(key_size),
            static_cast<std::uint32_t>(value_size), seq};
    arena_.resize(e.at + key_size + value_size);
    write(arena_.data() + e.at);
    index_entry(entries_.size(), e);
    entries_.push_back(e);
  }

  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return arena_.size(); }
  std::string_view key(std::size_t i) const {
    return {arena_.data() + entries_[i].at, entries_[i].key_size};
  }
  std::string_view value(std::size_t i) const {
    return {arena_.data() + entries_[i].at + entries_[i].key_size, entries_[i].value_size};
  }
  std::uint64_t seq(std::size_t i) const { return entries_[i].seq; }
  // A key's entity prefix (between the bucket and the suffix).
  static std::string_view entity_of(std::string_view key) {
    return key.substr(log_keys::kBucketSize, key.size() - kSuffixSize - log_keys::kBucketSize);
  }

  // After a commit whose transaction wrote entries [0, written) into tl_*: forgets them (floor
  // becomes the last one's seq), and every entry left becomes visible to readers.
  void commit(std::size_t written);
  // The batch was rolled back: forgets the entries added since the last commit().
  void discard_uncommitted();
  // The write transaction `txn_id` (mdb_txn_id) is about to drop the databases: from its commit
  // until clear(), readers that see it read again. 0: it failed (nothing was dropped).
  void resetting(std::uint64_t txn_id);
  // The databases were dropped (or are empty at a bulk load's start): forgets everything (floor
  // back to 0); after a reset, readers of snapshots before it read again from now on.
  void clear();
  // A bulk load wrote tl_* through `seq` directly: a reader whose checkpoint is below it (its
  // transaction began during the load) reads again rather than join a partial load with what
  // is held after it.
  void raise_floor(std::uint64_t seq);

  // Readers: appends to `out` the committed transitions of the entity with this prefix (tenant
  // \0 kind \0 id \0) whose seq is above `whole_through` (the checkpoint of timelines in the
  // reader's transaction `txn_id`: tl_* hold the ones up to it), in seq order. false, with `out`
  // untouched, when whole_through is below the floor or a reset lies between the transaction
  // and what is held (read again with a new transaction).
  bool copy_entity(std::string_view prefix, std::uint64_t whole_through, std::uint64_t txn_id,
                   std::vector<copy>& out) const;

 private:
  struct entry {
    std::size_t at = 0;  // key offset in arena_; the value follows the key
    std::uint16_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint64_t seq = 0;
  };
  void index_entry(std::size_t i, const entry& e);  // under the mutex

  mutable std::shared_mutex mutex_;
  std::string arena_;
  std::vector<entry> entries_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_entity_;  // -> entries_ indices
  std::string scratch_;        // index_entry's key, under the mutex
  std::size_t committed_ = 0;  // entries_[0, committed_) are visible to readers
  std::uint64_t floor_ = 0;
  std::uint64_t reset_txn_ = 0;       // a reset's transaction, from resetting() to clear()
  std::uint64_t valid_from_txn_ = 0;  // readers of snapshots before the last reset read again
};

}  // namespace hooklog::projections
