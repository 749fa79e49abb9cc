#pragma once
// The interface every projection implements. A projection is a deterministic
// function of the log: the runner feeds it records in sequence order, and the
// bytes it writes depend only on those records (never on wall-clock time,
// randomness or the batch boundaries), so rebuilding from sequence 0 gives the
// same state as the incremental path, byte for byte.
//
// Lifetimes and threads: the runner owns the projections and calls every
// mutating member on its own thread. Read members (documented per projection)
// take a caller's read transaction and may run on any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/lmdb.hpp"
#include "engine/record.hpp"
#include "engine/result.hpp"
#include "projections/proj_errc.hpp"
#include "projections/state_store.hpp"

namespace hooklog::projections {

// The write transaction of a bulk load's write-out (projection::finish_bulk), in parts. LMDB
// malloc's each dirty page (4 KiB) of a write transaction and keeps them, once it commits, for
// the next one; a write-out of hundreds of MB in one transaction faults in that much fresh heap,
// a page fault per 4 KiB (dear on a kernel with page-table isolation). So the writer commits
// the transaction and begins the next whenever about part_bytes have been written into it, and
// the parts reuse the same pages (PERFORMANCE.md, rebuild ninth pass).
//
// A part before the last commits the projection's data only: its checkpoint stays 0 and its
// bulk mark stays set until the runner writes both in the last part, so a crash between two
// parts leaves a state that the next open drops and rebuilds, as a crash before the write-out
// does. The keys and values written are the same in any number of parts.
class bulk_writer {
 public:
  // Begins the first part; the caller checks ok(). fail_after_parts (a test hook): moving to the
  // next part fails once that many parts are committed, as a crash between two parts would.
  bulk_writer(state_store& s, std::size_t part_bytes, std::size_t fail_after_parts = SIZE_MAX)
      : store_(s), part_bytes_(part_bytes == 0 ? 1 : part_bytes), fail_after_(fail_after_parts) {
    begin();
  }
  result<void> ok() const { return error_ ? result<void>(*error_) : result<void>(); }
  lmdb::txn& txn() { return t_; }
  // After a put through `c` (a cursor on `d` in txn(), the writer's only one): counts the bytes
  // written in the part (the put's key and value, plus LMDB's 10 bytes of node header and
  // slot); when the part is full, commits it, begins the next one and reopens `c` on `d` in it.
  result<void> wrote(lmdb::cursor& c, const lmdb::dbi& d, std::size_t key_bytes,
                     std::size_t value_bytes) {
    return wrote(c, d, nullptr, nullptr, key_bytes, value_bytes);
  }
  // The same for a projection with a second cursor (`c2` on `d2`, also in txn()), reopened
  // alike (call it after a put through either cursor).
  result<void> wrote(lmdb::cursor& c, const lmdb::dbi& d, lmdb::cursor* c2, const lmdb::dbi* d2,
                     std::size_t key_bytes, std::size_t value_bytes) {
    written_ += key_bytes + value_bytes + 10;
    if (written_ < part_bytes_) return {};
    c = lmdb::cursor();  // closed before their transaction commits
    if (c2 != nullptr) *c2 = lmdb::cursor();
    if (auto n = next_part(); !n) return n;
    auto o = lmdb::cursor::open(t_, d);
    if (!o) return o.err();
    c = std::move(*o);
    if (c2 != nullptr) {
      auto o2 = lmdb::cursor::open(t_, *d2);
      if (!o2) return o2.err();
      *c2 = std::move(*o2);
    }
    return {};
  }
  std::size_t parts_committed() const { return parts_; }

 private:
  // Commits the part and begins the next one.
  result<void> next_part() {
    if (auto c = t_.commit(); !c) return c;
    ++parts_;
    written_ = 0;
    if (parts_ >= fail_after_)
      return make_error(proj_errc::state_failure, "injected failure after a write-out part");
    begin();
    return ok();
  }
  void begin() {
    auto b = store_.begin_write();
    if (b)
      t_ = std::move(*b);
    else
      error_ = b.err();
  }
  state_store& store_;
  std::size_t part_bytes_;
  std::size_t written_ = 0;
  std::size_t fail_after_;
  std::size_t parts_ = 0;
  lmdb::txn t_;
  std::optional<error> error_;
};

class projection {
 public:
  virtual ~projection() = default;
  virtual const char* name() const = 0;
  // Projections whose state (as of the same record) this one reads while
  // applying. They are applied first for each record, and rebuilt with it.
  virtual std::vector<std::string> depends_on() const { return {}; }
  // The state databases this projection owns (dropped on rebuild).
  virtual std::vector<std::string> databases() const = 0;
  // The layout of those databases. A projection whose stored layout differs is
  // rebuilt at open (the runner keeps "<name>.layout" beside the checkpoints
  // when the layout is above 1; absent means 1).
  virtual std::uint32_t layout() const { return 1; }

  // Opens the databases (write txn at startup).
  virtual result<void> open(state_store& s, lmdb::txn& t) = 0;
  // Rebuilds in-memory caches from the stored state (after open, after a
  // rebuild reset, and after a failed batch).
  virtual result<void> load(lmdb::txn&) { return {}; }
  // Applies one record. Records that are not for this projection are ignored;
  // a malformed body is skipped (the log is never rewritten, so failing would
  // stall every later record). Only LMDB failures are errors.
  virtual result<void> apply(lmdb::txn& t, const record_view& r) = 0;
  // Writes state buffered during the batch, before the commit; closes any
  // cursor opened on the batch's write txn.
  virtual result<void> flush(lmdb::txn&) { return {}; }
  // The batch is being aborted (called before the txn ends): forget buffered
  // state and close cursors. Also ends a bulk load, forgetting everything it staged.
  // What committed batches left held (below) stays.
  virtual void discard() {}

  // Writes held across batches (timelines.hpp): a projection may keep a committed batch's
  // writes in memory and write them with a later batch's. The runner then stores, as its
  // checkpoint after a batch whose last record is `last`, stored_checkpoint(last): the seq
  // through which its databases hold everything it applied; at open it applies the records
  // after it again. Its readers merge what it holds.
  virtual std::uint64_t stored_checkpoint(std::uint64_t last) const { return last; }
  // Writes everything held into `t` (the runner: at each state sync, at the end of catch_up(),
  // at close); true when it wrote anything (the runner then stores the checkpoint and commits).
  virtual result<bool> write_held(lmdb::txn&) { return false; }
  // Something is held (write_held() would write).
  virtual bool has_held() const { return false; }
  // The transaction of a batch (or of write_held()) committed; on the runner's thread.
  virtual void committed() {}
  // In the transaction that drops its databases (rebuild, a layout change), before the drops
  // and the commit (timelines: its readers from then on must not take what is held).
  virtual void resetting(lmdb::txn&) {}
  // That transaction failed (aborted): nothing was dropped.
  virtual void reset_failed() {}
  // Its databases were dropped (that transaction committed): forget everything held.
  virtual void dropped() {}

  // Bulk load (runner.hpp, "Rebuild from empty"): from begin_bulk() on, the projection's
  // databases are empty and its checkpoint is 0 in the store; it may keep writes staged across
  // batches (in memory, or in run files under `run_dir`, using at most about `memory` bytes)
  // instead of writing them at flush(), and writes everything staged in finish_bulk(), after
  // which it is back to the incremental path; finish_bulk() writes through `w` (bulk_writer
  // above: it reports every put and moves to the next part when told, reopening its cursors).
  // Reads of its own state inside apply() must see the staged writes. Returns false when the
  // projection has nothing to gain (it stays incremental).
  virtual bool begin_bulk(const std::string& /*run_dir*/, std::size_t /*memory*/) {
    return false;
  }
  virtual result<void> finish_bulk(bulk_writer& /*w*/) { return {}; }
};

}  // namespace hooklog::projections
