#pragma once
// The dispatcher thread's wake-up: one waiter, any number of notifiers.
//
// notify(): marks the signal pending; a wait_for() running now returns, and so does the next
// one. take(): true when the signal was pending since the last take(), and clears it (the
// waiter calls it at the top of its loop, before looking at what changed, so a notify() that
// comes while it looks is not lost: the following wait_for() returns at once).
// wait_for(limit): returns when the signal is pending (it stays pending: take() clears it) or
// `limit` passed; it may also return early (the caller looks again and waits again).
// Only one thread may call take() and wait_for(); notify() from any thread, at any time.
// Cost (Linux futex on one 32-bit word: a pending bit and the waiter's sleeping bit): notify()
// is one atomic read-modify-write, plus one futex wake only when the waiter sleeps; take() one
// atomic; wait_for() one futex wait when nothing is pending. No lock is taken anywhere, so a
// notifier never blocks on the waiter nor the waiter on a notifier (a mutex and condition
// variable cost the dispatcher's I/O thread a futex wait and the woken loop a futex wake on
// unlock whenever a poke met the loop holding the lock).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace hooklog::http {

class wake_signal {
 public:
  void notify();
  bool take();
  void wait_for(std::chrono::microseconds limit);

 private:
  static constexpr std::uint32_t kPending = 1, kSleeping = 2;
  std::atomic<std::uint32_t> state_{0};
};

}  // namespace hooklog::http
