#pragma once
// The dispatcher's brake for attempt records that cannot be written (the log's storage is full,
// the writer is stopped): without it, an attempt whose record failed is due again at once and
// is sent again and again, as fast as the receiver answers, while the log refuses every record.
//
// failed(now): a record failed. When no hold is running (or the failure is the probe's), a hold
// starts: `first` (1 s), doubling per hold up to `longest` (60 s). Failures of attempts that
// were in flight when the hold started do not lengthen it.
// succeeded(): a record was written: the holds are over, the delay starts again at `first`.
// allowance(now): how many attempts the dispatcher may start now: unlimited when no record has
// failed since the last success; none while a hold runs (until() says till when) or while the
// probe is out; one (the probe) once the hold ended. started(n) says n attempts started: the
// first is the probe, whose record decides (succeeded() or failed()).
//
// Thread safety: none; the dispatcher calls it under its own lock.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hooklog::http {

class record_hold {
 public:
  static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);

  explicit record_hold(std::chrono::milliseconds first = std::chrono::seconds(1),
                       std::chrono::milliseconds longest = std::chrono::seconds(60));

  void failed(std::int64_t now_us);
  void succeeded();
  std::size_t allowance(std::int64_t now_us) const;
  void started(std::size_t n);
  std::int64_t until() const { return until_; }  // µs; 0 = no hold
  bool holding() const { return delay_ > 0; }

 private:
  std::int64_t first_us_, longest_us_;
  std::int64_t delay_ = 0;   // µs of the last hold; 0 = records are written
  std::int64_t until_ = 0;   // the running (or last) hold's end
  bool probe_out_ = false;   // the one attempt started after a hold, its record not settled
};

}  // namespace hooklog::http
