#pragma once
// Outbound requests whose buffers are used again: the dispatcher thread takes one per attempt
// (take()) and fills it in place (build_delivery_request() assigns into the capacity it kept),
// and the outbound client hands it back from its I/O thread once it is no longer needed (give(),
// through outbound_options::recycle). So in the steady state an attempt's URL, pool key, header
// names and values and body cost no allocation on the dispatcher thread, and the I/O thread
// frees no block the dispatcher thread allocated (each such free took the other thread's malloc
// arena lock, and left its tcache empty: every allocation of the dispatcher went to the arena).
//
// take(): the taking thread only (one thread). A request given back earlier if there is one
// (its fields hold whatever they held: the filler assigns every field), else a default one.
// give(): any thread. At most `limit` requests wait to be taken (beyond that they are freed),
// and a body buffer larger than `body_limit` bytes is freed rather than kept (one large event
// must not pin its size for every later attempt); so the pool holds at most 2 x limit requests
// (those given back, and those swapped to the taker's side) of at most body_limit body bytes
// each, and never more than were in flight at once.
// held(): the taking thread only (tests).
#include <cstddef>
#include <mutex>
#include <vector>

#include "http/delivery/outbound.hpp"

namespace hooklog::http {

class request_pool {
 public:
  static constexpr std::size_t kLimit = 256;
  static constexpr std::size_t kBodyLimit = 16 * 1024;

  explicit request_pool(std::size_t limit = kLimit, std::size_t body_limit = kBodyLimit)
      : limit_(limit), body_limit_(body_limit) {}

  outbound_request take();
  void give(outbound_request&& r);
  std::size_t held() const;

 private:
  const std::size_t limit_, body_limit_;
  std::vector<outbound_request> own_;  // the taker's (no lock)
  mutable std::mutex mu_;
  std::vector<outbound_request> back_;  // given back, swapped into own_ when it runs out
};

}  // namespace hooklog::http
