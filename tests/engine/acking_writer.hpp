#pragma once
// A forked child that appends through the group-commit writer until it is killed, and reports
// every acknowledged record over a pipe: the crash tests kill it with SIGKILL at a moment of
// their choosing and then check that every acknowledged record is in the reopened log.
//
// The child runs kProducers threads; producer t submits records t, t + kProducers, ... (one
// per batch), made by `make(i)`, and writes the pair (i, seq) of each acknowledged record as
// two native-endian uint64 to the pipe. It exits 3 if the log does not open, 4 if an append
// is refused. The parent reads the pipe with drain(); it owns the child (kill, waitpid) and
// closes `fd` when done.
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"

namespace hooklog::test {

class acking_writer {
 public:
  static constexpr int kProducers = 4;

  // Forks the child; throws if fork or pipe fail.
  acking_writer(const log_options& o, const std::function<record(int)>& make) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(fds[0]);
      child_main(o, make, fds[1]);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  // Closes the pipe; a child the test did not reap (a failed check) is killed and reaped.
  ~acking_writer() {
    if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  acking_writer(const acking_writer&) = delete;
  acking_writer& operator=(const acking_writer&) = delete;

  pid_t pid() const { return pid_; }

  // Reads what the pipe holds, waiting up to timeout_ms for each chunk, calling on_ack(i, seq)
  // for each pair, until nothing more comes in that time or on_ack returns false.
  void drain(int timeout_ms, const std::function<bool(std::uint64_t, std::uint64_t)>& on_ack) {
    char buf[8192];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return;
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return;
      carry_.append(buf, static_cast<std::size_t>(n));
      const std::size_t whole = carry_.size() / 16 * 16;
      bool more = true;
      for (std::size_t at = 0; at < whole; at += 16) {
        std::uint64_t pair[2];
        std::memcpy(pair, carry_.data() + at, 16);
        more = on_ack(pair[0], pair[1]) && more;
      }
      carry_.erase(0, whole);
      if (!more) return;
    }
  }

 private:
  [[noreturn]] static void child_main(const log_options& o, const std::function<record(int)>& make,
                                      int fd) {
    auto log = event_log::open(o);
    if (!log) _exit(3);
    log_writer writer(**log);
    std::vector<std::thread> producers;
    for (int t = 0; t < kProducers; ++t)
      producers.emplace_back([&, t] {
        for (int i = t;; i += kProducers) {
          std::vector<record> b{make(i)};
          writer.submit(std::move(b), [fd, i](log_writer::outcomes&& out) {
            if (!out[0]) _exit(4);
            const std::uint64_t pair[2] = {static_cast<std::uint64_t>(i), out[0]->seq};
            if (::write(fd, pair, sizeof pair) != sizeof pair) _exit(5);
          });
          if (i / kProducers % 64 == 63)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      });
    for (auto& p : producers) p.join();
    _exit(0);
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string carry_;
};

}  // namespace hooklog::test
