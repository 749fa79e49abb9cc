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
#include <string>
#include <vector>

#include "engine/lmdb.hpp"
#include "engine/record.hpp"
#include "engine/result.hpp"
#include "projections/state_store.hpp"

namespace hooklog::projections {

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
  virtual void discard() {}

  // Bulk load (runner.hpp, "Rebuild from empty"): from begin_bulk() on, the projection's
  // databases are empty and its checkpoint is 0 in the store; it may keep writes staged across
  // batches (in memory, or in run files under `run_dir`, using at most about `memory` bytes)
  // instead of writing them at flush(), and writes everything staged in finish_bulk(), after
  // which it is back to the incremental path. Reads of its own state inside apply() must see
  // the staged writes. Returns false when the projection has nothing to gain (it stays
  // incremental).
  virtual bool begin_bulk(const std::string& /*run_dir*/, std::size_t /*memory*/) {
    return false;
  }
  virtual result<void> finish_bulk(lmdb::txn&) { return {}; }
};

}  // namespace hooklog::projections
