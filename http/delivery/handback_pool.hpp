#pragma once
// Objects made by one thread (the taker) and handed back from any thread once done with, to be
// taken again: the dispatcher's attempt contexts (dispatcher.cpp). An attempt's completion
// carries a pointer to its context instead of the context itself, so the callable is two
// pointers, which std::function keeps inside itself: no block is allocated on the dispatcher
// thread and freed on the I/O thread per attempt (each such free took the other thread's malloc
// arena lock, and left the dispatcher's tcache empty), and the context's strings keep their
// buffers from one attempt to the next.
//
// take(): the taker only. An object given back earlier, as its last user left it (the taker
// assigns every field it reads), else a new one. The pool owns every object it made: they live
// until the pool is destroyed (so one whose completion never ran is not leaked), and it makes no
// more than were out at once (made()).
// give(p): any thread; `p` from this pool's take(), not given back since. The taker's and the
// givers' lists swap buffers, so each grows on its own: at most two allocations per new high of
// the number out at once.
// made(): the taker only (tests).
// Lifetimes: the pool must outlive every thread that can call give(). The taker may change only
// across a happens-before point (a join, a thread start).
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace hooklog::http {

template <class T>
class handback_pool {
 public:
  T* take() {
    if (own_.empty()) {
      std::lock_guard lk(mu_);
      own_.swap(back_);  // back_ keeps own_'s (empty) capacity
    }
    if (own_.empty()) {
      made_.push_back(std::make_unique<T>());
      return made_.back().get();
    }
    T* p = own_.back();
    own_.pop_back();
    return p;
  }

  void give(T* p) {
    std::lock_guard lk(mu_);
    back_.push_back(p);
  }

  std::size_t made() const { return made_.size(); }

 private:
  std::vector<std::unique_ptr<T>> made_;  // the taker's (no lock)
  std::vector<T*> own_;                   // the taker's (no lock)
  std::mutex mu_;
  std::vector<T*> back_;  // given back, swapped into own_ when it runs out
};

}  // namespace hooklog::http
