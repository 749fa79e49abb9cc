#pragma once
// The dispatcher's brake for attempt records that cannot be written (the log's storage is full,
// the writer is stopped): without it, an attempt whose record failed is due again at once and
// is sent again and again, as fast as the receiver answers, while the log refuses every record.
//
// failed(now): a record failed. Unless a hold is running, a hold starts: `first` (1 s), then
// doubling per hold up to `longest` (60 s) until the holds are over. Failures during a hold (of
// attempts that were in flight when it began) do not lengthen it.
// After a hold, attempts start again in steps: one (the probe), then 2, 4, ... kLastStep. A
// step opens when every record the one before allowed was written; a failure in a step starts
// the next, longer hold. The holds are over (no limit; the next hold is `first` again) once a
// whole step of kLastStep records was written.
// Why steps, not a written probe alone: a log at the end of its map takes a small commit and
// refuses a larger one (LMDB reuses the pages earlier commits freed), so one written record does
// not show room for a burst. With the probe alone ending the holds, each probe was followed by a
// burst of attempts whose records failed, then a hold of 1 s again, about once a second.
// succeeded(): a record was written; counted toward the running step. Records written during a
// hold (of attempts in flight when it began) do not end it.
// allowance(now): how many attempts the dispatcher may start now: unlimited when the holds are
// over; none while a hold runs (until() says till when); the rest of the running step after it.
// started(n, now) says n attempts started; during a hold (allowed before it began, the
// dispatcher picks under a lock the writer's failure can take between) they are in flight
// before it, and do not count toward a step.
// Every started attempt must settle (succeeded() or failed()), else its step never completes
// (the dispatcher settles each, except at shutdown).
//
// Thread safety: none; the dispatcher calls it under its own lock.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hooklog::http {

class record_hold {
 public:
  static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);
  static constexpr std::size_t kLastStep = 64;

  explicit record_hold(std::chrono::milliseconds first = std::chrono::seconds(1),
                       std::chrono::milliseconds longest = std::chrono::seconds(60));

  void failed(std::int64_t now_us);
  void succeeded();
  std::size_t allowance(std::int64_t now_us) const;
  void started(std::size_t n, std::int64_t now_us);
  std::int64_t until() const { return until_; }  // µs; 0 = no hold
  bool holding() const { return delay_ > 0; }    // a hold runs, or its steps

 private:
  std::int64_t first_us_, longest_us_;
  std::int64_t delay_ = 0;  // µs of the last hold; 0 = the holds are over
  std::int64_t until_ = 0;  // the running (or last) hold's end
  std::size_t step_ = 0;    // attempts the running step allows (1 after a hold: the probe)
  std::size_t step_started_ = 0, step_written_ = 0;
};

}  // namespace hooklog::http
