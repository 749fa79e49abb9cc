#pragma once
// Internal to the HTTP server (http/server.cpp and http/server_session.hpp): the state shared by
// the server, its listener and its sessions, and the slot a responder answers through.
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <unordered_map>
#include <variant>
#include <vector>

#include "http/json_error.hpp"

namespace hooklog::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace detail {

using answer = std::variant<http_response, stream_response>;

// What a responder needs from a session; all calls may come from any thread.
struct session_base {
  virtual ~session_base() = default;
  // Posts the answer to the session's strand; `release` is dropped there after the answer.
  virtual void deliver(answer&& a, std::shared_ptr<void>&& release) = 0;
  virtual void close_if_idle() = 0;    // posts: closes if waiting for a request or lingering
  virtual void force_close() = 0;      // posts: closes whatever the state
  virtual void release() = 0;          // only while no I/O thread runs: drops the self-reference
  // On an I/O thread (answer_relay::drain): runs the answer in the session's strand, at once when
  // the strand is idle.
  virtual void answer_relayed(answer&& a, std::shared_ptr<void>&& release) = 0;
};

// Hands answers from threads that run no io_context (the log writer answering a commit group,
// its completion thread) to the I/O threads a burst at a time. Each post to the io_context may
// wake a sleeping I/O thread (a futex call and two context switches, and on busy cores often the
// waker's preemption); a group's 30 answers posted one by one paid that up to once per answer.
// Here only the first answer of a burst posts a drain, and the burst's end may post a second
// one (second_drain(), so that both I/O threads write the burst's answers); answers relayed
// while a drain is queued or running join it. Drains take the answers in the order relayed.
// Thread safety: all calls from any thread; drain() on an I/O thread.
class answer_relay {
 public:
  struct item {
    std::shared_ptr<session_base> session;
    answer a;
    std::shared_ptr<void> release;
  };
  // Queues `it`. True when the caller must post a drain: none is queued or running.
  bool push(item&& it) {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(it));
    if (drains_ != 0) return false;
    drains_ = 1;
    return true;
  }
  // True when the caller must post a second drain: one is queued or running and at least two
  // answers wait.
  bool second_drain() {
    std::lock_guard lk(mu_);
    if (drains_ != 1 || queue_.size() < 2) return false;
    drains_ = 2;
    return true;
  }
  // Runs queued answers, one at a time, until none is left (with a second drain, the two share
  // them); the next push() then posts again. Returns how many it ran.
  std::size_t drain() {
    std::size_t ran = 0;
    for (;;) {
      item it;
      {
        std::lock_guard lk(mu_);
        if (queue_.empty()) {
          --drains_;
          return ran;
        }
        it = std::move(queue_.front());
        queue_.pop_front();
      }
      it.session->answer_relayed(std::move(it.a), std::move(it.release));
      ++ran;
    }
  }
  // Drops what is queued; the drains posted are forgotten (the I/O threads are gone; a queued
  // item holds its session).
  void clear() {
    std::deque<item> q;
    std::lock_guard lk(mu_);
    q.swap(queue_);
    drains_ = 0;
  }

 private:
  std::mutex mu_;
  std::deque<item> queue_;
  int drains_ = 0;  // drains posted and not yet finished
};

// Closed once the I/O threads are gone, so late responders never touch a dead io_context.
struct gate {
  std::mutex mu;
  bool open = true;
};

struct response_slot {
  std::atomic<bool> done{false};
  std::weak_ptr<session_base> session;
  std::shared_ptr<gate> g;

  void answer_once(answer&& a, std::shared_ptr<void>&& release = {}) {
    if (done.exchange(true)) return;
    std::lock_guard lk(g->mu);
    if (!g->open) return;
    if (auto s = session.lock()) s->deliver(std::move(a), std::move(release));
  }
  ~response_slot() {
    if (!done.load())
      answer_once(json_error(500, "internal", "the request handler did not answer"));
  }
};

// State shared by the server, its listener and its sessions.
struct core {
  server_options opts;
  handler h;
  std::shared_ptr<gate> g = std::make_shared<gate>();
  std::unique_ptr<ssl::context> tls;
  std::optional<net::thread_pool::executor_type> workers;
  std::atomic<bool> stopping{false};
  answer_relay relay;  // answers from non-I/O threads (session::deliver)

  std::mutex mu;  // guards sessions, per_client, next_id; cv signals count changes
  std::condition_variable cv;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions;
  std::unordered_map<std::string, std::size_t> per_client;  // open sessions by client IP
  std::uint64_t next_id = 0;
  std::atomic<std::size_t> count{0};

  // Called with mu held when a session of `client` ends.
  void forget_client(const std::string& client) {
    auto it = per_client.find(client);
    if (it != per_client.end() && --it->second == 0) per_client.erase(it);
  }

  std::vector<std::shared_ptr<session_base>> snapshot() {
    std::vector<std::shared_ptr<session_base>> out;
    std::lock_guard lk(mu);
    for (auto& [id, w] : sessions)
      if (auto s = w.lock()) out.push_back(std::move(s));
    return out;
  }
};

}  // namespace detail

}  // namespace hooklog::http
