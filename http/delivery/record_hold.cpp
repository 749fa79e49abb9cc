#include "http/delivery/record_hold.hpp"

#include <algorithm>

namespace hooklog::http {

record_hold::record_hold(std::chrono::milliseconds first, std::chrono::milliseconds longest)
    : first_us_(std::chrono::duration_cast<std::chrono::microseconds>(first).count()),
      longest_us_(std::chrono::duration_cast<std::chrono::microseconds>(longest).count()) {}

void record_hold::failed(std::int64_t now_us, std::uint64_t gen) {
  if (holding_ && gen != gen_) return;  // not started in this recovery: in flight before
  const bool recent = delay_ > 0 && now_us - until_ < longest_us_;
  delay_ = recent ? std::min(longest_us_, delay_ * 2) : first_us_;
  until_ = now_us + delay_;
  holding_ = true;
  ++gen_;
  window_ = 1;
  out_ = 0;
}

void record_hold::succeeded(std::uint64_t gen) {
  if (!holding_ || gen != gen_) return;
  if (out_ > 0) --out_;
  if (++window_ >= kFullWindow) holding_ = false;
}

std::size_t record_hold::allowance(std::int64_t now_us) const {
  if (!holding_) return kUnlimited;
  if (now_us < until_) return 0;
  return window_ > out_ ? window_ - out_ : 0;
}

std::uint64_t record_hold::started(std::size_t n, std::int64_t now_us) {
  if (!holding_ || now_us < until_) return 0;
  out_ += n;
  return gen_;
}

}  // namespace hooklog::http
