#include "http/delivery/wake_signal.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace hooklog::http {

namespace {

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::microseconds limit) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(limit.count() / 1'000'000);
  ts.tv_nsec = static_cast<long>(limit.count() % 1'000'000) * 1000;
  // Returns at once (EAGAIN) when the word is no longer `expected`; else on a wake, the
  // timeout or a signal (EINTR): every one of them just ends this wait.
  (void)syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
                &ts, nullptr, 0);
}

void futex_wake_one(std::atomic<std::uint32_t>& word) {
  (void)syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
                nullptr, 0);
}

}  // namespace

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

void wake_signal::notify() {
  // Always the read-modify-write (not a load first): the take() that clears the bit then
  // synchronises with this notify(), so what the caller wrote before it is seen after the take.
  // Only the notify() that sets the pending bit while the waiter sleeps wakes it: until the
  // woken waiter clears its sleeping bit, later ones find the pending bit set, and need no call.
  if (state_.fetch_or(kPending, std::memory_order_acq_rel) == kSleeping) futex_wake_one(state_);
}

bool wake_signal::take() {
  return (state_.fetch_and(~kPending, std::memory_order_acq_rel) & kPending) != 0;
}

void wake_signal::wait_for(std::chrono::microseconds limit) {
  std::uint32_t expected = 0;  // the waiter's own bit is clear between its waits
  // Pending: no sleep. Otherwise the sleeping bit is set in the same step that saw no pending,
  // so a notify() after it sees the bit and wakes, and one that changes the word before the
  // kernel looks makes the futex wait return at once.
  if (!state_.compare_exchange_strong(expected, kSleeping, std::memory_order_acq_rel)) return;
  if (limit.count() > 0) futex_wait(state_, kSleeping, limit);
  state_.fetch_and(~kSleeping, std::memory_order_acq_rel);
}

}  // namespace hooklog::http
