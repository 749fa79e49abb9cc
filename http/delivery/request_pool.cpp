#include "http/delivery/request_pool.hpp"

#include <utility>

namespace hooklog::http {

outbound_request request_pool::take() {
  if (own_.empty()) {
    std::lock_guard lk(mu_);
    own_.swap(back_);  // back_ keeps own_'s (empty) capacity: give() allocates nothing
  }
  if (own_.empty()) return {};
  outbound_request r = std::move(own_.back());
  own_.pop_back();
  return r;
}

void request_pool::give(outbound_request&& r) {
  if (r.body.capacity() > body_limit_) std::string().swap(r.body);
  std::lock_guard lk(mu_);
  if (back_.size() >= limit_) return;  // `r` is freed by the caller
  back_.push_back(std::move(r));
}

std::size_t request_pool::held() const {
  std::lock_guard lk(mu_);
  return back_.size() + own_.size();
}

}  // namespace hooklog::http
