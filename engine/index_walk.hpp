#pragma once
// Ordered walks over the keys of one index database under a prefix (event_log::scan).
//
// position(): puts a cursor on the first key at `start` or beyond it in the walking order.
//
// index_walk: the keys that begin with `prefix`, in key order or backwards, one view at a time
// (and each key's value).
// In a bucketed database (ix_entity of an index env of format 2: log_keys.hpp) every key is
// bucket (4 bytes BE) | rest, and the walk goes over buckets [lo, hi] in the order of rest, as if
// there were no bucket: the buckets' runs are merged, one cursor per bucket. When rest orders
// the buckets already (one entity: rest ends in the seq, and a bucket is a range of seqs), a
// disjoint walk takes the buckets one after the other with one cursor, and seeks a bucket only
// when the walk reaches it (a page of the newest keys reads the newest bucket only).
//
// Positions (start, and the views returned) are rest: the key without its bucket, so a walk's
// positions are the same in either layout. Views are valid while the transaction lives.
// Lifetime: within the read transaction given to the constructor; one thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errc.hpp"
#include "engine/lmdb.hpp"

namespace hooklog {

// Positions `c` on the first key at `start` or beyond it in the walking order (descending: at
// or before it; an empty start is the end); with skip_equal a key equal to start is passed over.
result<std::optional<lmdb::cursor::kv>> position(lmdb::cursor& c, std::string_view start, bool desc,
                                                 bool skip_equal);

class index_walk {
 public:
  enum class layout {
    plain,              // keys are rest
    bucketed,           // bucket | rest; the buckets' runs merged
    bucketed_disjoint,  // bucket | rest, and rest's order is the buckets' order
  };

  index_walk(lmdb::txn& t, const lmdb::dbi& d, std::string prefix, bool desc, layout l)
      : txn_(t), dbi_(d), prefix_(std::move(prefix)), desc_(desc), layout_(l) {}

  // The buckets a bucketed database holds: those of its first and last keys; nullopt when it
  // is empty.
  struct bucket_range {
    std::uint32_t lo = 0, hi = 0;
  };
  static result<std::optional<bucket_range>> buckets_of(lmdb::txn& t, const lmdb::dbi& d);

  // The first key (rest) at `start` or beyond it in the walking order, in buckets [lo, hi]
  // (ignored when plain); with skip_equal a key equal to start is passed over. nullopt when
  // none begins with the prefix.
  result<std::optional<std::string_view>> seek(std::string_view start, bool skip_equal,
                                               std::uint32_t lo = 0, std::uint32_t hi = 0);
  // The same over the given buckets only (bucketed layout: their runs merged), for a caller that
  // knows which buckets hold the prefix's keys.
  result<std::optional<std::string_view>> seek_buckets(std::string_view start, bool skip_equal,
                                                       const std::vector<std::uint32_t>& buckets);
  // The key after the last one returned; nullopt at the end.
  result<std::optional<std::string_view>> next();
  // The value of the key last returned by seek() or next() (valid as its key is).
  std::string_view value() const { return runs_[current_].value; }

 private:
  struct run {
    lmdb::cursor c;
    std::uint32_t bucket = 0;
    std::string_view rest;   // the current key without its bucket
    std::string_view value;  // the current key's value
  };
  // Forgets the runs of an earlier seek and takes its start.
  void restart(std::string_view start, bool skip_equal);
  // Opens a run on `bucket` positioned at start_; false (run not kept) when it holds no key.
  result<bool> open_run(std::uint32_t bucket);
  // Takes the cursor's key as the run's current one; false when the cursor left the run's
  // bucket or the prefix (the run is done).
  bool take(run& r, const std::optional<lmdb::cursor::kv>& kv);
  // Disjoint: opens the buckets after the last one opened until one holds a key.
  result<void> open_following();
  std::optional<std::string_view> pick();

  lmdb::txn& txn_;
  const lmdb::dbi& dbi_;
  std::string prefix_;
  bool desc_;
  layout layout_;
  std::string start_;  // rest
  bool skip_equal_ = false;
  std::uint32_t lo_ = 0, hi_ = 0;
  std::uint64_t following_ = 0;  // disjoint: the next bucket to open (desc: counting down)
  bool following_left_ = false;
  std::vector<run> runs_;
  std::size_t current_ = 0;  // the run of the key last returned
  std::string scratch_;
};

}  // namespace hooklog
