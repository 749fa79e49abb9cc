#pragma once
// The outbound client's connection pools (outbound.cpp): which connection carries a request.
//
// outbound_job: one request from deliver() to its outcome (its checked URL, its callback, and the
// clock of its deadline, which starts when a connection takes it).
//
// ob_pool: the connections of one (origin, pool key). At most `max_connections` are open
// (connecting, busy or idle); requests beyond wait in a FIFO queue, in submit order. pump() gives
// the first queued request to the idle connection parked last (LIFO: the warmest socket), else to
// a new connection (pool_client::open_connection, then pool_connection::start) while fewer than
// `max_connections` are open, else leaves it queued. release(c, reusable) is called when a
// connection finished a request: reusable (and c not dead, the pool not closed) parks it with
// `idle_timeout` and makes it idle; else it is closed (unless dead) and counted out (forget: once,
// its `owner` reset), which frees its slot. retry_first(j, c) puts j first in line for the slot c
// frees (a reused connection that failed before any answer byte). close_all() (stop) fails the
// queued requests with delivery_errc::shutdown, closes every connection (busy ones answer their
// request from their own handlers) and counts the idle ones out; requests submitted later fail
// with shutdown at once. There is no idle count limit: idle connections count against
// `max_connections` and close after `idle_timeout` (the connection's own lazy deadline).
//
// pool_map: the pools by (origin, pool key): requests with different pool keys (the dispatcher's
// tenant) never share a pool, hence never a connection. find_or_make() creates a pool on first
// use, on a strand of the io_context when more than one thread runs it (else on the io_context's
// executor: one thread serialises the handlers, a strand would only add a hand-off).
//
// Thread safety: an ob_pool and its connections are used on `exec` only (every member function
// but the constructor). pool_map locks; any thread. Lifetime: a pool keeps its client alive
// (pool_client::shared_from_this) as long as it lives; a connection keeps its pool (`owner`) until
// it is counted out. pool_client::n_opened / n_open count connections opened / open now (stats).
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/delivery/outbound.hpp"
#include "http/delivery/outbound_targets.hpp"

namespace hooklog::http {

struct outbound_job {
  outbound_request req;
  std::shared_ptr<const url_info> url;
  outbound_client::callback done;
  std::chrono::steady_clock::time_point started{};
  std::chrono::steady_clock::time_point deadline{};
  bool retried = false;  // already retried on a fresh connection
};
using outbound_job_ptr = std::shared_ptr<outbound_job>;

// The outcome of a request that got no answer.
outbound_outcome failed_outcome(delivery_errc kind, std::string message, std::string detail = {});

struct ob_pool;

// A connection as its pool sees it (ob_connection in outbound.cpp).
struct pool_connection {
  std::shared_ptr<ob_pool> owner;  // set while counted in the pool
  bool is_idle = false;            // parked in the pool's idle list
  bool dead = false;               // closed

  virtual ~pool_connection() = default;
  virtual void start(outbound_job_ptr j) = 0;  // a new connection's first request
  virtual void reuse(outbound_job_ptr j) = 0;  // an idle connection's next request
  virtual void park(std::chrono::milliseconds idle_timeout) = 0;  // idle now (sets is_idle)
  virtual void close() = 0;                                       // sets dead
};

// What pools need of their client (outbound_impl).
struct pool_client : std::enable_shared_from_this<pool_client> {
  std::atomic<std::uint64_t> n_opened{0}, n_open{0};

  virtual ~pool_client() = default;
  // A new connection of `p` to `url`, not started yet.
  virtual std::shared_ptr<pool_connection> open_connection(std::shared_ptr<ob_pool> p,
                                                           const parsed_url& url) = 0;
};

struct pool_limits {
  std::size_t max_connections = 1;  // per pool: connecting + busy + idle
  std::chrono::milliseconds idle_timeout{30'000};
};

struct ob_pool : std::enable_shared_from_this<ob_pool> {
  const boost::asio::any_io_executor exec;
  const std::string origin;

  ob_pool(pool_client& c, boost::asio::any_io_executor e, std::string o, pool_limits limits);

  void submit(outbound_job_ptr j);
  void submit(std::vector<outbound_job_ptr>&& jobs);
  void release(const std::shared_ptr<pool_connection>& c, bool reusable);
  void retry_first(outbound_job_ptr j, const std::shared_ptr<pool_connection>& c);
  void close_all();

  bool closed() const { return closed_; }
  std::size_t open() const { return open_; }
  std::size_t idle() const { return idle_.size(); }
  std::size_t queued() const { return queue_.size(); }

 private:
  void pump();
  void start_on_new(outbound_job_ptr j);
  void forget(const std::shared_ptr<pool_connection>& c);

  pool_client& client_;
  std::shared_ptr<pool_client> keep_;  // the client outlives its pools' handlers
  pool_limits limits_;
  std::vector<std::shared_ptr<pool_connection>> idle_;
  std::vector<std::shared_ptr<pool_connection>> live_;  // every open connection (idle ones too)
  std::deque<outbound_job_ptr> queue_;
  std::size_t open_ = 0;  // connecting + busy + idle
  bool closed_ = false;
};

class pool_map {
 public:
  pool_map(pool_client& client, boost::asio::io_context& ioc, unsigned threads, pool_limits limits)
      : client_(client), ioc_(ioc), threads_(threads), limits_(limits) {}

  std::shared_ptr<ob_pool> find_or_make(const parsed_url& u, const std::string& pool_key);
  std::vector<std::shared_ptr<ob_pool>> all() const;
  void clear();

 private:
  pool_client& client_;
  boost::asio::io_context& ioc_;
  unsigned threads_;
  pool_limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<ob_pool>> pools_;
};

}  // namespace hooklog::http
