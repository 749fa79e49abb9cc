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
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace hooklog::http {

class wake_signal {
 public:
  void notify();
  bool take();
  void wait_for(std::chrono::microseconds limit);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
};

}  // namespace hooklog::http
