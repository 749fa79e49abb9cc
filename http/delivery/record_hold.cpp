#include "http/delivery/record_hold.hpp"

#include <algorithm>

namespace hooklog::http {

record_hold::record_hold(std::chrono::milliseconds first, std::chrono::milliseconds longest)
    : first_us_(std::chrono::duration_cast<std::chrono::microseconds>(first).count()),
      longest_us_(std::chrono::duration_cast<std::chrono::microseconds>(longest).count()) {}

void record_hold::failed(std::int64_t now_us) {
  if (delay_ > 0 && now_us < until_ && !probe_out_) return;  // in flight before the hold began
  delay_ = delay_ == 0 ? first_us_ : std::min(longest_us_, delay_ * 2);
  until_ = now_us + delay_;
  probe_out_ = false;
}

void record_hold::succeeded() {
  delay_ = 0;
  until_ = 0;
  probe_out_ = false;
}

std::size_t record_hold::allowance(std::int64_t now_us) const {
  if (delay_ == 0) return kUnlimited;
  if (now_us < until_ || probe_out_) return 0;
  return 1;
}

void record_hold::started(std::size_t n) {
  if (delay_ > 0 && n > 0) probe_out_ = true;
}

}  // namespace hooklog::http
