#include "http/delivery/wake_signal.hpp"

namespace hooklog::http {

void wake_signal::notify() {
  {
    std::lock_guard lk(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

bool wake_signal::take() {
  std::lock_guard lk(mu_);
  const bool was = pending_;
  pending_ = false;
  return was;
}

void wake_signal::wait_for(std::chrono::microseconds limit) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, limit, [&] { return pending_; });
}

}  // namespace hooklog::http
