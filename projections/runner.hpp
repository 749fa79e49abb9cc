#pragma once
// The projection runner: feeds every projection the log records after its
// checkpoint, in sequence order, and commits the projections' state together
// with their new checkpoints in one write transaction of the state environment
// (`<data dir>/state`, see state_store.hpp), so state and checkpoint can never
// disagree, whatever crashes. A projection that holds writes in memory across
// batches (timelines) stores the checkpoint its databases are whole through
// (projection::stored_checkpoint); the runner has it write what it holds at each
// sync, at the end of catch_up() and at close (write_held()).
//
// Order: subscriptions, timelines, pending, stats. For each record every
// projection whose checkpoint is below the record's seq applies it, in that
// order, so pending matches an event against the endpoints as of that record.
//
// Following: start() spawns one thread that catches up, then blocks in
// event_log::wait_for_commit_after() (a condition variable the log signals on
// every commit: no polling and no gap between a commit and the runner seeing
// it). Batches hold at most batch_records records. The state is synced every
// sync_interval when something was applied, and on stop.
//
// Rebuild: rebuild(name) drops the named projection's databases, and those of
// the projections it depends on (pending depends on subscriptions: rebuilding
// pending alone from 0 would match old events against today's endpoints),
// resets their checkpoints to 0 in the same transaction, and catches them up
// from sequence 1. "all" rebuilds everything.
//
// Rebuild from empty (bulk load): when a projection's databases are empty and its checkpoint is
// 0 (after rebuild() or a reset at open, or a first catch-up of an existing log on a fresh state
// directory), timelines and pending stage their writes across batches instead of writing them
// per batch (projection::begin_bulk; at most rebuild_memory bytes in memory, split between them;
// timelines spills sorted runs to `<state dir>/rebuild-runs/`), and write each staged database
// once in key order with MDB_APPEND when the load ends: at the first batch that reaches the log's
// committed seq (or catch_up's up_to), when a catch-up finds nothing left, or when the runner is
// destroyed. Until then their checkpoints stay 0 in the store (applied_seq() does not count their
// progress) and each batch's transaction marks them "<name>.bulk" in the checkpoints database;
// each projection's staged data is written in transactions of its own, in parts of about
// write_out_part_bytes (LMDB reuses the pages of the part before), the last of which writes its
// checkpoint and removes its mark. So a crash never leaves a state that claims records its
// databases do not hold: a rebuild killed midway (before any write-out, between two, or between
// two parts of one) finds the marks left at the next open, which drops those projections (and
// what depends on them, or what they depend on when it is ahead) and rebuilds them from
// sequence 1; a projection already written keeps its state.
// A batch that fails during a bulk load restarts the load from sequence 1 (the staged writes of
// the batches before are dropped with it); so does a failed write-out, for the projections not
// yet written and their dependencies. The run directory is removed on success, on failure
// and at every open. bulk_rebuild = false keeps the per-batch path (tests compare the two).
//
// Without a bulk load (the runner following the log) a catch-up killed midway resumes from its
// checkpoint.
//
// A failed batch (an LMDB error, e.g. a full disk) is rolled back, the
// projections' in-memory state is reloaded from the committed state, and the
// batch is retried after a pause (retry_pause); last_error() reports it until a
// batch commits again or the runner finds itself caught up with the log, which
// clears it (so /readyz recovers once space is freed).
//
// Thread safety: every public member may be called from any thread.
// catch_up() and rebuild() serialise with the runner thread (batch by batch).
// The projection objects and the store live as long as the runner; their read
// members take the caller's read transaction (store().begin_read()).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/event_log.hpp"
#include "projections/pending.hpp"
#include "projections/projection.hpp"
#include "projections/state_store.hpp"
#include "projections/stats.hpp"
#include "projections/subscriptions.hpp"
#include "projections/timelines.hpp"

namespace hooklog::projections {

struct runner_options {
  std::string state_dir;  // `<data dir>/state`
  std::size_t batch_records = 100'000;  // bigger batches amortise page copies in catch-up
  std::chrono::milliseconds sync_interval{1000};
  std::chrono::milliseconds idle_wait{100};  // bounds how long stop() waits for the thread
  std::chrono::milliseconds retry_pause{1000};
  std::size_t map_size = 1ull << 40;
  // Staged pending_ix entries written out mid-batch past this many (pending.hpp; tests lower it).
  std::size_t pending_staged_max = pending::kMaxStaged;
  // Staged timeline transitions written out mid-batch past this many (timelines.hpp; tests
  // lower it).
  std::size_t timelines_staged_max = timelines::kMaxStaged;
  // The width of timelines' seq buckets (timelines.hpp; tests narrow it to spread a small log
  // over many buckets).
  unsigned timelines_bucket_bits = timelines::kBucketBits;
  // Timeline transitions held in memory across batches, written together past this many (and
  // at each sync, at the end of catch_up() and at close; timelines.hpp); 0 writes each batch's.
  // HOOKLOG_TIMELINES_HELD overrides (the benchmarks' switch).
  std::size_t timelines_held_max = timelines::kMaxHeld;
  // Rebuild from empty with staged, sorted, appended writes (see above).
  bool bulk_rebuild = true;
  // Bytes a bulk load holds in memory at most (about: half for timelines, half for pending).
  std::size_t rebuild_memory = std::size_t{512} << 20;
  // A bulk load's write-out commits a transaction every this many bytes written (bulk_writer,
  // projection.hpp): LMDB's dirty pages are faulted in for one part and reused by the next.
  std::size_t write_out_part_bytes = std::size_t{8} << 20;
  // The nice value of the runner's thread (0 to 19; setpriority on the thread at start, named
  // "projections"). Above 0 the log writer and the request threads take a contended CPU
  // first; the projections then apply what came in larger batches, fewer commits per event,
  // and lag while the CPU stays contended, also behind other processes' threads
  // (docs/OPERATIONS.md, docs/PERFORMANCE.md).
  int thread_nice = 0;
};

class projection_runner {
 public:
  static result<std::unique_ptr<projection_runner>> open(const event_log& log, runner_options opts);
  ~projection_runner();  // stop() and a final sync
  projection_runner(const projection_runner&) = delete;
  projection_runner& operator=(const projection_runner&) = delete;

  void start();
  void stop();

  // Applies committed records synchronously, up to `up_to` (inclusive) and at
  // most `max_batches` batches. Returns the number of records read.
  result<std::uint64_t> catch_up(std::uint64_t up_to = UINT64_MAX,
                                 std::size_t max_batches = SIZE_MAX);
  // Drops and rebuilds `name` ("subscriptions", "timelines", "pending", "stats",
  // or "all") and its dependencies, then catches up to the log's committed seq
  // (waits for the runner thread when it is running).
  result<void> rebuild(std::string_view name);
  std::vector<std::string> names() const;
  // Every state database as (owning projection, database name), in apply order, then
  // ("runner", "checkpoints"). state_compare.hpp compares two states over these.
  std::vector<std::pair<std::string, std::string>> databases() const;

  // Every projection has applied every record up to here.
  std::uint64_t applied_seq() const { return applied_.load(std::memory_order_acquire); }
  std::optional<std::uint64_t> checkpoint(std::string_view name) const;
  // The checkpoint of projection `name` as seen by read transaction `t` (0 when none): what
  // that transaction's view of the projection includes.
  result<std::uint64_t> checkpoint_in(lmdb::txn& t, std::string_view name) const;
  std::uint64_t lag() const;  // log committed seq - applied seq
  // true when applied_seq() >= seq before the timeout (read-your-writes).
  bool wait_applied(std::uint64_t seq, std::chrono::milliseconds timeout) const;
  // `hook(applied_seq())` after every publish of applied_seq() (each committed batch, a reset,
  // a bulk load's end), on the thread that published it (the runner's, or a catch_up() or
  // rebuild() caller), before wait_applied() callers are woken; one hook at a time, calls never
  // overlap. It runs under the lock that publishes: it must be short and must not call the
  // runner (the dispatcher only marks its wake-up). An empty function removes it; once
  // set_applied_hook() returned, the old hook is not called again.
  void set_applied_hook(std::function<void(std::uint64_t)> hook);
  // The error of the last failed batch; nullopt once a batch committed after it.
  std::optional<error> last_error() const;
  // Batches that failed since open (each is also logged: "projection.error").
  std::uint64_t error_count() const { return errors_.load(std::memory_order_relaxed); }
  // Batches committed since open (catch-up, rebuild and following alike; a bulk load's
  // write-out is not counted).
  std::uint64_t batch_count() const { return batches_.load(std::memory_order_relaxed); }

  state_store& store() { return *store_; }
  const subscriptions& subs() const { return *subs_; }
  const timelines& timeline() const { return *timelines_; }
  // timeline().get() in a read transaction of its own, begun again when the held transitions
  // were written out after it began (proj_errc::read_again; at most once a sync interval).
  result<std::optional<projections::timeline>> read_timeline(
      std::string_view tenant, std::string_view kind, std::string_view id,
      std::size_t limit = SIZE_MAX, std::optional<timeline_position> after = {}) const;
  const pending& queue() const { return *pending_; }
  const stats& delivery() const { return *stats_; }

  // Test hook: the next batch fails (and is rolled back) after applying n records.
  void fail_next_batch_after(std::uint64_t n) { fail_after_.store(n); }
  // Test hook: the next bulk write-out fails once n of its parts (all projections' together,
  // not counting each projection's last) are committed, as a crash between two parts stops it.
  void fail_write_out_after_parts(std::size_t n) { fail_write_out_after_.store(n); }

 private:
  projection_runner(const event_log& log, runner_options opts);
  result<void> open_impl();
  // Drops the databases of `which` and sets their checkpoints to 0, with every projection in a
  // bulk load (its staged writes are dropped by the reload) and what that one depends on.
  result<void> reset(const std::vector<std::size_t>& which);
  result<void> reload();
  // One batch; returns records read (0 = nothing to do).
  result<std::uint64_t> apply_batch(std::uint64_t up_to);
  void publish_applied();
  // Bulk loads (see above), all under apply_mutex_.
  std::string run_dir() const { return opts_.state_dir + "/rebuild-runs"; }
  void enter_bulk(const std::vector<std::size_t>& which);
  bool in_bulk() const;
  result<void> finish_bulk();     // writes the staged state and the checkpoints
  result<void> restart_bulk();    // after a failure: resets the loads' projections
  result<bool> databases_empty(std::size_t i);
  void clear_error();
  void run();
  // On the runner's thread, at its start: its name and opts_.thread_nice.
  void set_thread_priority() const;
  void maybe_sync(bool force);
  // Writes what the projections hold across batches, with their checkpoints, in a transaction
  // of its own (projection::write_held); under apply_mutex_.
  result<void> write_held();

  const event_log& log_;
  runner_options opts_;
  std::unique_ptr<state_store> store_;
  lmdb::dbi checkpoints_;
  std::unique_ptr<subscriptions> subs_;
  std::unique_ptr<timelines> timelines_;
  std::unique_ptr<pending> pending_;
  std::unique_ptr<stats> stats_;
  std::vector<projection*> all_;  // in apply order

  mutable std::mutex apply_mutex_;  // one batch / reset / sync at a time
  std::vector<std::uint64_t> cp_; // checkpoints, guarded by apply_mutex_ (read under it)
  std::vector<char> bulk_;         // per projection: in a bulk load (guarded by apply_mutex_)
  bool bulk_broken_ = false;       // a bulk load failed: restart it before the next batch
  std::atomic<std::uint64_t> applied_{0};
  mutable std::mutex applied_mutex_;
  mutable std::condition_variable applied_cv_;
  std::function<void(std::uint64_t)> applied_hook_;  // guarded by applied_mutex_
  mutable std::mutex error_mutex_;
  std::optional<error> last_error_;
  std::atomic<std::uint64_t> fail_after_{UINT64_MAX};
  std::atomic<std::size_t> fail_write_out_after_{SIZE_MAX};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> batches_{0};

  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex thread_mutex_;
  std::chrono::steady_clock::time_point last_sync_{};  // guarded by apply_mutex_
  bool dirty_ = false;                                  // guarded by apply_mutex_
  bool held_write_failed_ = false;  // write_held() failed since it last succeeded (apply_mutex_)
};

}  // namespace hooklog::projections
