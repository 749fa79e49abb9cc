#pragma once
// Host-name lookups of the outbound client (outbound.hpp), on threads of their own.
//
// Asio's resolver runs every lookup of an io_context on one background thread, so one name whose
// DNS server does not answer (getaddrinfo then blocks for its resolver's timeouts: 5 s a try by
// default) held up the lookups of every other origin behind it. host_lookup runs them on up to
// `threads` threads, started when needed, and looks up a name at most once at a time: a lookup
// of a name already being looked up waits for that answer. So a name that hangs holds one thread
// however many requests ask for it, and every other name is answered past it while fewer than
// `threads` different names hang at once.
//
// lookup(host, done): calls done(answer) exactly once, on a lookup thread (on the caller's when
// no thread can be started), unless stop() came first (then never: whoever asked is being
// stopped too, and answers its own requests). `done` must not block; it is called without any
// lock held, and the waiters of one lookup are called in the order they asked. Nothing is
// cached: each lookup asks the system anew.
//
// Lifetime: stop() (also run by the destructor) drops the lookups not answered yet and returns
// once no `done` is running; it does not wait for a call still inside getaddrinfo. The threads
// are detached and share the state with this object: one stuck in a lookup ends when its call
// returns, after stop() and even after this object is gone, and calls no `done` then.
// Thread safety: lookup() and stop() from any thread.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hooklog::http {

// The answer of one lookup: the addresses (text, as inet_ntop writes them) in the resolver's
// order without repeats, or why there are none.
struct host_addresses {
  std::vector<std::string> addresses;
  std::string error;  // empty when there are addresses
};

// What answers a lookup (default: system_lookup). Tests give one of their own.
using lookup_fn = std::function<host_addresses(const std::string& host)>;

// getaddrinfo(host) for stream sockets, IPv4 and IPv6 as the host has them configured
// (AI_ADDRCONFIG, as Asio's resolver asked by default).
host_addresses system_lookup(const std::string& host);

class host_lookup {
 public:
  using callback = std::function<void(const host_addresses&)>;

  explicit host_lookup(std::size_t threads = 4, lookup_fn fn = nullptr);
  ~host_lookup();
  host_lookup(const host_lookup&) = delete;
  host_lookup& operator=(const host_lookup&) = delete;

  void lookup(const std::string& host, callback done);
  void stop();

  struct shared;  // host_lookup.cpp: what the threads share with this object

 private:
  std::shared_ptr<shared> s_;
};

}  // namespace hooklog::http
