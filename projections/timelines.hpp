#pragma once
// The timelines projection: per entity, the ordered status transitions.
//
// An event_received record with an entity (kind, id) and a status_to adds one
// transition {from, to, occurred_at, recorded_at, seq, out_of_order}.
// Transitions are ordered by (occurred_at, seq). "from" is the record's
// status_from when the payload states it (kept as stated), else it is derived:
// the "to" of the transition just before this one in that order ("" for the
// first). A derived "from" is not stored: get() computes it while walking the
// ordered transitions, so a late arrival placed between two transitions changes
// the derived "from" of the one after it, and the stored bytes of a transition
// never depend on what arrived before it (rebuild == incremental, byte for byte,
// with one write per event). An arrival that occurred earlier than the
// entity's latest known transition is placed by its occurred time and flagged
// out_of_order; it is never dropped, and it does not change the entity's
// current status.
//
// Entities are keyed by (tenant, kind, id): two tenants' "order 42" are
// different entities, and a tenant key can only ever read its own.
//
// Databases (layout 3; docs/PROJECTIONS.md):
//   "tl_transitions"  bucket (seq >> 20, u32 BE) | tenant \0 kind \0 id \0
//                     | occurred_at (i64 BE, sign flipped) | seq (u64 BE)
//                     -> flags u8 (bit 0 = out of order, bit 1 = from stated by the payload)
//                        | recorded_at i64 LE | from (u16 len; empty unless stated) | to (u16 len)
//   "tl_latest"       tenant \0 kind \0 id \0
//                     -> occurred_at | seq (the 16 bytes of its greatest transition's key)
//                        | last seq (u64 BE: its newest record's) | to (u16 len)
//   "tl_buckets"      tenant \0 kind \0 id \0 | bucket (u32 BE) -> empty: the buckets that hold
//                     the entity's transitions (put once per entity and bucket)
// The bucket in front keeps a batch's puts among the newest bucket's leaves however long the
// log grows (a bucket is a region of the tree of its own: the cost of a put stops growing with
// the log, PERFORMANCE.md, nineteenth pass). One entity's transitions are then spread over the
// buckets its records fell in, listed in tl_buckets: get() merges those buckets' runs in
// (occurred_at, seq) order (engine/index_walk.hpp), one cursor each. tl_latest gives the current
// status (one get) and decides out_of_order: set when an earlier record of the entity has a
// greater key (occurred later), which is when tl_latest's key, as it was before the record,
// is greater than the record's. Layouts 1 and 2 (no bucket, no tl_latest) are rebuilt at open.
//
// Writes are staged per batch (write-behind): apply() only encodes the transition; flush() sorts
// the batch's transitions by key and writes them through one cursor (MDB_APPEND past the
// database's last key), so consecutive puts land on the cursor's page instead of searching the
// tree from its root. In that order one entity's transitions within one bucket are adjacent (a
// group): its tl_latest is read once, each transition's flag decided from it and from the group's
// own keys (a later key with a smaller seq came from an earlier record), and tl_latest put once
// (and tl_buckets when tl_latest's last seq is of an earlier bucket, or the entity is new).
// Groups of one entity in two buckets come in bucket order, which is seq order, so the second
// reads what the first wrote. At most max_staged transitions are held; past that they are
// written out mid-batch. The state is the same, key for key, as with direct puts.
//
// Held across batches: a batch's transitions are not written at its end but kept in memory
// (timeline_held.hpp) with those of the batches before, and written together, as one batch's
// would be, when max_held transitions (or kMaxHeldBytes, or 4 x max_held records since the
// first one held) are held, when the runner asks (write_held(): at each state sync, about once a
// second, at the end of a catch_up() and at close), or mid-batch past max_staged. A busy entity
// then costs a leaf of tl_transitions per write-out instead of per batch (PERFORMANCE.md, issue
// 17, thirty-first pass). The bytes written are the same as batch by batch: a write-out is one
// larger batch. The runner stores, as this projection's checkpoint, the seq before the first
// transition held (stored_checkpoint()), so after a crash it applies the held records again.
// Readers merge (get()): the held transitions of committed batches that the reader's
// transaction does not hold on disk (seq above its checkpoint), their out_of_order flags and the
// current status decided as the write-out will decide them. max_held = 0 writes each batch.
//
// Bulk load (projection.hpp; a rebuild from empty): apply() hands each transition to a
// sorted_runs (memory, then sorted run files past the runner's bound) and nothing is written
// until finish_bulk(), which merges them and writes the groups exactly as a batch does, every
// put into tl_transitions an MDB_APPEND into the empty database (in the bulk_writer's parts:
// projection.hpp), so the state is the same, byte for byte.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "projections/key_codec.hpp"
#include "projections/projection.hpp"
#include "projections/sorted_runs.hpp"
#include "projections/timeline_held.hpp"

namespace hooklog::projections {

struct transition {
  std::string from, to;      // from: as stated, or derived (see above); "" when none
  bool from_stated = false;  // the payload stated `from`
  std::int64_t occurred_at = 0, recorded_at = 0;
  std::uint64_t seq = 0;
  bool out_of_order = false;
};

// Fills each unstated `from` with the `to` of the step before it. `steps` in occurred order;
// `before` is the `to` of the step just before steps[0] ("" when steps[0] is the entity's
// earliest) (the timelines projection and `hooklog timeline` both use it).
void derive_from(std::vector<transition>& steps, std::string before = {});

// A transition as the API and the CLI show it: from (null when none), to, RFC 3339 times, seq,
// event_id, and out_of_order when set.
nlohmann::json to_json(const transition& t);

// A place in an entity's ordered transitions: the transition with this (occurred_at, seq).
struct timeline_position {
  std::int64_t occurred_at = 0;
  std::uint64_t seq = 0;
};

struct timeline {
  std::string tenant, kind, id;
  std::string current_status;  // "to" of the latest transition by occurred time
  std::vector<transition> transitions;
  bool more = false;  // get() stopped at its limit with transitions after the last one
};
// {"kind","id","tenant","status","transitions":[{"from","to","occurred_at","recorded_at","seq","out_of_order"}]}
// with times in RFC 3339.
nlohmann::json to_json(const timeline& t);

class timelines final : public projection {
 public:
  static constexpr const char* kName = "timelines";
  static constexpr std::size_t kMaxStaged = 262'144;  // staged transitions (~25 MB)
  static constexpr std::size_t kMaxHeld = 65'536;     // held across batches (~6 MB)
  static constexpr std::size_t kMaxHeldBytes = std::size_t{64} << 20;
  static constexpr unsigned kBucketBits = 20;         // 1,048,576 seqs per bucket
  // bucket_bits: tests narrow the buckets to spread a small log over many.
  explicit timelines(std::size_t max_staged = kMaxStaged, unsigned bucket_bits = kBucketBits,
                     std::size_t max_held = kMaxHeld)
      : max_staged_(max_staged == 0 ? 1 : max_staged),
        bucket_bits_(bucket_bits),
        max_held_(max_held) {}
  const char* name() const override { return kName; }
  // 3; a test's other width 256 + its bits, so that no build reads a state of another width.
  std::uint32_t layout() const override {
    return bucket_bits_ == kBucketBits ? 3 : 256 + bucket_bits_;
  }
  std::vector<std::string> databases() const override {
    return {"tl_transitions", "tl_latest", "tl_buckets"};
  }
  result<void> open(state_store& s, lmdb::txn& t) override;
  result<void> apply(lmdb::txn& t, const record_view& r) override;
  result<void> flush(lmdb::txn& t) override;
  void discard() override;
  std::uint64_t stored_checkpoint(std::uint64_t last) const override;
  result<bool> write_held(lmdb::txn& t) override;
  void committed() override;
  bool has_held() const override { return !bulk_ && written_ < held_.size(); }
  void resetting(lmdb::txn& t) override;
  void reset_failed() override;
  void dropped() override;
  // Transitions held in memory, not yet written (tests, metrics).
  std::size_t held_count() const { return held_.size() - written_; }
  bool begin_bulk(const std::string& run_dir, std::size_t memory) override;
  result<void> finish_bulk(bulk_writer& w) override;

  // Any thread, caller's read txn; the held transitions the txn's state lacks are merged in.
  // proj_errc::read_again when tl_* were written and their transitions dropped from memory
  // after the txn began: read again with a new txn (projection_runner::read_timeline() does).
  // nullopt when the entity has no transition.
  // At most `limit` transitions, from the earliest, or from the first one after `after` (a page:
  // the first one's derived `from` is the `to` of the transition at or before `after`, read by a
  // descending walk of the same buckets, so pages joined equal one unlimited read). `more` tells
  // whether any follow. Cost: one cursor and seek per bucket that holds the entity's
  // transitions (twice with `after`), then one step per transition read.
  result<std::optional<timeline>> get(lmdb::txn& t, std::string_view tenant, std::string_view kind,
                                      std::string_view id, std::size_t limit = SIZE_MAX,
                                      std::optional<timeline_position> after = {}) const;

 private:
  // One transition of a group (see above), its views valid while the group is written.
  struct held {
    std::string_view key, value;
    std::uint64_t seq;
  };
  // Writes a group: decides its flags against tl_latest (through `latest`), puts tl_latest and
  // calls put_latest(key, value) after it (the bulk load counts its bytes; `latest` is not used
  // again after), hands a tl_buckets key to put_bucket(key) when the entity is new in the
  // bucket, then each transition to put(key, value) in key order.
  template <class PutLatest, class PutBucket, class Put>
  result<void> write_group(lmdb::cursor& latest, PutLatest&& put_latest, PutBucket&& put_bucket,
                           Put&& put);
  // Writes the held transitions not yet written (from written_ on) in one sorted run.
  result<void> write_staged(lmdb::txn& t);
  bool write_due() const;
  lmdb::dbi transitions_, latest_, buckets_;
  lmdb::dbi checkpoints_;  // the runner's: its "timelines" key says how far tl_* are whole
  std::size_t max_staged_;
  unsigned bucket_bits_;
  std::size_t max_held_;
  // The staged transitions: held across batches, the current batch's last. [0, written_) were
  // written into the current transaction (forgotten at its commit).
  timeline_held held_;
  std::size_t written_ = 0;
  std::uint64_t last_applied_ = 0;  // the seq of the last record apply() saw
  bool retry_write_ = false;        // a write-out was not committed: the next flush() writes
  std::vector<held> group_;   // write_group's input
  std::string latest_value_;  // write_group's scratch
  std::string value_;         // write_group's scratch
  std::string bucket_key_;    // write_group's scratch
  struct sort_entry {
    keys::key_head head;  // the key's first bytes as words (key_codec.hpp)
    const char* key;
    std::uint32_t size, index;  // the key's size, its held_ index
  };
  std::vector<sort_entry> order_;   // write_staged's scratch: held_ in key order
  std::vector<std::uint8_t> late_;  // write_group's scratch: the group's out_of_order flags
  bool bulk_ = false;
  sorted_runs runs_;  // a bulk load's transitions
};

}  // namespace hooklog::projections
