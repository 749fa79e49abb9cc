#include "http/delivery/host_lookup.hpp"
#include "engine/thread_name.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

namespace hooklog::http {

host_addresses system_lookup(const std::string& host) {
  host_addresses a;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    a.error =
        rc == EAI_SYSTEM ? std::string(std::strerror(errno)) : std::string(::gai_strerror(rc));
    return a;
  }
  char text[INET6_ADDRSTRLEN];
  for (const addrinfo* p = list; p != nullptr; p = p->ai_next) {
    const void* bytes = nullptr;
    if (p->ai_family == AF_INET)
      bytes = &reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_addr;
    else if (p->ai_family == AF_INET6)
      bytes = &reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_addr;
    if (bytes == nullptr || ::inet_ntop(p->ai_family, bytes, text, sizeof text) == nullptr)
      continue;
    if (std::find(a.addresses.begin(), a.addresses.end(), text) == a.addresses.end())
      a.addresses.emplace_back(text);
  }
  ::freeaddrinfo(list);
  if (a.addresses.empty()) a.error = "no addresses";
  return a;
}

struct host_lookup::shared {
  lookup_fn fn;
  std::size_t max_threads;

  std::mutex mu;
  std::condition_variable work;      // a name queued, or stop
  std::condition_variable answered;  // `answering` fell to 0 (stop waits for it)
  bool stopped = false;
  std::deque<std::string> queue;  // names to look up, in the order first asked
  std::unordered_map<std::string, std::vector<callback>> waiters;  // per name queued or in flight
  std::size_t threads = 0, idle = 0, answering = 0;

  // One thread: takes names until stopped. `self` keeps the state while the thread lives.
  static void run(std::shared_ptr<shared> self) {
    set_thread_name("dns-lookup");
    std::unique_lock lk(self->mu);
    for (;;) {
      while (!self->stopped && self->queue.empty()) {
        ++self->idle;
        self->work.wait(lk);
        --self->idle;
      }
      if (self->stopped) break;
      std::string host = std::move(self->queue.front());
      self->queue.pop_front();
      lk.unlock();
      host_addresses a;
      try {
        a = self->fn(host);
        if (a.addresses.empty() && a.error.empty()) a.error = "no addresses";
      } catch (const std::exception& e) {
        a = {{}, e.what()};
      }
      lk.lock();
      if (self->stopped) break;
      auto node = self->waiters.extract(host);
      ++self->answering;
      lk.unlock();
      if (node)
        for (auto& done : node.mapped()) done(a);
      node = {};  // the callbacks' captures go before stop() may return
      lk.lock();
      if (--self->answering == 0 && self->stopped) self->answered.notify_all();
    }
    --self->threads;
  }
};

host_lookup::host_lookup(std::size_t threads, lookup_fn fn) : s_(std::make_shared<shared>()) {
  s_->fn = fn ? std::move(fn) : lookup_fn(system_lookup);
  s_->max_threads = std::max<std::size_t>(threads, 1);
}

host_lookup::~host_lookup() {
  stop();
}

void host_lookup::lookup(const std::string& host, callback done) {
  std::unique_lock lk(s_->mu);
  if (s_->stopped) return;
  auto [it, first] = s_->waiters.try_emplace(host);
  it->second.push_back(std::move(done));
  if (!first) return;  // its lookup is queued or running: answered with it
  s_->queue.push_back(host);
  if (s_->idle > 0 || s_->threads >= s_->max_threads) {
    s_->work.notify_one();
    return;
  }
  ++s_->threads;
  try {
    std::thread(shared::run, s_).detach();
  } catch (const std::system_error&) {
    --s_->threads;  // no thread now: a running one takes the name when it is free
    if (s_->threads == 0) {
      // None at all: answer here rather than never.
      auto node = s_->waiters.extract(host);
      s_->queue.pop_back();
      lk.unlock();
      const host_addresses a{{}, "cannot start a lookup thread"};
      for (auto& d : node.mapped()) d(a);
    }
  }
}

void host_lookup::stop() {
  std::unordered_map<std::string, std::vector<callback>> dropped;
  {
    std::unique_lock lk(s_->mu);
    if (s_->stopped) return;
    s_->stopped = true;
    s_->queue.clear();
    dropped.swap(s_->waiters);
    s_->work.notify_all();
    s_->answered.wait(lk, [&] { return s_->answering == 0; });
  }
  // `dropped` (callbacks never to be called) is destroyed here, without the lock.
}

}  // namespace hooklog::http
