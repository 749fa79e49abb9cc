// A child process appends through the group-commit writer and reports every
// acknowledged sequence number over a pipe; it is killed with SIGKILL at a
// random moment. After reopening, every acknowledged record must be there and
// the chain must verify. Several cycles on the same data directory.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "engine/log_test_util.hpp"
#include "engine/log_writer.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::temp_dir;

namespace {

[[noreturn]] void child_main(const std::string& dir, int fd) {
  log_options o;
  o.dir = dir;
  o.sync = true;  // the real durability path
  auto log = event_log::open(o);
  if (!log) _exit(3);
  log_writer writer(**log);
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        std::vector<record> b{make_event("t" + std::to_string(t), "crash.test", "e", i,
                                         std::string(512, 'c'))};
        writer.submit(std::move(b), [fd](log_writer::outcomes&& out) {
          for (auto& r : out) {
            if (!r) _exit(4);
            const std::uint64_t seq = r->seq;
            if (::write(fd, &seq, sizeof seq) != sizeof seq) _exit(5);
          }
        });
        if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  for (auto& p : producers) p.join();
  _exit(0);
}

void drain(int fd, std::vector<std::uint64_t>& acked, bool until_eof) {
  char buf[8192];
  std::string carry;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, until_eof ? 2000 : 0) <= 0) return;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    carry.append(buf, static_cast<std::size_t>(n));
    std::size_t whole = carry.size() / 8 * 8;
    for (std::size_t i = 0; i < whole; i += 8) {
      std::uint64_t s;
      std::memcpy(&s, carry.data() + i, 8);
      acked.push_back(s);
    }
    carry.erase(0, whole);
  }
}

}  // namespace

TEST_CASE("every acknowledged append survives SIGKILL, and the chain verifies", "[crash]") {
  temp_dir dir;
  std::mt19937 rng(20261123);
  std::vector<std::uint64_t> acked;
  std::uint64_t total_checked = 0;
  constexpr int kCycles = 6;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(dir.path(), fds[1]);
    }
    ::close(fds[1]);
    std::vector<std::uint64_t> this_cycle;
    // The kill timer starts at the first acknowledgement (a slow or loaded machine
    // may take a while to open the log), so every cycle kills mid-stream.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (this_cycle.empty() && std::chrono::steady_clock::now() < give_up) {
      drain(fds[0], this_cycle, false);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE_FALSE(this_cycle.empty());
    const auto kill_at = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(rng));
    while (std::chrono::steady_clock::now() < kill_at) {
      drain(fds[0], this_cycle, false);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    drain(fds[0], this_cycle, true);
    ::close(fds[0]);
    acked.insert(acked.end(), this_cycle.begin(), this_cycle.end());

    log_options o;
    o.dir = dir.path();
    auto log = event_log::open(o);
    REQUIRE(log.ok());
    const std::uint64_t head = (*log)->head().seq;
    for (std::uint64_t s : acked) {
      REQUIRE(s <= head);
      auto r = (*log)->get(s);
      REQUIRE(r.ok());
      REQUIRE(r->has_value());
      CHECK((*r)->type == "crash.test");
    }
    auto rep = (*log)->verify();
    REQUIRE(rep.ok());
    CHECK(rep->ok);
    CHECK(rep->checked == head);
    total_checked += rep->checked;
    INFO("cycle " << cycle << ": " << this_cycle.size() << " acknowledged, head " << head);
  }
  CHECK(acked.size() > 0);
  WARN("crash test: " << kCycles << " SIGKILL cycles, " << acked.size()
                      << " acknowledged appends all found, " << total_checked
                      << " record checks in chain verification");
}
