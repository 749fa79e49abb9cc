#include "http/delivery/outbound_ready.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <boost/system/error_code.hpp>
#include <cerrno>

namespace hooklog::http {

namespace {
constexpr int kDrainBatch = 64;
}

readiness_set::readiness_set(boost::asio::io_context& ioc) {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return;
  boost::system::error_code ec;
  desc_.emplace(ioc);
  desc_->assign(fd, ec);
  if (ec) {
    ::close(fd);
    desc_.reset();
  }
}

void readiness_set::start() {
  if (valid()) wait();
}

void readiness_set::wait() {
  desc_->async_wait(boost::asio::posix::descriptor_base::wait_read,
                    [this](const boost::system::error_code& ec) {
                      if (!ec) on_pass();
                    });
}

// Drains the set, then waits again: the wait's registration re-checks the set, so an edge that
// came after the drain ends the next wait at once.
void readiness_set::on_pass() {
  passes_.fetch_add(1, std::memory_order_relaxed);
  std::array<epoll_event, kDrainBatch> events;
  for (;;) {
    int n = ::epoll_wait(desc_->native_handle(), events.data(), kDrainBatch, 0);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i)
      if (auto t = find(events[static_cast<std::size_t>(i)].data.u64))
        t->on_ready(events[static_cast<std::size_t>(i)].events);
    if (n < kDrainBatch) break;
  }
  wait();
}

std::shared_ptr<readiness_set::target> readiness_set::find(std::uint64_t key) {
  const auto index = static_cast<std::uint32_t>(key);
  const auto gen = static_cast<std::uint32_t>(key >> 32);
  std::lock_guard lk(mu_);
  if (index >= slots_.size() || slots_[index].gen != gen) return nullptr;
  return slots_[index].t.lock();
}

bool readiness_set::add(int fd, std::weak_ptr<target> t, std::uint64_t& key) {
  if (!valid()) return false;
  std::lock_guard lk(mu_);
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  auto& s = slots_[index];
  key = (static_cast<std::uint64_t>(s.gen) << 32) | index;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = key;
  if (::epoll_ctl(desc_->native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    free_.push_back(index);
    return false;
  }
  s.t = std::move(t);
  return true;
}

void readiness_set::remove(std::uint64_t key) {
  const auto index = static_cast<std::uint32_t>(key);
  const auto gen = static_cast<std::uint32_t>(key >> 32);
  std::lock_guard lk(mu_);
  if (index >= slots_.size() || slots_[index].gen != gen) return;
  slots_[index].t.reset();
  ++slots_[index].gen;
  free_.push_back(index);
}

}  // namespace hooklog::http
