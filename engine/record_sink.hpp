#pragma once
// The write path behind one interface: "append these records, tell me when they are durable".
// Everything that writes to the log (the API, the dispatcher, the replay manager) holds a
// record_sink&, never a concrete writer; log_writer (LMDB group commit, log_writer.hpp) is the
// first implementation, a replicated publisher (issue 14, cluster mode) the second.
//
// Contract of submit(records, done):
// - `done` is called exactly once, with one outcome per record in the order submitted: the
//   record's append_outcome (its seq, or the original seq of an idempotent repeat) or the error
//   that kept it out of the log. Records of one submit() are appended in that order; records of
//   different submissions keep the order in which submit() returned.
// - Durable: when `done` reports success, the record is in the log and survives a crash of the
//   process and of the machine (for log_writer: committed and fsynced in the LMDB environment).
//   Nothing may be acknowledged to a client before `done` reported it.
// - `done` runs on a thread of the sink, in completion order; it must not block for long and must
//   not call submit() and then wait for that submission. Once the implementation is stopped,
//   submissions complete with errc::writer_stopped, and `done` may then run inside submit().
//
// Thread safety: submit(), append() and stats() may be called from any thread concurrently.
// Lifetimes: the sink must outlive every caller, and every callback it still has to run.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <vector>

#include "engine/event_log.hpp"

namespace hooklog {

// Upper bounds (µs) of the commit-time histogram in writer_stats (+Inf implied).
inline constexpr std::array<std::uint64_t, 12> kCommitBoundsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

// What a sink reports for /metrics: a "group" is one durable write (a transaction with its fsync
// for log_writer).
struct writer_stats {
  std::uint64_t groups = 0;
  std::uint64_t records = 0;
  std::uint64_t max_group = 0;
  std::uint64_t commit_micros_total = 0;  // to each group's outcomes (append and fsync)
  // After the outcomes: answers given on the writer's thread and the index env's write
  // (log_writer; 0 for a sink that has no such step).
  std::uint64_t after_commit_micros_total = 0;
  // Per group, non-cumulative.
  std::array<std::uint64_t, kCommitBoundsUs.size() + 1> commit_buckets{};
  std::uint64_t failed_groups = 0;  // groups whose append failed (each is logged, sampled)
};

class record_sink {
 public:
  using outcomes = std::vector<result<append_outcome>>;
  using callback = std::function<void(outcomes&&)>;

  virtual ~record_sink() = default;

  // Queues `records`; `done` gets one outcome per record, in order, once they are durable (or
  // failed). See the contract above.
  virtual void submit(std::vector<record> records, callback done) = 0;
  // The same for records whose durability nobody waits on at once (the dispatcher's attempt
  // records: the delivery is done, only bookkeeping follows): the sink may hold them up to
  // `linger` after this call so that later submissions share their commit. A submission without
  // a linger, a full group or stop() ends the wait early; a linger of 0 is submit(). `done` and
  // durability as above. The default commits them as submit() does.
  virtual void submit(std::vector<record> records, callback done,
                      std::chrono::microseconds linger) {
    (void)linger;
    submit(std::move(records), std::move(done));
  }
  virtual writer_stats stats() const = 0;

  // The same, as a future (never wait on it from a sink callback).
  std::future<outcomes> submit(std::vector<record> records);
  // Blocking convenience for one record.
  result<append_outcome> append(record r);
};

}  // namespace hooklog
