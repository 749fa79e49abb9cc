#pragma once
// The dispatcher's brake for attempt records that cannot be written (the log's storage is full,
// the writer is stopped): without it, an attempt whose record failed is due again at once and
// is sent again and again, as fast as the receiver answers, while the log refuses every record.
//
// failed(now, gen): a record failed. Unless a hold (or the recovery after it) runs, a hold
// starts: `first` (1 s), or twice the last hold (up to `longest`, 60 s) when the last ended less
// than `longest` ago. During a hold and its recovery only the failure of an attempt started in
// that recovery (`gen`, from started()) counts: it starts the next, longer hold. Failures of
// attempts in flight when the hold began do not lengthen it.
// After a hold, the recovery: attempts start again within a window of one (the probe); each
// written record of an attempt started in the recovery frees its place and widens the window
// by one (so it doubles per round trip, and a slow attempt holds back only its own place); the
// holds are over (no limit) once the window reached kFullWindow, i.e. 63 such records were
// written and none failed. Why a window, not a written probe alone: a log at the end of its map
// takes a small commit and refuses a larger one (LMDB reuses the pages earlier commits freed),
// so one written record does not show room for a burst. With the probe alone ending the holds,
// each probe was followed by a burst of attempts whose records failed, then a hold of 1 s
// again, about once a second.
// succeeded(gen): a record was written; counted only when its attempt was started in the
// running recovery (records of attempts in flight when the hold began do not end it).
// allowance(now): how many attempts the dispatcher may start now: unlimited when no hold runs;
// none during a hold (until() says till when); the window's free places in the recovery. The
// window is one for all endpoints (the first in a round's order may take it).
// started(n, now): n attempts started; returns the number their settles pass back (0 outside a
// recovery, and during a hold: allowed before it began, the dispatcher picks under a lock the
// writer's failure can take between).
// Every attempt started in a recovery must settle (succeeded() or failed()), else its place in
// the window stays taken: the dispatcher settles each, except at shutdown and when complete()
// throws (memory exhausted).
//
// Thread safety: none; the dispatcher calls it under its own lock.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hooklog::http {

class record_hold {
 public:
  static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);
  static constexpr std::size_t kFullWindow = 64;

  explicit record_hold(std::chrono::milliseconds first = std::chrono::seconds(1),
                       std::chrono::milliseconds longest = std::chrono::seconds(60));

  void failed(std::int64_t now_us, std::uint64_t gen);
  void succeeded(std::uint64_t gen);
  std::size_t allowance(std::int64_t now_us) const;
  std::uint64_t started(std::size_t n, std::int64_t now_us);
  std::int64_t until() const { return until_; }  // µs: the last hold's end; 0 = none yet
  bool holding() const { return holding_; }      // a hold runs, or its recovery

 private:
  std::int64_t first_us_, longest_us_;
  bool holding_ = false;
  std::int64_t delay_ = 0;  // µs of the last hold; 0 = none yet
  std::int64_t until_ = 0;
  std::uint64_t gen_ = 0;  // numbers the holds (from 1): their recoveries' attempts carry it
  std::size_t window_ = 0, out_ = 0;  // the recovery's window, and its attempts not settled
};

}  // namespace hooklog::http
