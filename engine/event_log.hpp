#pragma once
// The append-only, tamper-evident event log: the only source of truth, in two LMDB
// environments under `<data dir>/log` (layout: docs/FORMAT.md, format `hooklog-log/2`).
//
// `<data dir>/log` holds the truth, fsynced on every commit: "records" (seq -> encoded
// record), "meta", "merkle" (the Merkle tree's subtree hashes, engine/merkle_store.hpp) and
// "gaps" (cluster mode: a stream sequence that holds no record -> the original seq of the
// repeat it carried). `<data dir>/log/index` (engine/log_index.hpp) holds what is derived from
// the records: "idem" (tenant\0source\0key -> seq) and the indexes "ix_occurred", "ix_type",
// "ix_tenant" (events only), "ix_entity" (every record with an entity) and "ix_ref" (ref_seq ->
// seq), written without fsync right after each group's log commit (append_then() answers the
// producers in between; this process's index readers wait for the write). An index env that lags (a
// failed index commit) is caught up before the next group; one that is missing, bound to another
// log or left open by a machine that rebooted is rebuilt from the records at open. A format-1 log
// (indexes inside the log env) is migrated by a writer's open; read-only opens read either layout,
// and without a usable index env they answer queries by walking the records in seq order.
//
// Thread safety: append() must be called from one thread at a time (the
// log_writer's thread). Reads (get, scan, verify, head) may run on any thread
// concurrently with appends; they never block the writer. scan() and find_idempotent() may wait
// for the index write of a group answered early (append_then; a fraction of a millisecond,
// longer while a failed index write is caught up): do not call them holding a lock that an
// append_then callback takes. A second process
// opening the same directory gets errc::locked.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "engine/errc.hpp"
#include "engine/lmdb.hpp"
#include "engine/log_index.hpp"
#include "engine/record.hpp"

namespace hooklog {

struct log_options {
  std::string dir;                               // the data directory
  std::size_t initial_map_size = 64ull << 20;    // bytes; grows by itself when full
  std::size_t max_map_size = 1ull << 40;         // the map never grows beyond this
  bool read_only = false;
  // Take the data directory's exclusive lock even when read-only. A writer always takes it;
  // a read-only server sets this because it still owns the projection state beside the log.
  // Read-only tools (verify, export, tail) leave it false and may run beside a server.
  bool exclusive = false;
  bool sync = true;  // fsync on every commit; turn off only in throw-away tests
  // Keep the Merkle tree (engine/merkle_store.hpp). Off only in benchmarks comparing the append
  // rate without it: nothing is written to the tree and proofs then fail.
  bool merkle_tree = true;
  // The index env (engine/log_index.hpp): written through its map (MDB_WRITEMAP|MDB_MAPASYNC,
  // the map reserved on disk) or by plain MDB_NOSYNC page writes (false; HOOKLOG_INDEX_WRITEMAP
  // overrides either way), and the boot id to compare with its open_boot (empty: this
  // machine's, from /proc/sys/kernel/random/boot_id; tests set it to fake a reboot).
  bool index_writemap = true;
  std::string boot_id{};
  // ix_entity's seq bucket width when the index env is created (log_index::options); tests
  // set a few bits to have many buckets in a small log.
  unsigned index_entity_bucket_bits = log_keys::kEntityBucketBits;
  // ix_entity's keys held in memory until this many are written in one run (log_index::options;
  // 0: with each group; HOOKLOG_ENTITY_TAIL_KEYS overrides, the benchmarks' switch).
  std::size_t index_entity_tail_keys = log_index::kEntityTailKeys;
};

// Cluster mode: the kind the materializer gives a stream message that is not a record
// (append_replicated records its seq as a gap to 0). Never stored.
inline constexpr record_kind kUnreadableMessage = static_cast<record_kind>(0);

struct append_outcome {
  std::uint64_t seq = 0;
  bool duplicate = false;  // the idempotency key was known: seq is the original's
};

struct log_head {
  std::uint64_t seq = 0;  // 0 for an empty log
  hash256 chain_hash{};
};

// What to read. Results come in the order of the index that drives the scan:
// entity, then type, then tenant, then occurred time, else sequence order.
struct scan_query {
  std::uint64_t from_seq = 1;           // inclusive
  std::uint64_t to_seq = UINT64_MAX;    // inclusive
  std::optional<record_kind> kind;
  std::optional<std::int64_t> occurred_from, occurred_to;  // µs, [from, to)
  std::optional<std::int64_t> recorded_from, recorded_to;  // µs, [from, to)
  std::string tenant;        // empty = any
  std::string source;        // empty = any
  std::string type;          // exact type, or a glob ending in '*' ("job.*"), or "*"; empty = any
  std::string entity_kind;   // with entity_id: one entity's records; alone: every entity of the kind
  std::string entity_id;     //   (then ordered by entity id, then seq)
  std::optional<std::uint64_t> ref_seq;  // records that refer to this seq (an event's attempts)
  std::string after;         // resume token from a previous scan (exclusive)
  // Walk the driving index backwards (newest first: descending seq, occurred time, entity id).
  // Positions are the same tokens either way: `after` continues in the direction asked for.
  bool descending = false;
  // Read the records in seq order and filter each, without the indexes: for a reader that
  // follows the log from a recent seq (a short walk) and must not depend on an index env
  // opened long ago (a writer may have rebuilt it since, e.g. `hooklog tail`).
  bool seq_order = false;
  // Records of the driving walk (index entries, or records in seq order) one scan examines at
  // most, matching or not; 0 = no bound. A scan that has examined this many while the walk
  // goes on and the callback has not ended it stops and says so in its scan_stop.
  std::uint64_t examine_limit = 0;
};

// How a scan ended, for a caller that bounds it (scan_query::examine_limit).
struct scan_stop {
  // The scan stopped for the bound, with records of the walk still to examine: more may match.
  // False when the walk ended, the callback ended it, or the scan has no bound.
  bool bounded = false;
  // When bounded: the position of the last record examined (matching or not), to pass as
  // scan_query::after (same query, same direction) to go on with the next one.
  std::string resume;
};

struct verify_report {
  std::uint64_t from = 0, to = 0;  // the range walked
  std::uint64_t checked = 0;
  bool ok = true;
  std::uint64_t first_bad_seq = 0;
  std::string problem;  // what was wrong with first_bad_seq
  hash256 head_hash{};  // chain hash of the last good record checked
};

class event_log {
 public:
  static result<std::unique_ptr<event_log>> open(const log_options& opts);
  ~event_log();
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  // Appends records in one write transaction and commits it (one fsync).
  // Assigns seq, recorded_at (when 0; never earlier than the previous record's),
  // occurred_at (= recorded_at when 0) and the hashes. A record whose
  // (tenant, source, idempotency_key) is known is not stored: its outcome is the
  // original seq with duplicate = true. A record that cannot be encoded fails
  // alone. A full map is grown and the transaction retried; past max_map_size
  // every record fails with errc::map_full and nothing is stored.
  std::vector<result<append_outcome>> append(std::vector<record>& records);

  // append(), answering as soon as the outcomes are final: `durable` gets them (one per record,
  // to keep or move from) once, right after the log's commit (the records durable, get() and
  // for_each() reading them, head() and committed_seq() past them) and before the index env is
  // written; on a failure, at the end. scan() and find_idempotent() calls in this process that
  // start after `durable` began wait until the group's index entries are in, so a query after
  // an answer finds the answered records; made from inside `durable` (its thread) they walk the
  // records instead. The records are not read after `durable` returns.
  using outcomes_fn = std::function<void(std::vector<result<append_outcome>>&)>;
  void append_then(std::vector<record>& records, const outcomes_fn& durable);

  // Cluster mode (engine/cluster/materializer.hpp): appends records that already carry their
  // seq (the stream sequence; increasing, each above applied_seq()) and recorded_at (from the
  // message), in one write transaction. recorded_at is raised to the previous record's when it
  // is lower, occurred_at is recorded_at when 0: the same input gives the same bytes on every
  // node. A record whose idempotency key is known is not stored: its seq becomes a gap (seq ->
  // the original's seq, in "gaps", same transaction) and its outcome is {original seq,
  // duplicate}. A record of kind kUnreadableMessage (a stream message that does not decode)
  // becomes a gap to 0 and its outcome is errc::invalid_record. A seq not above applied_seq() (or not increasing) fails the whole group with
  // errc::sequence_mismatch; a map_full is grown and retried as in append().
  std::vector<result<append_outcome>> append_replicated(std::vector<record>& records);
  // The last sequence applied: the head record's seq, or a later gap's. Equals head().seq in
  // single-node mode (no gaps there).
  std::uint64_t applied_seq() const { return applied_.load(std::memory_order_acquire); }
  // Blocks until applied_seq() >= seq or the timeout passes; returns applied_seq().
  std::uint64_t wait_applied(std::uint64_t seq, std::chrono::milliseconds timeout) const;
  // The original seq a gap stands for; nullopt when `seq` is not a gap.
  result<std::optional<std::uint64_t>> gap_original(std::uint64_t seq) const;
  // The cell whose stream this log materializes ("meta/cell", set by cluster mode on an empty
  // log); nullopt for a single-node log. Single-node writers refuse a log that has one.
  result<std::optional<std::string>> cluster_cell() const;
  result<void> set_cluster_cell(std::string_view cell);

  // Reads one record. nullopt when seq is beyond the head.
  result<std::optional<record>> get(std::uint64_t seq) const;
  // The time the record at `seq` was recorded at, as every read and a restart show it (for an
  // answer to the write that stored it); nullopt when there is no record there or it cannot be
  // read.
  std::optional<std::int64_t> recorded_at(std::uint64_t seq) const;
  // Looks up the seq an idempotency key maps to.
  result<std::optional<std::uint64_t>> find_idempotent(std::string_view tenant,
                                                        std::string_view source,
                                                        std::string_view key) const;

  // Calls fn(view, position) for each matching record until it returns false.
  // `view` is valid only during the call; `position` resumes with query.after.
  // Memory stays bounded whatever the range. Returns how many records matched.
  // With q.examine_limit the walk stops after that many records examined; `stop` (when given;
  // reset at the start) then says bounded and where to resume: following the resume positions
  // yields the unbounded scan's matches, each once, in order.
  using scan_fn = std::function<bool(const record_view&, std::string_view position)>;
  result<std::uint64_t> scan(const scan_query& q, const scan_fn& fn,
                             scan_stop* stop = nullptr) const;

  // Plain sequence-order walk from `from_seq`, the fastest read path
  // (projections, replays, export). Decodes and checks each record.
  result<std::uint64_t> for_each(std::uint64_t from_seq, std::uint64_t to_seq,
                                 const std::function<bool(const record_view&)>& fn) const;

  // Walks the chain over [from, to] (clamped to the log) and names the first bad record.
  result<verify_report> verify(std::uint64_t from = 1, std::uint64_t to = UINT64_MAX) const;

  log_head head() const;
  std::uint64_t committed_seq() const { return committed_.load(std::memory_order_acquire); }
  // Blocks until committed_seq() > seq or the timeout passes; returns committed_seq().
  std::uint64_t wait_for_commit_after(std::uint64_t seq, std::chrono::milliseconds timeout) const;

  std::size_t map_size() const;
  // Bytes in use in `log/` (records, Merkle tree), and in `log/index/` (0 for a format-1 log,
  // whose indexes are inside `log/`, or a read-only open without the index env).
  std::size_t used_bytes() const;
  std::size_t index_used_bytes() const;
  const log_options& options() const { return opts_; }
  // Read-only logs whose last record is damaged: the first damaged seq of the tail
  // (reads stop before it; head() is the last good record). 0 otherwise.
  std::uint64_t damaged_from() const { return damaged_from_; }

  // For tests and tools that need raw access (e.g. to corrupt bytes on purpose).
  const lmdb::env& raw_env() const { return env_; }
  MDB_dbi records_dbi() const { return records_.handle(); }
  // The Merkle tree's database (engine/merkle_store.hpp); has_merkle() is false only for a
  // read-only open of a log written before the tree existed.
  bool has_merkle() const { return has_merkle_; }
  const lmdb::dbi& merkle_db() const { return merkle_; }
  // The index env: where it is (separate, legacy inside a format-1 log, or none: a read-only
  // open without a usable one) and why it was rebuilt at this open ("" when reused).
  const log_index& index() const { return *index_; }
  const std::string& index_rebuilt_because() const { return index_rebuilt_; }
  // The "gaps" database (cluster mode), 0 when the log has none.
  MDB_dbi gaps_dbi() const { return has_gaps_ ? gaps_.handle() : 0; }

  // Read transactions hold this shared lock so the map can be resized safely.
  std::shared_lock<std::shared_mutex> read_lock() const {
    return std::shared_lock<std::shared_mutex>(resize_mutex_);
  }

 private:
  explicit event_log(log_options opts);
  result<void> open_impl();
  result<void> grow_map();
  // Walks the index entries under `prefix`. With exact_prefix every key is
  // prefix + seq (seq order, seeks to from_seq); otherwise keys continue past the
  // prefix and end in the seq. bucket_bits != 0: the keys start with a seq bucket of that
  // width (ix_entity, engine/index_walk.hpp), walked as if they did not. `tail`: ix_entity's
  // keys in the writer's memory (log_index::tail_keys(), taken before ixt began), merged in.
  result<std::uint64_t> scan_index(lmdb::txn& ixt, lmdb::txn& t, const lmdb::dbi& ix,
                                   std::string prefix, bool exact_prefix, const scan_query& q,
                                   const scan_fn& fn, scan_stop* stop, unsigned bucket_bits = 0,
                                   index_key_list* tail = nullptr) const;
  result<std::optional<std::uint64_t>> first_seq_recorded_at_or_after(lmdb::txn& t,
                                                                      std::int64_t micros) const;
  // Opens the index env after the log's own databases (migrating a format-1 log).
  result<void> open_index();
  result<void> migrate_from_format_1();
  log_index::log_source index_source() const;
  // One append group inside its write transaction: what append() and append_replicated() fill.
  struct append_group {
    append_group(lmdb::txn& txn, lmdb::txn& index_txn,
                 const std::vector<std::pair<std::int64_t, std::int64_t>>& own,
                 std::vector<result<append_outcome>>& outcomes)
        : t(txn), ixt(index_txn), times(own), out(outcomes) {}
    lmdb::txn& t;
    lmdb::txn& ixt;  // the index env's, committed after t
    bool index_failed = false;  // the error came from the index env
    const std::vector<std::pair<std::int64_t, std::int64_t>>& times;  // each record's own
                                                                      // (recorded_at, occurred_at)
    std::vector<result<append_outcome>>& out;
    log_head head;                  // the chain so far
    std::int64_t last_recorded = 0;  // recorded_at of the last stored record
    std::uint64_t applied = 0;       // the last seq stored or recorded as a gap
    index_keys ix_keys;
    std::vector<hash256> leaves;  // the Merkle tree's leaves, one per seq after the start's applied
  };
  // The shell of both appends: refuses on a read-only log; catches a lagging index env up; runs
  // `fill` in a write transaction of each env (idempotency keys claimed in the index env's);
  // writes the Merkle leaves and commits the log (fsync), then the index keys (sorted) and the
  // binding in the index env (no fsync; a failure there is caught up from the records); on a
  // full map of either env before the log commit grows it and runs the whole group again from
  // the records' own times; publishes the new head.
  // With `durable`, as in append_then(): the head published and `durable` called right after
  // the log's commit (the group announced to the index readers first, settled at the end).
  std::vector<result<append_outcome>> run_append(
      std::vector<record>& records, const std::function<result<void>(append_group&)>& fill,
      const outcomes_fn* durable = nullptr);
  // Whether a query may read the index env now: waits for an announced group (log_index::
  // wait_settled); false without a usable index env, and on a thread inside append_then's
  // `durable` (its group is not in the index env yet).
  bool index_readable() const;
  // Inside `fill`: the idempotency look-up (and claim) of r in the index env.
  result<std::optional<std::uint64_t>> claim_idem(append_group& g, const record& r);
  // Inside `fill`: seals the record encoded in scratch_ (r.seq set) onto the group's chain,
  // stores it, and collects its index keys and Merkle leaf; head.seq and applied become r.seq.
  result<void> store_encoded(append_group& g, record& r);
  // True when every seq in [from, to) is a recorded gap (true for an empty range).
  result<bool> all_gaps(lmdb::txn& t, std::uint64_t from, std::uint64_t to) const;
  void publish_commit(const log_head& head, std::int64_t last_recorded, std::uint64_t applied);

  log_options opts_;
  int lock_fd_ = -1;
  lmdb::env env_;
  lmdb::dbi records_, meta_;
  lmdb::dbi gaps_;
  bool has_gaps_ = false;  // false: a read-only log written before "gaps" existed
  std::atomic<std::uint64_t> applied_{0};
  lmdb::dbi merkle_;
  bool has_merkle_ = false;
  mutable std::shared_mutex resize_mutex_;
  mutable std::mutex head_mutex_;
  log_head head_;
  std::int64_t last_recorded_at_ = 0;
  std::atomic<std::uint64_t> committed_{0};
  mutable std::mutex commit_mutex_;
  mutable std::condition_variable commit_cv_;
  std::string scratch_;
  std::uint64_t read_limit_ = UINT64_MAX;  // reads stop after this seq (damaged tail, read-only)
  std::uint64_t damaged_from_ = 0;
  std::unique_ptr<log_index> index_;
  std::string index_rebuilt_;
};

}  // namespace hooklog
