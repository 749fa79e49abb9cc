#pragma once
// The log's indexes, kept off the log's fsync path: a second LMDB environment in
// `<data dir>/log/index/`, opened with MDB_NOSYNC, holding "idem" (tenant\0source\0key -> seq)
// and "ix_occurred", "ix_type", "ix_tenant", "ix_entity", "ix_ref" (layout: docs/FORMAT.md).
// Everything in it is derived from the log's records and can be rebuilt from them.
//
// Format 2 (`hooklog-index/2`) keys ix_entity by the record's seq bucket first (log_keys.hpp):
// the entity keys of a group go into the newest bucket's region of the tree, not to random
// leaves of a tree as large as the log. Its width is fixed at creation (meta
// `entity_bucket_bits`). An env of format 1 is rebuilt by a writer's open and not used by a
// read-only one (queries then walk the records).
//
// Format 3 (`hooklog-index/3`, the same databases) lets ix_entity lag the other indexes: meta
// `entity_through` (<= indexed_through) says up to which seq it holds every entity key; the
// keys of the seqs after it are in the writer's memory (engine/entity_tail.hpp) until the seqs
// reach a new bucket (the finished buckets' keys then appended in one sorted run), or options::
// entity_tail_keys of them are held, or a catch-up or close writes them. A writer's open takes
// the keys after entity_through from the records again (a crash loses only memory) and marks a
// format-2 env format 3 (an older build then rebuilds it rather than miss those keys).
//
// Its "meta" binds it to the log: `indexed_through` (every record and gap up to this seq has
// its entries in) and `through_hash` (the chain hash of the last record at or before it: the
// index is an index of a prefix of this log exactly when that record has this hash), and
// `open_boot` (the boot id of the machine while a writer has it open, synced when set, cleared
// by a clean close: a process crash keeps the page cache, so the same boot id means intact;
// another boot id means the machine went down with unsynced pages and the env is rebuilt).
//
// The log writes records, then this env; readers open this env's transaction before the log's,
// so every entry they see points at a record their log transaction holds. A writer that answers
// a group's producers between the two commits (event_log::append_then) announces the group
// first and settles it after this env's commit: readers wait_settled() before they read, so a
// query started after an answer finds the answered records.
//
// A read-only log written by format 1 (`hooklog-log/1`) has these databases inside the log env
// itself: attach_legacy() points the look-ups there.
//
// Thread safety: the write side (begin_write, catch_up, grow, close, announce, settle) on one
// thread (the log writer's); reads on any thread, under the caller's resize lock.
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/entity_tail.hpp"
#include "engine/errc.hpp"
#include "engine/lmdb.hpp"
#include "engine/log_keys.hpp"
#include "engine/record.hpp"

namespace hooklog {

// The keys of one index database for a group of records, back to back in one buffer (one
// allocation per group, not one per key: a key of 16 bytes or more is past std::string's
// inline size). Write a key's bytes at the end of buffer(), then end_key().
class index_key_list {
 public:
  std::string& buffer() { return bytes_; }
  void end_key() {
    ends_.push_back(bytes_.size());
    sorted_ = false;
  }
  std::size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  void clear() {
    bytes_.clear();
    ends_.clear();
    sorted_ = false;
  }
  // The keys in byte order (LMDB's order for these databases), views into buffer(): valid until
  // the next change. Keys added in order (the occurred times and the seqs of one type, tenant
  // or ref) are checked, not sorted again; a second call without a key added in between
  // returns the same list.
  const std::vector<std::string_view>& sorted();

 private:
  std::string bytes_;
  std::vector<std::size_t> ends_;
  std::vector<std::string_view> views_;
  bool sorted_ = false;  // views_ is the sorted list of the keys as they are
};

// The index entries of a group of records: keys per index database (0 occurred, 1 type,
// 2 tenant, 3 entity, 4 ref), written sorted at the group's end.
using index_keys = std::array<index_key_list, 5>;

// Appends the index keys of one stored record (record or record_view); `bucket_bits` is the
// index env's entity bucket width (log_index::entity_bucket_bits(); 0: no bucket).
template <typename R>
void collect_index_keys(const R& r, unsigned bucket_bits, index_keys& keys) {
  if (r.kind == record_kind::event_received) {
    log_keys::append_occurred_key(keys[0].buffer(), r.occurred_at, r.seq);
    keys[0].end_key();
    log_keys::append_prefix_key(keys[1].buffer(), r.type, r.seq);
    keys[1].end_key();
    log_keys::append_prefix_key(keys[2].buffer(), r.tenant, r.seq);
    keys[2].end_key();
  }
  if (!r.entity_kind.empty()) {
    if (bucket_bits != 0)
      log_keys::append_bucket(keys[3].buffer(), log_keys::entity_bucket(r.seq, bucket_bits));
    log_keys::append_entity_prefix(keys[3].buffer(), r.entity_kind, r.entity_id);
    bytes::put_be64(keys[3].buffer(), r.seq);
    keys[3].end_key();
  }
  if (r.ref_seq != 0) {
    bytes::put_be64(keys[4].buffer(), r.ref_seq);
    bytes::put_be64(keys[4].buffer(), r.seq);
    keys[4].end_key();
  }
}

class log_index {
 public:
  struct options {
    std::size_t initial_map_size = 64ull << 20;
    std::size_t max_map_size = 1ull << 40;
    // MDB_WRITEMAP | MDB_MAPASYNC instead of plain MDB_NOSYNC: pages written in place in the
    // map (no pwrite copy per dirty page per commit); the file is as long as the map and
    // reserved on disk (lmdb::env::reserve), so a full disk is an error, never SIGBUS.
    bool writemap = false;
    std::string boot_id{};  // empty: /proc/sys/kernel/random/boot_id
    // ix_entity's bucket width for an env created now (an existing env keeps its own); tests
    // set a few bits to have many buckets in a small log. 1 to 32 (clamped).
    unsigned entity_bucket_bits = log_keys::kEntityBucketBits;
    // ix_entity's keys held in memory (entity_tail) until this many are written in one run; 0
    // writes them with each group's other entries.
    std::size_t entity_tail_keys = kEntityTailKeys;
  };
  static constexpr std::size_t kEntityTailKeys = 65536;

  // Where a log's facts come from, for binding checks and catch-up.
  struct log_source {
    const lmdb::env* env = nullptr;
    lmdb::dbi records;
    std::uint64_t applied = 0;  // the log's last applied seq (records and gaps)
  };

  enum class state { none, separate, legacy };

  // The databases, in the order of idem() and ix(0..4); the same names in a format-1 log env.
  static constexpr const char* kDbNames[6] = {"idem",      "ix_occurred", "ix_type",
                                              "ix_tenant", "ix_entity",   "ix_ref"};

  // `resize` is held shared around each of this env's transactions and unique to grow its map
  // (the log's resize lock: readers already hold it around their reads).
  explicit log_index(std::shared_mutex& resize) : resize_(resize) {}
  log_index(const log_index&) = delete;
  log_index& operator=(const log_index&) = delete;

  // Opens (creating when missing) the env in `dir` for writing and makes it an index of the
  // log up to log.applied: a missing, unreadable, foreign-bound or "rebooted while open" env
  // is removed and rebuilt; a bound one is caught up. Sets open_boot (synced). `why` gets the
  // reason of a rebuild ("" when the env was reused).
  result<void> open_write(const std::string& dir, const options& o, const log_source& log,
                          std::string& why);
  // Opens an existing env read-only (beside a possible writer). false (not an error) when it
  // is missing, unreadable, bound to another log, or behind `log.applied`: the caller then
  // reads without indexes.
  bool open_read(const std::string& dir, const options& o, const log_source& log);
  // Format-1 log: the databases live in the log env; opened in `t` (read-only log).
  result<bool> attach_legacy(lmdb::txn& t);

  // Syncs and clears open_boot. Idempotent; a no-op unless open for writing.
  void close();
  ~log_index() { close(); }

  state where() const { return state_; }
  // Whether queries may read the indexes: open, and not left behind the acknowledged records by
  // a failed write (a full index map or disk after the log's commit). Until a catch-up succeeds,
  // readers walk the records instead: slower, but no acknowledged record is missing from an
  // answer. Any thread.
  bool usable() const { return state_ != state::none && !behind_.load(std::memory_order_acquire); }
  bool separate() const { return state_ == state::separate; }
  // ix_entity's keys start with a seq bucket of this many bits (a separate env); 0 for the
  // unbucketed layout of a format-1 log's indexes (legacy).
  unsigned entity_bucket_bits() const { return state_ == state::separate ? bucket_bits_ : 0; }
  const lmdb::env& env() const { return env_; }
  const lmdb::dbi& idem() const { return dbs_[0]; }
  // 0 occurred, 1 type, 2 tenant, 3 entity, 4 ref.
  const lmdb::dbi& ix(std::size_t i) const { return dbs_[1 + i]; }

  // The write side of one group: put the idempotency keys while filling the log transaction,
  // then, after the log committed, finish() writes the entries and the new binding into the
  // index env's transaction, and commit_group() commits it and takes the new binding (and the
  // group's entity keys into the tail, when finish() held them).
  // Returns the prior seq when the key is known (the group's own earlier keys included).
  result<std::optional<std::uint64_t>> put_idem(lmdb::txn& t, std::string_view key,
                                                std::uint64_t seq) const;
  // What finish() did with the group's ix_entity keys: `held` are those that wait in the tail
  // (commit_group() adds them; views into the group's key list, which must not change in
  // between); the others were written (keys of hooklog's own kinds always are), with every key
  // the tail held when tail_written; entity_through is then `through` when anything was written.
  struct entity_write {
    bool written = false;
    bool tail_written = false;
    std::uint64_t through = 0;
    std::vector<std::string_view> held;
  };
  // `hold_entities` false (a catch-up) writes the entity keys whatever the tail's size, which
  // must then be empty.
  result<entity_write> finish(lmdb::txn& t, index_keys& keys, std::uint64_t through,
                              const hash256& through_hash, bool hold_entities = true) const;
  // Commits `t` (finish()'s) and, when it committed, takes the binding and changes the tail as
  // `w` says; under the tail's lock, so that a reader sees ix_entity and the tail of the same
  // group boundary. The caller holds the resize lock shared.
  result<void> commit_group(lmdb::txn& t, const entity_write& w, std::uint64_t through,
                            const hash256& h);
  std::uint64_t indexed_through() const { return through_; }
  // Up to which seq ix_entity holds every entity key (the tail the rest). Writer's thread.
  std::uint64_t entity_through() const { return entity_through_; }

  // Readers of ix_entity: copies the tail's keys (entity_tail::keys()) into `out` and returns
  // the tail's lock, held shared: begin the index transaction, then let it go. In that
  // transaction entity_keys_after() keeps the copied keys past its entity_through: with
  // ix_entity's, every key of the seqs it covers, once, as of one group boundary. Any thread,
  // holding the resize lock shared (the writer takes that one first too).
  std::shared_lock<std::shared_mutex> tail_keys(std::string_view prefix, bool exact,
                                                std::uint64_t from_seq, std::uint64_t to_seq,
                                                index_key_list& out) const;
  // `keep` gets the views of `tail_keys` (sorted) past the entity_through `t` sees.
  result<void> entity_keys_after(lmdb::txn& t, index_key_list& tail_keys,
                                 std::vector<std::string_view>& keep) const;
  // Whether this process writes the env (its tail then holds what ix_entity lacks); set by
  // open_write() before any reader, never changed after. Any thread.
  bool write_side() const { return write_side_; }
  // For a process that does not write it: whether ix_entity, as `t` sees it, holds every key
  // the other indexes hold up to `to_seq` (entity_through >= min(to_seq, indexed_through); a
  // format-2 env always does).
  result<bool> entity_whole(lmdb::txn& t, std::uint64_t to_seq) const;

  // Early answers. announce(s): the log's records up to s are committed and may be answered
  // before this env holds their entries; settle(s): it does now, or the write failed and
  // usable() is false (the catch-up failed too). Writer's thread; s never decreases.
  void announce(std::uint64_t s) { announced_.store(s, std::memory_order_seq_cst); }
  void settle(std::uint64_t s);
  // settle(s) when the write was not attempted (an exception): usable() false until a
  // catch-up succeeds.
  void abandon(std::uint64_t s) {
    behind_.store(true, std::memory_order_release);
    settle(s);
  }
  // Returns once every group announced before the call is settled: at once when none waits
  // (two atomic loads). Any thread but the writer's while it has a group announced (that would
  // wait for itself; event_log's readers walk the records there instead).
  void wait_settled() const;

  // Indexes the log's records after indexed_through() up to log.applied, in chunks of
  // `chunk` records, one transaction each. grow() is called on a full map and the chunk
  // retried; the caller must not hold the resize lock. A failure leaves usable() false until a
  // later catch-up succeeds.
  result<void> catch_up(const log_source& log, std::size_t chunk = 65536);
  // Doubles the map (up to max) under the unique resize lock; errc::map_full past it.
  result<void> grow();

  // The boot id this process runs under (the option, else /proc).
  static std::string current_boot_id(const options& o);

 private:
  result<void> catch_up_chunks(const log_source& log, std::size_t chunk);
  // Writes the tail's keys to ix_entity (entity_through = indexed_through), growing a full
  // map; empties the tail. A no-op when it is empty.
  result<void> write_tail();
  // Puts the entity keys of the records after entity_through up to indexed_through (lost with
  // a process's tail) into ix_entity; writer's open.
  result<void> restore_entity_keys(const log_source& log);
  // Runs `attempt` (a write transaction under the resize lock) until it does not fail with a
  // full map, growing the map in between.
  result<void> growing(const std::function<result<void>()>& attempt);
  // Meta entity_through as `t` sees it; nullopt in a format-2 env (no tail: ix_entity is as far
  // as indexed_through).
  result<std::optional<std::uint64_t>> entity_through_in(lmdb::txn& t) const;
  // Puts `keys` (ix_entity's, sorted here) and entity_through = indexed_through, one
  // transaction; with clear_tail the tail is emptied as it commits (under the tail's lock).
  result<void> write_entity_keys(index_key_list& keys, bool clear_tail);
  // Puts `keys` (sorted here) into `d`, appending when they all follow its last key.
  static result<void> put_sorted(lmdb::txn& t, const lmdb::dbi& d, index_key_list& keys);
  result<void> open_env(const std::string& dir, bool read_only);
  result<void> open_dbs(lmdb::txn& t, unsigned flags);
  // Reads meta; checks the format and the binding against the log. "" when bound (through_
  // and through_hash_ set), else why not.
  std::string check_binding(const log_source& log);

  std::shared_mutex& resize_;
  lmdb::env env_;
  std::array<lmdb::dbi, 6> dbs_{};  // idem, then the five ix_
  lmdb::dbi meta_;
  state state_ = state::none;
  bool writable_ = false;
  bool write_side_ = false;
  options opts_;
  std::string dir_;
  std::uint64_t through_ = 0;
  hash256 through_hash_{};
  std::uint64_t entity_through_ = 0;
  entity_tail tail_;
  mutable std::shared_mutex tail_mutex_;  // tail_'s changes (unique) against readers' copies
  unsigned bucket_bits_ = log_keys::kEntityBucketBits;
  std::atomic<bool> behind_{false};  // the last catch-up failed: the records are ahead
  std::atomic<std::uint64_t> announced_{0};
  std::atomic<std::uint64_t> settled_{0};
  mutable std::atomic<int> waiters_{0};  // readers inside wait_settled()'s wait
  mutable std::mutex settle_mutex_;
  mutable std::condition_variable settle_cv_;
};

}  // namespace hooklog
