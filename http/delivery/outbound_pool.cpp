#include "http/delivery/outbound_pool.hpp"

#include <algorithm>
#include <boost/asio/strand.hpp>
#include <utility>

namespace hooklog::http {

namespace net = boost::asio;

outbound_outcome failed_outcome(delivery_errc kind, std::string message, std::string detail) {
  outbound_outcome o;
  o.failure = make_error(kind, std::move(message));
  o.detail = std::move(detail);
  return o;
}

ob_pool::ob_pool(pool_client& c, net::any_io_executor e, std::string o, pool_limits limits)
    : exec(std::move(e)),
      origin(std::move(o)),
      client_(c),
      keep_(c.shared_from_this()),
      limits_(limits) {}

void ob_pool::submit(outbound_job_ptr j) {
  if (closed_) {
    auto done = std::move(j->done);
    if (done) done(failed_outcome(delivery_errc::shutdown, "outbound client stopped"));
    return;
  }
  queue_.push_back(std::move(j));
  pump();
}

void ob_pool::submit(std::vector<outbound_job_ptr>&& jobs) {
  if (closed_) {
    for (auto& j : jobs) {
      auto done = std::move(j->done);
      if (done) done(failed_outcome(delivery_errc::shutdown, "outbound client stopped"));
    }
    return;
  }
  for (auto& j : jobs) queue_.push_back(std::move(j));
  pump();
}

void ob_pool::pump() {
  while (!queue_.empty() && !closed_) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      c->is_idle = false;  // its lazy deadline becomes the request's (no timer operation)
      auto j = std::move(queue_.front());
      queue_.pop_front();
      c->reuse(std::move(j));
    } else if (open_ < limits_.max_connections) {
      auto j = std::move(queue_.front());
      queue_.pop_front();
      start_on_new(std::move(j));
    } else {
      break;
    }
  }
}

void ob_pool::start_on_new(outbound_job_ptr j) {
  ++open_;
  client_.n_opened.fetch_add(1, std::memory_order_relaxed);
  client_.n_open.fetch_add(1, std::memory_order_relaxed);
  auto c = client_.open_connection(shared_from_this(), j->url->url);
  live_.push_back(c);
  c->start(std::move(j));
}

void ob_pool::release(const std::shared_ptr<pool_connection>& c, bool reusable) {
  if (reusable && !c->dead && !closed_) {
    c->park(limits_.idle_timeout);
    idle_.push_back(c);
  } else {
    if (c->is_idle) {
      c->is_idle = false;
      std::erase(idle_, c);
    }
    if (!c->dead) c->close();
    forget(c);
  }
  pump();
}

void ob_pool::retry_first(outbound_job_ptr j, const std::shared_ptr<pool_connection>& c) {
  queue_.push_front(std::move(j));  // first in line for the slot c frees
  release(c, false);
}

void ob_pool::forget(const std::shared_ptr<pool_connection>& c) {
  if (!c->owner) return;
  std::erase(live_, c);
  --open_;
  client_.n_open.fetch_sub(1, std::memory_order_relaxed);
  c->owner.reset();
}

void ob_pool::close_all() {
  closed_ = true;
  auto q = std::move(queue_);
  queue_.clear();
  for (auto& j : q)
    if (j->done) j->done(failed_outcome(delivery_errc::shutdown, "outbound client stopped"));
  idle_.clear();
  // Busy connections: closing their sockets makes their pending handlers run now and answer
  // their requests with delivery_errc::shutdown.
  auto all = live_;
  for (auto& c : all) {
    bool was_idle = c->is_idle;
    c->is_idle = false;
    c->close();
    if (was_idle) forget(c);
  }
}

std::shared_ptr<ob_pool> pool_map::find_or_make(const parsed_url& u, const std::string& pool_key) {
  std::lock_guard lk(mu_);
  auto origin = u.origin();
  auto& p = pools_[origin + '\n' + pool_key];
  if (!p) {
    auto exec = threads_ > 1 ? net::any_io_executor(net::make_strand(ioc_))
                             : net::any_io_executor(ioc_.get_executor());
    p = std::make_shared<ob_pool>(client_, std::move(exec), origin, limits_);
  }
  return p;
}

std::vector<std::shared_ptr<ob_pool>> pool_map::all() const {
  std::vector<std::shared_ptr<ob_pool>> out;
  std::lock_guard lk(mu_);
  for (auto& [k, p] : pools_) out.push_back(p);
  return out;
}

void pool_map::clear() {
  std::lock_guard lk(mu_);
  pools_.clear();
}

}  // namespace hooklog::http
