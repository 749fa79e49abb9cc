#pragma once
// A thread's batch of hand-offs. A thread that runs a row of callbacks (the log writer answering
// a commit group, its completion thread) opens one around them; a callback whose result another
// thread must pick up (an answer for the HTTP server's I/O threads) may defer the wake-up to the
// batch's end, so that thread is woken once per row, not once per callback (each wake-up is a
// futex call and two context switches, and on busy cores often the waker's preemption).
// Nested batches on one thread defer to the outermost. A deferred function runs on the opening
// thread when the batch closes, in the order deferred; it must not throw.
// Thread safety: per thread; the functions run on the thread that deferred them.
#include <functional>
#include <utility>
#include <vector>

namespace hooklog {

class handoff_batch {
 public:
  handoff_batch() {
    if (current() == nullptr) current() = this;
  }
  ~handoff_batch() { close(); }
  handoff_batch(const handoff_batch&) = delete;
  handoff_batch& operator=(const handoff_batch&) = delete;

  // Takes `f` to run when this thread's open batch closes; false (f left to the caller, who
  // runs it at once) when no batch is open.
  static bool defer(std::function<void()>&& f) {
    handoff_batch* b = current();
    if (b == nullptr) return false;
    b->deferred_.push_back(std::move(f));
    return true;
  }

  // Runs what was deferred (also what the deferred functions defer: they run with no batch
  // open, so at once); a nested batch's close does nothing.
  void close() {
    if (current() != this) return;
    current() = nullptr;
    for (auto& f : deferred_) f();
    deferred_.clear();
  }

 private:
  static handoff_batch*& current() {
    thread_local handoff_batch* open = nullptr;
    return open;
  }
  std::vector<std::function<void()>> deferred_;
};

}  // namespace hooklog
