#pragma once
// The pending-deliveries projection: the dispatcher's durable work queue.
//
// One item per (endpoint, event) that must still be delivered: its due time,
// attempt number and replay marker. Applied records:
//   event_received    (unless record_flags::kNoDelivery) one item per matching
//                     enabled endpoint (subscriptions' matcher, as of this record):
//                     due = the record's recorded_at, attempt 1.
//   replay_progressed body {"replay_id","endpoint_id","scheduled":[event seqs],"scanned_to"}:
//                     one item per scheduled seq (due = recorded_at, attempt 1, the replay
//                     marker), unless that (endpoint, event) is already queued: then the
//                     replay relies on that item (its pending_replay key and a
//                     pending_relied entry), which serves it too.
//   replay_cancelled  (entity id or body "replay_id") forgets the replay's keys: an item it
//                     queued is removed unless another replay relies on it, then it is
//                     handed over (the first such replay becomes its marker, same due
//                     time and attempt); an item it relied on stays.
//   delivery_attempt  (attempt.hpp) removes the item; on failure with a next
//                     attempt, re-queues it with attempt + 1 at next_attempt_at (not when
//                     the item was gone: dropped by a cancel or an endpoint delete); when
//                     the attempt is the last (dead_letter, or no next_attempt_at) the
//                     item moves to the dead letters. A success or a dead letter also
//                     ends the replays relying on the item (their keys go).
//   endpoint_disabled parks the endpoint's items: they stay in the queue's index but
//                     leave the due order, so the dispatcher never sees them.
//   endpoint_enabled  un-parks them, due at max(their due time, the record's time).
//   endpoint_deleted  drops the endpoint's queued and parked items (the log keeps the
//                     events; a replay can schedule them again). Dead letters stay.
// Items for an endpoint that is disabled when they are created are parked;
// for an unknown endpoint they are not created.
//
// Databases:
//   "pending_due"    due_us (i64 BE, sign flipped) | event seq (u64 BE) [| endpoint id]
//                    -> per endpoint, in byte order of the ids: endpoint id (u16 LE length,
//                       bytes) | attempt u32 LE | replay id (u16 LE length, bytes)
//                    One key per (due time, event) listing its endpoints, not one per item
//                    (layout 2; layout 1 had one key per item, the endpoint id in the key).
//                    A key holds at most kDueChunk (32) entries, so removing one never rewrites
//                    a long value: the first chunk of a (due, seq) is under the bare 16 bytes,
//                    each further chunk under them plus an endpoint id <= its entries and above
//                    every entry of the chunks before it. A new event's items are one put (32
//                    or fewer endpoints); a retry, replay or un-parked item joins the chunk of
//                    its due time it sorts into (a chunk of 33 splits in two, the second half
//                    under its first endpoint id); removing an item rewrites its chunk without
//                    it (the last entry deletes the key). due_items() lists the same items in
//                    the same order as one key per item: (due, event seq, endpoint id).
//   "pending_ix"     endpoint id \0 | block (u64 BE: event seq / kIxBlock, 64)
//                    -> per item of the block, in seq order: seq - block * kIxBlock (u8) |
//                       u16 LE length | parked u8 | due_us i64 LE | attempt u32 LE | replay id
//                    One key per (endpoint, block of 64 event seqs) listing its items (layout
//                    3; layout 2 had one key per item, endpoint id \0 | event seq). Removing an
//                    item rewrites its block without it (the last item deletes the key); an
//                    item added to a block already written is merged into it.
//   "pending_replay" replay id \0 endpoint id \0 | event seq (u64 BE) -> ""
//                    one key per replay an item serves: its marker's and those relying on it
//                    (replay_items() counts a replay's)
//   "pending_relied" endpoint id \0 | event seq (u64 BE) -> replay ids (u16 LE length, bytes)
//                    relying on the queued item besides its marker (absent when none)
//   "dead_letters"   endpoint id \0 | event seq (u64 BE) -> JSON {"endpoint_id","event_seq",
//                    "attempts","status","error","dead_at","attempt_seq","replay_id"}
//   "pending_counts" endpoint id -> queued u64 LE | parked u64 LE | dead u64 LE
//                    (absent when all three are zero)
//
// Writes to "pending_ix" are staged per batch (write-behind): the entries of new items are kept in
// memory per endpoint in event order and written by flush() in key order through one cursor,
// a block at a time (MDB_APPEND past the database's last key, else merged with the block
// there), so a rebuild or a catch-up does not search the tree from its root for each item; an
// item settled within the same batch (its attempt record applied) is never written. Every read
// of "pending_ix" inside the batch looks at the staged entries first; a scan by endpoint
// (endpoint records) writes them out before it reads. At most max_staged entries (default
// kMaxStaged) are held, an entry re-staged with a longer value counting as one more (its value
// is appended; one of the same size or shorter is written in place); past that they are written
// out mid-batch.
// The state is the same, key for key, as with direct puts.
//
// Bulk load (projection.hpp; a rebuild from empty): the staged pending_ix entries are kept across
// batches (flush() writes the rest of the state as usual) and written by finish_bulk() in one
// pass in key order (in the bulk_writer's parts: projection.hpp), every put an MDB_APPEND into
// the empty database, instead of each batch's entries inserted into the middle of the tree. The
// reads above already look at the staged entries first, so items settled, retried or parked later
// in the log give the same state (a retry of an event before the endpoint's latest staged one is
// staged in its place, not put). At
// most about the runner's bound in bytes is held (kBulkEntryBytes per entry); past that the
// staged entries are written out as in a batch (merged into the tree's blocks, still correct).
//
// The dispatcher reads with due_items()/next_due(); an item stays queued until
// the attempt record about it is applied, so the dispatcher tracks what it has
// in flight itself.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "projections/huge_vector.hpp"
#include "projections/projection.hpp"
#include "projections/string_hash.hpp"
#include "projections/subscriptions.hpp"

namespace hooklog::projections {

struct pending_item {
  std::int64_t due_us = 0;
  std::string endpoint_id;
  std::uint64_t event_seq = 0;
  std::uint32_t attempt = 1;
  std::string replay_id;
  bool parked = false;
};

struct pending_counts {
  std::uint64_t queued = 0, parked = 0, dead = 0;
};

struct dead_letter {
  std::string endpoint_id;
  std::uint64_t event_seq = 0;
  std::uint32_t attempts = 0;
  int status = 0;
  std::string error;
  std::int64_t dead_at = 0;
  std::uint64_t attempt_seq = 0;
  std::string replay_id;
};
nlohmann::json to_json(const dead_letter& d);
nlohmann::json to_json(const pending_item& p);

class pending final : public projection {
 public:
  static constexpr const char* kName = "pending";
  explicit pending(const subscriptions& subs, std::size_t max_staged = kMaxStaged)
      : subs_(subs),
        max_staged_(max_staged == 0 ? 1 : max_staged),
        batch_max_staged_(max_staged_) {}
  const char* name() const override { return kName; }
  // 4: pending_relied (replays relying on an item another queued). 3: one pending_ix key per (endpoint, block of kIxBlock event seqs) listing its items (2: one
  // per item); since 2, one pending_due key per (due time, event) listing its endpoints (1: one
  // per item).
  std::uint32_t layout() const override { return 4; }
  std::vector<std::string> depends_on() const override { return {subscriptions::kName}; }
  std::vector<std::string> databases() const override {
    return {"pending_due",   "pending_ix",     "pending_replay",
            "dead_letters", "pending_counts", "pending_relied"};
  }
  result<void> open(state_store& s, lmdb::txn& t) override;
  result<void> apply(lmdb::txn& t, const record_view& r) override;
  result<void> flush(lmdb::txn& t) override;
  void discard() override {
    bump_due_changes();  // a rolled-back batch or a reset: the state went back
    bump_reorders();
    counts_cache_.clear();
    clear_staged();  // drops the memo too
    staged_values_.release();
    end_batch();
    bulk_ = false;
    max_staged_ = batch_max_staged_;
  }
  bool begin_bulk(const std::string& run_dir, std::size_t memory) override;
  result<void> finish_bulk(bulk_writer& bw) override;
  static constexpr std::size_t kBulkEntryBytes = 96;  // a staged entry with its share of the map
  static constexpr std::size_t kMaxStaged = 1'000'000;  // staged pending_ix entries (~64 MB)
  static constexpr std::size_t kDueChunk = 32;  // entries per pending_due key at most
  static constexpr std::uint64_t kIxBlock = 64;  // event seqs per pending_ix key

  // Grows with every applied record that may change what the dispatcher can start: every
  // record but an event_received this projection queues nothing for (no enabled endpoint
  // matched it, or kNoDelivery), every discard() and every finish_bulk(). Counted before the
  // batch commits (a rolled-back one counts too); read it on the applying thread after the
  // commit (projection_runner::set_applied_hook) to skip a dispatcher round when nothing changed.
  std::uint64_t due_changes() const { return due_changes_.load(std::memory_order_relaxed); }
  // Grows when items may have been queued behind where a walk of an endpoint's items already
  // went (their event seqs below later items': a replay's, a cancelled replay's handed over) and
  // when the state went back (discard(), a rebuild): the dispatcher's ordered walks, which go on
  // from where they stopped, start from the first item again.
  std::uint64_t reorders() const { return reorders_.load(std::memory_order_relaxed); }

  // Reads; any thread, caller's read txn.
  // Up to `limit` queued items with due <= now_us, earliest first.
  result<std::vector<pending_item>> due_items(lmdb::txn& t, std::int64_t now_us, std::size_t limit) const;
  // The earliest due time of any queued item (parked ones excluded).
  result<std::optional<std::int64_t>> next_due(lmdb::txn& t) const;
  result<std::optional<pending_item>> find(lmdb::txn& t, std::string_view endpoint_id,
                                           std::uint64_t event_seq) const;
  // One endpoint's queued and parked items in event order, event seq > after_seq.
  result<std::vector<pending_item>> items_for(lmdb::txn& t, std::string_view endpoint_id,
                                              std::uint64_t after_seq, std::size_t limit) const;
  // The same items handed to `fn` one by one, until `fn` returns false or the items end: the
  // dispatcher's round reads only as far as it picks. `fn` gets one object reused for every item
  // (no allocation per item): it copies what it keeps.
  result<void> visit_items(lmdb::txn& t, std::string_view endpoint_id, std::uint64_t after_seq,
                           const std::function<bool(const pending_item&)>& fn) const;
  result<pending_counts> counts(lmdb::txn& t, std::string_view endpoint_id) const;
  // The counts of every endpoint added up (one pass over "pending_counts": one entry per
  // endpoint that has items or dead letters).
  result<pending_counts> totals(lmdb::txn& t) const;
  // The items still queued or parked that serve the replay `replay_id` (queued by it or relied on).
  result<std::uint64_t> replay_items(lmdb::txn& t, std::string_view replay_id) const;
  result<std::vector<dead_letter>> dead_letters(lmdb::txn& t, std::string_view endpoint_id,
                                                std::uint64_t after_seq, std::size_t limit) const;

 private:
  result<void> add(lmdb::txn& t, const pending_item& it);
  result<std::optional<pending_item>> remove(lmdb::txn& t, std::string_view ep, std::uint64_t seq);
  result<void> on_attempt(lmdb::txn& t, const record_view& r);
  result<void> on_replay(lmdb::txn& t, const record_view& r);
  result<void> on_replay_cancelled(lmdb::txn& t, const record_view& r);
  result<void> on_endpoint(lmdb::txn& t, const record_view& r);
  // pending_relied: `rid` relies on the queued item (ep, seq) (with its pending_replay key).
  result<void> add_relier(lmdb::txn& t, std::string_view ep, std::uint64_t seq, std::string_view rid);
  // Removes `rid` (empty: the first) from the item's relying replays; the one removed, or "".
  result<std::string> take_relier(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                                  std::string_view rid);
  // The item is gone for good: every relying replay's key goes, and its pending_relied entry.
  result<void> drop_reliers(lmdb::txn& t, std::string_view ep, std::uint64_t seq);
  result<pending_counts*> cached_counts(lmdb::txn& t, std::string_view ep);
  // Non-key parts of add(): pending_replay and the counts.
  result<void> add_rest(lmdb::txn& t, const pending_item& it);
  // An added item in its endpoint's counts.
  static void count_added(pending_counts& c, const pending_item& it) {
    ++(it.parked ? c.parked : c.queued);
  }
  // Opens the batch's pending_due cursor; with `max`, also learns due_max_ (one search from the
  // root: only put_due needs it, not the deletes of a delivery batch).
  result<void> open_due_cursor(lmdb::txn& t, bool max = true);
  // Opens the batch's pending_ix cursor: the removes of a batch look up and delete through it,
  // so an item next to the one before (the dispatcher delivers an endpoint's items in order) is
  // found from the cursor's page without a search from the root.
  result<void> open_ix_cursor(lmdb::txn& t);
  // Adds `entries` (a pending_due value of `count` entries, endpoint order) to the (due, seq) of
  // `prefix` (its 16-byte key part), merged with the chunks there.
  result<void> put_due(lmdb::txn& t, const std::string& prefix, const std::string& entries,
                       std::size_t count);
  // Adds one entry (ep's) to the chunk it belongs in (see the header comment).
  result<void> insert_due(const std::string& prefix, std::string_view ep, const std::string& entry);
  // Positions the cursor on the chunk of (prefix, ep): the last key <= prefix | ep with that
  // prefix; false when there is none.
  result<bool> seek_due_chunk(const std::string& prefix, std::string_view ep);
  // Writes `entries` under left_key, split in two (the second half under its own key) when over
  // kDueChunk entries.
  result<void> put_due_split(const std::string& prefix, const std::string& left_key,
                             const std::string& entries);
  void note_due_key(const std::string& key);
  // Appends (key, value) past every key of pending_due (the caller checked key > due_max_):
  // MDB_APPEND (LMDB checks the order itself and starts a new page when the last is full), and
  // the key becomes due_max_ without a comparison.
  result<void> append_due(const std::string& key, std::string_view value);
  // Removes ep's entry from the chunk under the cursor (its key and value, as the cursor read
  // them); false when it is not there.
  result<bool> erase_due_here(std::string_view ep, std::string_view key, std::string_view old);
  // Removes ep's entry from the key (due, seq); the key goes with its last entry.
  result<void> erase_due(lmdb::txn& t, std::int64_t due, std::uint64_t seq, std::string_view ep);
  // pending_ix through the staged entries (see the header comment). An entry is 24 bytes and
  // holds its value when it has no more than kInline bytes (an item without a replay id: parked,
  // due, attempt); a longer value is in staged_values_, the entry holding its u32 offset there.
  // Inline, a bulk load stages 24 bytes per item where an entry and its value apart took 37 (and
  // 1.75 items per event are fresh memory the kernel zero-fills), and its write-out reads each
  // value beside its seq instead of with a cache miss in staged_values_ (PERFORMANCE.md, rebuild
  // twenty-fifth pass). The narrow fields hold: a value is cut at 65,535 bytes as a block cuts it
  // (str16), and put_ix writes the staged entries out before staged_values_ would pass
  // kMaxStagedValueBytes. Trivially copyable: the lists grow by moving pages (huge_vector.hpp).
  struct staged_ix {
    static constexpr std::size_t kInline = 13;
    std::uint64_t seq = 0;
    std::uint16_t value_size = 0;
    bool live = false;  // false: removed in this batch (deleted from the database on write-out)
    char value[kInline] = {};  // value_size <= kInline: the value; else its offset (u32 LE)
  };
  static_assert(sizeof(staged_ix) == 24);
  static constexpr std::size_t kMaxStagedValueBytes = UINT32_MAX;
  // An endpoint's staged entries by seq: ~1.75M at 1M events in a bulk load.
  using staged_list = huge_vector<staged_ix>;
  staged_ix stage(std::uint64_t seq, std::string_view value);  // a live entry, its value copied
  // Sets s's value to `value` (cut at 65,535 bytes) in place: inline, or over its value in
  // staged_values_ when no longer. False when it is longer (nothing changed: stage() it anew).
  bool restage(staged_ix& s, std::string_view value);
  std::string_view staged_value(const staged_ix& s) const {
    if (s.value_size <= staged_ix::kInline) return {s.value, s.value_size};
    return {staged_values_.data() + staged_at(s), s.value_size};
  }
  static std::uint32_t staged_at(const staged_ix& s) {
    std::uint32_t at;
    std::memcpy(&at, s.value, sizeof at);
    return at;
  }
  void clear_staged() {
    staged_.clear();
    staged_values_.clear();
    staged_count_ = 0;
    drop_ep_memo();
  }
  result<void> put_ix(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                      const std::string& value);
  // put_ix into the endpoint's list `v` (an element of staged_). Call make_room() for the value
  // first: its write-out would clear staged_.
  result<void> put_ix_in(lmdb::txn& t, staged_list& v, std::uint64_t seq, const std::string& value);
  staged_list& staged_list_of(std::string_view ep);  // found, or added empty
  // Writes the staged entries out when `value_size` more bytes would not fit a 32-bit offset.
  result<void> make_room(lmdb::txn& t, std::size_t value_size);

  // An event's matched endpoints' staged list and counts, found by the address of the matcher's
  // id (matcher::changes(): while it is unchanged that address names one endpoint): a compare
  // per endpoint where two string hash look-ups (staged_ and counts_cache_) were. Direct-mapped
  // by the address; a slot that holds another endpoint is looked up and replaced. The pointers
  // stay valid until staged_ or counts_cache_ is cleared (unordered_map keeps its elements in
  // place otherwise), and both clears drop the memo.
  struct ep_memo {
    const char* id = nullptr;
    staged_list* list = nullptr;
    pending_counts* counts = nullptr;
  };
  static constexpr std::size_t kEpMemo = 64;
  result<ep_memo*> memo_for(lmdb::txn& t, std::string_view matched_id);
  void drop_ep_memo() {
    for (auto& m : ep_memo_) m = {};
  }
  staged_ix* find_staged(std::string_view ep, std::uint64_t seq);
  // The value of (ep, seq) in pending_ix as of now (staged entries first); nullopt if absent.
  result<std::optional<std::string_view>> get_ix(lmdb::txn& t, std::string_view ep,
                                                 std::uint64_t seq);
  // Removes (ep, seq) from pending_ix into `it` (decoded before the delete, so no copy of the
  // value); false when it was not there or was malformed (a malformed entry is removed too).
  result<bool> take_ix(lmdb::txn& t, std::string_view ep, std::uint64_t seq, pending_item& it);
  // The block value of `old` (a pending_ix value, or empty) with the staged entries [first, last)
  // of that block applied (a live one replaces or adds its item, a removed one drops it), into
  // `out` in seq order.
  void merge_ix_block(std::string& out, std::string_view old, const staged_ix* first,
                      const staged_ix* last) const;
  // Writes the staged entries in key order; with `bw` (a bulk load's write-out) through its
  // transaction, in its parts (`t` is then unused).
  result<void> write_staged(lmdb::txn& t, bulk_writer* bw = nullptr);
  void end_batch();
  using sv_hash = string_hash;

  const subscriptions& subs_;
  lmdb::dbi due_, ix_, replay_, dead_, counts_, relied_;
  std::unordered_map<std::string, pending_counts, sv_hash, std::equal_to<>> counts_cache_;
  lmdb::cursor due_cursor_;  // write cursor of the current batch (closed by flush/discard)
  lmdb::cursor ix_cursor_;   // pending_ix cursor of the current batch (closed by flush/discard)
  std::string due_max_;      // >= the largest key in pending_due (this batch)
  bool due_max_known_ = false;
  std::unordered_map<std::string, staged_list, sv_hash, std::equal_to<>> staged_;
  huge_vector<char> staged_values_;  // the staged entries' values, appended
  std::size_t staged_count_ = 0;
  std::size_t max_staged_;
  std::size_t batch_max_staged_;  // max_staged_ outside a bulk load
  bool bulk_ = false;
  // One writer (the applying thread, under the runner's batch lock); atomic for readers elsewhere.
  std::atomic<std::uint64_t> due_changes_{0};
  void bump_due_changes() {
    due_changes_.store(due_changes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> reorders_{0};  // the same
  void bump_reorders() {
    reorders_.store(reorders_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::vector<std::string_view> matches_;
  ep_memo ep_memo_[kEpMemo];
  std::uint64_t ep_memo_changes_ = UINT64_MAX;  // the matcher's changes() the memo is of
  std::string k1_, k2_, k3_, k4_, v1_, v2_, v3_, v4_, v5_;
  std::string kr_, vr_;  // pending_relied key and value (add_relier, take_relier, drop_reliers)
  std::string ixv_;  // a pending_ix block's new value (take_ix, write_staged)
};

}  // namespace hooklog::projections
