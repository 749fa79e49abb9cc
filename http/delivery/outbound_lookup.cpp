#include "http/delivery/outbound_lookup.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace hooklog::http {

using tcp = boost::asio::ip::tcp;

std::vector<tcp::endpoint> system_lookup(const std::string& host, unsigned short port, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  std::vector<tcp::endpoint> out;
  if (rc != 0) {
    error = ::gai_strerror(rc);
    return out;
  }
  for (auto* a = res; a; a = a->ai_next) {
    tcp::endpoint e;
    if (a->ai_addrlen > e.capacity()) continue;
    std::memcpy(e.data(), a->ai_addr, a->ai_addrlen);
    e.resize(a->ai_addrlen);
    out.push_back(e);
  }
  ::freeaddrinfo(res);
  if (out.empty()) error = "no addresses";
  return out;
}

struct lookup_pool::state {
  struct task {
    std::uint64_t ticket = 0;
    std::string group, host;
    unsigned short port = 0;
    callback done;
  };
  std::mutex mu;
  std::condition_variable cv, idle_cv;
  std::deque<task> queue;
  std::unordered_map<std::uint64_t, task> running;  // by ticket (done moved here)
  std::unordered_map<std::string, unsigned> in_flight;  // by group
  unsigned threads = 0, started = 0, per_group = 1, calling = 0;
  std::uint64_t next_ticket = 1;
  bool stopped = false;
  lookup_function lookup;

  // The first queued task whose group is below its share; queue.end() when none.
  std::deque<task>::iterator next_runnable() {
    for (auto it = queue.begin(); it != queue.end(); ++it)
      if (in_flight[it->group] < per_group) return it;
    return queue.end();
  }

  static void run(std::shared_ptr<state> s) {
    std::unique_lock lk(s->mu);
    for (;;) {
      std::deque<task>::iterator it;
      s->cv.wait(lk, [&] { return s->stopped || (it = s->next_runnable()) != s->queue.end(); });
      if (s->stopped) return;
      task t = std::move(*it);
      s->queue.erase(it);
      ++s->in_flight[t.group];
      const std::uint64_t ticket = t.ticket;
      const std::string host = t.host, group = t.group;
      const unsigned short port = t.port;
      s->running.emplace(ticket, std::move(t));
      lk.unlock();
      std::string error;
      auto addresses = s->lookup(host, port, error);
      lk.lock();
      if (auto g = s->in_flight.find(group); g != s->in_flight.end() && --g->second == 0)
        s->in_flight.erase(g);
      auto r = s->running.find(ticket);
      callback done;
      if (r != s->running.end()) {
        done = std::move(r->second.done);
        s->running.erase(r);
      }
      s->cv.notify_all();  // a group below its share again
      if (s->stopped || !done) continue;
      ++s->calling;  // stop() waits for it: `done` posts to an io_context
      lk.unlock();
      done(std::move(addresses), std::move(error));
      done = nullptr;
      lk.lock();
      if (--s->calling == 0) s->idle_cv.notify_all();
    }
  }
};

lookup_pool::lookup_pool(unsigned threads, unsigned per_group, lookup_function lookup)
    : s_(std::make_shared<state>()) {
  s_->threads = threads == 0 ? 1 : threads;
  s_->per_group = per_group == 0 ? 1 : per_group;
  s_->lookup = lookup ? std::move(lookup) : lookup_function(system_lookup);
}

lookup_pool::~lookup_pool() { stop(); }

std::uint64_t lookup_pool::resolve(const std::string& group, const std::string& host,
                                   unsigned short port, callback done) {
  std::lock_guard lk(s_->mu);
  if (s_->stopped) return 0;
  const std::uint64_t ticket = s_->next_ticket++;
  s_->queue.push_back({ticket, group, host, port, std::move(done)});
  // A thread per lookup waiting, up to `threads` (a client that resolves nothing starts none).
  if (s_->started < s_->threads && s_->started < s_->queue.size() + s_->running.size()) {
    ++s_->started;
    std::thread(&state::run, s_).detach();
  }
  s_->cv.notify_one();
  return ticket;
}

void lookup_pool::cancel(std::uint64_t ticket) {
  callback dropped;
  std::lock_guard lk(s_->mu);
  for (auto it = s_->queue.begin(); it != s_->queue.end(); ++it)
    if (it->ticket == ticket) {
      dropped = std::move(it->done);
      s_->queue.erase(it);
      return;
    }
  if (auto r = s_->running.find(ticket); r != s_->running.end()) dropped = std::move(r->second.done);
}

void lookup_pool::stop() {
  std::vector<callback> dropped;  // destroyed here, while their io_context lives
  {
    std::unique_lock lk(s_->mu);
    s_->stopped = true;
    for (auto& t : s_->queue) dropped.push_back(std::move(t.done));
    s_->queue.clear();
    for (auto& [ticket, t] : s_->running) dropped.push_back(std::move(t.done));
    s_->cv.notify_all();
    s_->idle_cv.wait(lk, [&] { return s_->calling == 0; });
  }
}

}  // namespace hooklog::http
