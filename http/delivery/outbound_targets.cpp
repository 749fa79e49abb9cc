#include "http/delivery/outbound_targets.hpp"

#include <utility>

namespace hooklog::http {

std::shared_ptr<const url_info> make_url_info(parsed_url&& url) {
  auto info = std::make_shared<url_info>();
  info->host_header = url.host_header();
  info->url = std::move(url);
  return info;
}

void target_cache::make_key(std::string_view pool_key, std::string_view url) {
  key_.assign(pool_key).append(1, '\n').append(url);
}

bool target_cache::find(std::string_view pool_key, std::string_view url, entry& out) {
  std::lock_guard lk(mu_);
  make_key(pool_key, url);
  auto it = entries_.find(key_);
  if (it == entries_.end()) return false;
  out = it->second;
  return true;
}

void target_cache::insert(std::string_view pool_key, std::string_view url, entry e) {
  std::lock_guard lk(mu_);
  if (entries_.size() >= max_) entries_.clear();
  make_key(pool_key, url);
  entries_.insert_or_assign(key_, std::move(e));
}

void target_cache::clear() {
  std::lock_guard lk(mu_);
  entries_.clear();
}

std::size_t target_cache::size() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

}  // namespace hooklog::http
