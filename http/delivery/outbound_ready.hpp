#pragma once
// One epoll set per outbound client holding its plain connections' sockets (outbound.cpp,
// outbound_read.hpp): readiness of an answer, or of a peer's close, without a kernel entry per
// request.
//
// Why: Boost 1.81's reactor registers a socket edge-triggered and drops an edge that finds no
// operation queued, and every way to queue one costs a system call per request: an
// async_wait(wait_read) started on an empty queue re-registers the socket (EPOLL_CTL_MOD), a
// read starts with a recv that finds nothing (EAGAIN) until a read returned 0 bytes
// (boost/asio/detail/impl/epoll_reactor.ipp, start_op). This set registers each socket once
// (add(): EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP, edge-triggered), and is itself waited on through
// one Asio wait of its descriptor at a time: each pass drains it (epoll_wait, timeout 0) and then
// waits again (the re-registration re-checks readiness, so an edge that came after the drain ends
// the next wait). So a pass costs an epoll_wait and an epoll_ctl whatever the number of answers
// it brings.
//
// Targets: each registered socket has a target whose on_ready(events) is called, on the thread
// running the pass (one of the io_context's threads; the set takes no lock while calling), once
// per edge the drain finds: new bytes, the peer's close or half-close, an error. `events` is the
// socket's state when the drain took the edge (EPOLLIN, EPOLLRDHUP, EPOLLHUP, EPOLLERR): a close
// that came together with bytes brings no edge of its own, so its bit here is the only word of
// it (a close that comes after the drain brings its own edge). A target that needs
// another executor (a strand) posts itself there. Edges are never lost while a socket is
// registered (the registration stays; nothing is re-armed per edge), but several edges may come
// as one call, and a call may come for bytes a read already took: on_ready() means "look".
// remove(key) before the socket closes (the close drops the kernel's registration; the slot and
// its generation make an edge already taken for a removed key, or for a later socket given the
// same descriptor number, go nowhere). A target that expired (weak_ptr) is skipped.
//
// Lifetime: start() waits for the first time (call once, before or after the threads run); the
// pending wait ends with the io_context (stop it before destroying the set's owner). valid() is
// false when the kernel refused the set (then add() refuses and callers read another way).
// Thread safety: add() / remove() from any thread (they lock); passes() counts the passes (for
// tests).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace hooklog::http {

class readiness_set {
 public:
  struct target {
    virtual void on_ready(std::uint32_t events) = 0;

   protected:
    ~target() = default;
  };

  explicit readiness_set(boost::asio::io_context& ioc);
  readiness_set(const readiness_set&) = delete;
  readiness_set& operator=(const readiness_set&) = delete;

  bool valid() const { return desc_.has_value(); }
  void start();
  bool add(int fd, std::weak_ptr<target> t, std::uint64_t& key);
  void remove(std::uint64_t key);
  std::uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }

 private:
  void wait();
  void on_pass();
  std::shared_ptr<target> find(std::uint64_t key);

  struct slot {
    std::weak_ptr<target> t;
    std::uint32_t gen = 0;
  };
  std::optional<boost::asio::posix::stream_descriptor> desc_;  // owns the epoll descriptor
  std::mutex mu_;
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;
  std::atomic<std::uint64_t> passes_{0};
};

}  // namespace hooklog::http
