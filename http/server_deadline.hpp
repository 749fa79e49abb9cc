#pragma once
// Internal to the HTTP server (http/server_session.hpp): a session's I/O deadline on one timer
// that is not re-armed per operation.
//
// Beast's tcp_stream with an expiry waits on a timer for every read and write and cancels it
// when the operation completes; with two I/O threads on one io_context each cancel posts the
// aborted wait to the shared queue (Asio's post_deferred_completions), which wakes the other
// thread (a futex call or an epoll interrupt when it sleeps) to run a handler that does nothing,
// through the session's strand. Here the deadline is a time point the session moves (a store),
// and the timer waits for the earliest deadline it was armed for: when it fires it closes the
// session if the deadline has passed, or waits again for the later one. The timer is re-armed
// only when a deadline earlier than its expiry is set, or after it fired: a keep-alive
// connection answering a request every few milliseconds arms it about once per timeout.
// The deadline applies while the session has I/O in flight; clear() while it has none (a
// request being handled, a stream's next chunk being produced), as Beast's expiry only bounded
// operations in flight. A deadline that passes runs `on_expiry` (the session closes its socket,
// so the operation in flight completes with an error), at the deadline to the timer's precision.
//
// Thread safety: one per session; every call on the session's strand, where the timer's handler
// also runs (the executor given). Lifetime: the handler holds what on_expiry captures (the
// session), so the session lives until the timer fires or cancel() is called (hard_close).
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace hooklog::http::detail {

class io_deadline {
 public:
  using clock = std::chrono::steady_clock;

  template <class Executor>
  explicit io_deadline(const Executor& ex) : timer_(ex) {}

  // The I/O started from now on must end within `d`; `on_expiry` (copyable, called once with no
  // arguments on the timer's executor) when it does not.
  template <class OnExpiry>
  void expires_after(clock::duration d, OnExpiry on_expiry) {
    const clock::time_point t = clock::now() + d;
    deadline_ = t;
    if (armed_ && *armed_ <= t) return;  // the timer fires first and waits again then
    arm(t, std::move(on_expiry));
  }
  // No I/O in flight: nothing expires until the next expires_after.
  void clear() { deadline_.reset(); }
  // The session is closing: the timer's wait ends now (its handler, and what it holds, is freed).
  void cancel() {
    deadline_.reset();
    armed_.reset();
    ++generation_;
    timer_.cancel();
  }

  std::optional<clock::time_point> deadline() const { return deadline_; }
  // Waits started on the timer (for tests: one per timeout period, not one per operation).
  std::uint64_t arms() const { return arms_; }

 private:
  template <class OnExpiry>
  void arm(clock::time_point t, OnExpiry on_expiry) {
    armed_ = t;
    const std::uint64_t generation = ++generation_;
    ++arms_;
    timer_.expires_at(t);  // cancels a wait in flight: its handler sees another generation
    timer_.async_wait([this, generation, on_expiry = std::move(on_expiry)](
                          const boost::system::error_code& ec) mutable {
      if (ec || generation != generation_) return;  // cancelled, or re-armed since
      armed_.reset();
      if (!deadline_) return;
      if (clock::now() < *deadline_) return arm(*deadline_, std::move(on_expiry));
      deadline_.reset();
      on_expiry();
    });
  }

  boost::asio::steady_timer timer_;
  std::optional<clock::time_point> deadline_;  // the I/O in flight must end by then
  std::optional<clock::time_point> armed_;     // the expiry the timer waits for
  std::uint64_t generation_ = 0;               // of the timer's current wait
  std::uint64_t arms_ = 0;
};

}  // namespace hooklog::http::detail
