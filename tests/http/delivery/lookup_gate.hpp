#pragma once
// A lookup function for the outbound client's tests (http/delivery/host_lookup.hpp), with no name
// server: "hang.test" blocks until open() (at most 30 s), "missing.test" has no addresses,
// "inside.test" is 10.0.0.5 (for the SSRF policy: never connected to), any other name is
// 127.0.0.1. Counts the calls that entered and returned per name. Held by shared_ptr: a lookup
// thread may still be inside fn() after its client is gone.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "http/delivery/host_lookup.hpp"

namespace hooklog::test {

struct lookup_gate : std::enable_shared_from_this<lookup_gate> {
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
  std::map<std::string, int> entered, returned;

  http::lookup_fn fn() {
    return [self = shared_from_this()](const std::string& host) { return self->answer(host); };
  }

  http::host_addresses answer(const std::string& host) {
    std::unique_lock lk(mu);
    ++entered[host];
    cv.notify_all();
    if (host == "hang.test") cv.wait_for(lk, std::chrono::seconds(30), [&] { return opened; });
    ++returned[host];
    cv.notify_all();
    if (host == "missing.test") return {{}, "no such name"};
    if (host == "inside.test") return {{"10.0.0.5"}, {}};
    return {{"127.0.0.1"}, {}};
  }

  void open() {
    std::lock_guard lk(mu);
    opened = true;
    cv.notify_all();
  }
  int calls(const std::string& host) {
    std::lock_guard lk(mu);
    return entered[host];
  }
  bool wait_entered(const std::string& host, int n, std::chrono::milliseconds limit) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, limit, [&] { return entered[host] >= n; });
  }
  bool wait_returned(const std::string& host, int n, std::chrono::milliseconds limit) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, limit, [&] { return returned[host] >= n; });
  }
};

}  // namespace hooklog::test
