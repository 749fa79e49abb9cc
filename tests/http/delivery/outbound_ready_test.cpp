// The outbound client's readiness set (http/delivery/outbound_ready.hpp): sockets registered once,
// a call per edge, nothing after remove() or for a slot given to another socket.
#include <catch2/catch.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "http/delivery/outbound_ready.hpp"

using namespace hooklog;

namespace {
struct counter final : http::readiness_set::target {
  int calls = 0;
  std::uint32_t last = 0;
  void on_ready(std::uint32_t events) override {
    ++calls;
    last = events;
  }
};

struct pair_fds {
  int fd[2] = {-1, -1};
  pair_fds() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) == 0); }
  ~pair_fds() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void send(const char* s) { REQUIRE(::write(fd[1], s, std::strlen(s)) == static_cast<ssize_t>(std::strlen(s))); }
};

// Runs the io_context until `done` holds or 2 s passed; then 30 ms more when `settle`.
void run(boost::asio::io_context& ioc, const std::function<bool()>& done, bool settle = false) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!done() && std::chrono::steady_clock::now() < until) ioc.run_one_for(std::chrono::milliseconds(10));
  if (settle) ioc.run_for(std::chrono::milliseconds(30));
}
}  // namespace

TEST_CASE("outbound readiness set: one call per edge, until removed", "[outbound]") {
  boost::asio::io_context ioc;
  http::readiness_set set(ioc);
  REQUIRE(set.valid());
  set.start();
  pair_fds a, b;
  auto ca = std::make_shared<counter>();
  auto cb = std::make_shared<counter>();
  std::uint64_t ka = 0, kb = 0;
  REQUIRE(set.add(a.fd[0], ca, ka));
  REQUIRE(set.add(b.fd[0], cb, kb));
  CHECK(ka != kb);

  a.send("x");
  run(ioc, [&] { return ca->calls >= 1; }, true);
  CHECK(ca->calls == 1);
  CHECK(ca->last == EPOLLIN);
  CHECK(cb->calls == 0);
  // Bytes left unread bring no further call (edge-triggered) ...
  run(ioc, [] { return false; }, false);
  CHECK(ca->calls == 1);
  // ... new bytes do, read or not.
  a.send("y");
  run(ioc, [&] { return ca->calls >= 2; }, true);
  CHECK(ca->calls == 2);
  const auto passes = set.passes();
  CHECK(passes >= 2);

  // Two sockets ready together: one pass calls both.
  a.send("z");
  b.send("z");
  run(ioc, [&] { return ca->calls >= 3 && cb->calls >= 1; }, true);
  CHECK(ca->calls == 3);
  CHECK(cb->calls == 1);

  // The peer's close is an edge too.
  ::close(b.fd[1]);
  b.fd[1] = -1;
  run(ioc, [&] { return cb->calls >= 2; }, true);
  CHECK(cb->calls == 2);
  CHECK((cb->last & EPOLLRDHUP) != 0);

  // Removed: no more calls; its slot goes to the next socket with another key, and removing the
  // old key again leaves the new registration alone.
  set.remove(ka);
  a.send("w");
  run(ioc, [] { return false; }, true);
  CHECK(ca->calls == 3);
  pair_fds c;
  auto cc = std::make_shared<counter>();
  std::uint64_t kc = 0;
  REQUIRE(set.add(c.fd[0], cc, kc));
  CHECK(static_cast<std::uint32_t>(kc) == static_cast<std::uint32_t>(ka));  // the same slot
  CHECK(kc != ka);                                                          // another generation
  set.remove(ka);
  c.send("v");
  run(ioc, [&] { return cc->calls >= 1; }, true);
  CHECK(cc->calls == 1);
  CHECK(ca->calls == 3);

  // A target that expired is skipped.
  cc.reset();
  c.send("u");
  const auto before = set.passes();
  run(ioc, [&] { return set.passes() > before; }, true);
  CHECK(set.passes() > before);

  // A descriptor the kernel refuses (not open): add() answers false.
  std::uint64_t kd = 0;
  auto cd = std::make_shared<counter>();
  CHECK_FALSE(set.add(-1, cd, kd));
}
