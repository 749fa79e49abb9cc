#include "http/delivery/record_hold.hpp"

#include <algorithm>

namespace hooklog::http {

record_hold::record_hold(std::chrono::milliseconds first, std::chrono::milliseconds longest)
    : first_us_(std::chrono::duration_cast<std::chrono::microseconds>(first).count()),
      longest_us_(std::chrono::duration_cast<std::chrono::microseconds>(longest).count()) {}

void record_hold::failed(std::int64_t now_us) {
  if (delay_ > 0 && now_us < until_) return;  // in flight before the hold began
  delay_ = delay_ == 0 ? first_us_ : std::min(longest_us_, delay_ * 2);
  until_ = now_us + delay_;
  step_ = 1;
  step_started_ = step_written_ = 0;
}

void record_hold::succeeded() {
  if (delay_ == 0 || step_started_ == 0) return;  // no step runs: in flight before the hold
  if (++step_written_ < step_) return;
  if (step_ >= kLastStep) {
    delay_ = until_ = 0;
    step_ = 0;
  } else {
    step_ *= 2;
  }
  step_started_ = step_written_ = 0;
}

std::size_t record_hold::allowance(std::int64_t now_us) const {
  if (delay_ == 0) return kUnlimited;
  if (now_us < until_) return 0;
  return step_ > step_started_ ? step_ - step_started_ : 0;
}

void record_hold::started(std::size_t n, std::int64_t now_us) {
  if (delay_ > 0 && now_us >= until_) step_started_ += n;
}

}  // namespace hooklog::http
