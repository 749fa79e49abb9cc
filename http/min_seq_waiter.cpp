#include "http/min_seq_waiter.hpp"

#include <algorithm>

#include "engine/event_log.hpp"
#include "engine/thread_name.hpp"

namespace hooklog::http {

namespace {
// How long one wait on the log lasts at most: a waiter added meanwhile for a lower seq, or with
// an earlier deadline, is looked at within this.
constexpr std::chrono::milliseconds kSlice{20};
}  // namespace

min_seq_waiter::min_seq_waiter(const event_log& log, std::size_t max_waiters)
    : log_(log), max_waiters_(max_waiters), thread_([this] { run(); }) {}

min_seq_waiter::~min_seq_waiter() { stop(); }

void min_seq_waiter::wait(std::uint64_t seq, clock::time_point deadline, done_fn done) {
  {
    std::lock_guard g(mu_);
    if (!stopping_ && waiters_.size() < max_waiters_) {
      waiters_.push_back({seq, deadline, std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(log_.applied_seq());
}

void min_seq_waiter::stop() {
  {
    std::lock_guard g(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

std::size_t min_seq_waiter::waiting() const {
  std::lock_guard g(mu_);
  return waiters_.size();
}

void min_seq_waiter::run() {
  set_thread_name("min-seq-wait");
  std::vector<waiter> ready;
  for (;;) {
    std::uint64_t lowest = UINT64_MAX;
    clock::time_point first_deadline = clock::time_point::max();
    bool stopping;
    {
      std::unique_lock g(mu_);
      cv_.wait(g, [&] { return stopping_ || !waiters_.empty(); });
      stopping = stopping_;
      for (const auto& w : waiters_) {
        lowest = std::min(lowest, w.seq);
        first_deadline = std::min(first_deadline, w.deadline);
      }
    }
    if (!stopping) {
      const auto now = clock::now();
      const auto until = std::min(first_deadline, now + kSlice);
      if (until > now)
        log_.wait_applied(lowest,
                          std::chrono::duration_cast<std::chrono::milliseconds>(until - now) +
                              std::chrono::milliseconds(1));
    }
    const std::uint64_t applied = log_.applied_seq();
    const auto now = clock::now();
    {
      std::lock_guard g(mu_);
      auto keep = std::stable_partition(waiters_.begin(), waiters_.end(), [&](const waiter& w) {
        return !stopping_ && w.seq > applied && w.deadline > now;
      });
      std::move(keep, waiters_.end(), std::back_inserter(ready));
      waiters_.erase(keep, waiters_.end());
      stopping = stopping_ && waiters_.empty();
    }
    for (auto& w : ready) w.done(applied);
    ready.clear();
    if (stopping) return;
  }
}

}  // namespace hooklog::http
