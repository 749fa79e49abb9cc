#pragma once
// The outbound client's targets (outbound.cpp): a request's URL checked once and kept, with the
// connection pool its requests go to.
//
// url_info: a checked URL as requests use it (check_url's parsed_url and its Host header value,
// built once), shared by every request to it.
//
// target_cache: the checked URL and the pool of each (pool key, URL text) seen, so a delivery does
// not parse its URL and build its origin again. find() fills `out` and answers true when the pair
// is kept; insert() keeps (or replaces) one, first clearing everything when `max_entries` are
// kept (bounded; no eviction order to maintain: a full cache is rare and refills as requests
// come). The pool is opaque here (ob_pool is outbound_pool.hpp's). Only successful checks are kept:
// check_url() is pure, so a URL that failed is checked again (and fails the same way) each time.
// Thread safety: every member function locks; the look-up key's buffer is reused under the lock.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/delivery/ssrf_guard.hpp"

namespace hooklog::http {

struct ob_pool;  // outbound_pool.hpp

struct url_info {
  parsed_url url;
  std::string host_header;  // url.host_header(), built once
};

// The url_info of a URL check_url() accepted.
std::shared_ptr<const url_info> make_url_info(parsed_url&& url);

class target_cache {
 public:
  static constexpr std::size_t kDefaultMax = 4096;

  struct entry {
    std::shared_ptr<const url_info> url;
    std::shared_ptr<ob_pool> pool;
  };

  explicit target_cache(std::size_t max_entries = kDefaultMax)
      : max_(max_entries == 0 ? 1 : max_entries) {}

  bool find(std::string_view pool_key, std::string_view url, entry& out);
  void insert(std::string_view pool_key, std::string_view url, entry e);
  void clear();
  std::size_t size() const;

 private:
  void make_key(std::string_view pool_key, std::string_view url);  // under mu_

  std::size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, entry> entries_;
  std::string key_;
};

}  // namespace hooklog::http
