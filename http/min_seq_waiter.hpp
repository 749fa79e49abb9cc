#pragma once
// Requests that wait for this node's log to apply a seq (?min_seq=, read-your-writes in cluster
// mode: docs/CLUSTER.md), held off the I/O threads.
//
// A blocking wait held an I/O thread per request for up to its deadline: two requests for a
// seq that never comes froze a server of two I/O threads (every connection on them, /healthz
// included) for 5 s, and a loop of them kept it so. Here one thread holds every waiter and runs
// each one's `done(applied)` once the log's applied seq reaches its seq, or at its deadline
// (then with the seq applied so far: the caller answers 503), or at stop().
//
// At most max_waiters wait at once; past that, wait() calls done(applied) at once on the
// caller's thread (the caller answers 503 with Retry-After, as for a wait that timed out).
//
// Thread safety: wait() from any thread; done runs on the waiter's thread (or the caller's, as
// above), never under the waiter's lock, and must not block for long. Lifetime: the log
// outlives the waiter; stop() (or the destructor) runs the remaining waiters' done, then joins.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hooklog {
class event_log;
}

namespace hooklog::http {

class min_seq_waiter {
 public:
  using clock = std::chrono::steady_clock;
  using done_fn = std::function<void(std::uint64_t applied)>;

  explicit min_seq_waiter(const event_log& log, std::size_t max_waiters = 4096);
  ~min_seq_waiter();
  min_seq_waiter(const min_seq_waiter&) = delete;
  min_seq_waiter& operator=(const min_seq_waiter&) = delete;

  void wait(std::uint64_t seq, clock::time_point deadline, done_fn done);
  void stop();
  std::size_t waiting() const;

 private:
  struct waiter {
    std::uint64_t seq;
    clock::time_point deadline;
    done_fn done;
  };
  void run();

  const event_log& log_;
  const std::size_t max_waiters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // a waiter was added, or stop()
  std::vector<waiter> waiters_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hooklog::http
