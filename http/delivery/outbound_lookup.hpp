#pragma once
// The outbound client's host name lookups (outbound.cpp), on threads of their own.
//
// Why not tcp::resolver::async_resolve: Boost.Asio runs every io_context's lookups one at a time
// on one private thread, and cancelling cannot stop a getaddrinfo already running; so one
// endpoint whose nameserver drops queries (10 s and more per lookup) stalled the new connections
// of every tenant, and an attempt stuck behind it ran past its own timeout with no record.
//
// lookup_pool: `threads` threads (started on first use) run the lookups (getaddrinfo, or the
// injected `lookup` function of tests); at most `per_group` lookups of one group (the pool key:
// the tenant) run at once, so a slow name holds at most that share of the threads; others of
// its group wait in the queue, which is served in order, skipping groups at their share.
// IP literals never come here (the connection parses them and connects directly).
//
// resolve(group, host, port, done) queues a lookup and returns its ticket; `done(addresses,
// error)` runs on a lookup thread (it must only post). cancel(ticket) drops a queued lookup
// (its `done` never runs) or marks a running one, whose answer is then dropped. stop() drops
// the queue and every pending `done`, under the lock, and waits for any `done` being called
// to return (so none runs after it: the io_context they post to may be gone); the threads are
// detached and end after their current lookup (getaddrinfo cannot be interrupted).
//
// Thread safety: every member function from any thread.
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hooklog::http {

// Addresses of host:port, or an error message (empty on success).
using lookup_function = std::function<std::vector<boost::asio::ip::tcp::endpoint>(
    const std::string& host, unsigned short port, std::string& error)>;

// getaddrinfo (AF_UNSPEC, SOCK_STREAM).
std::vector<boost::asio::ip::tcp::endpoint> system_lookup(const std::string& host, unsigned short port,
                                                          std::string& error);

class lookup_pool {
 public:
  using callback = std::function<void(std::vector<boost::asio::ip::tcp::endpoint>&&, std::string&& error)>;

  lookup_pool(unsigned threads, unsigned per_group, lookup_function lookup);
  ~lookup_pool();
  lookup_pool(const lookup_pool&) = delete;
  lookup_pool& operator=(const lookup_pool&) = delete;

  std::uint64_t resolve(const std::string& group, const std::string& host, unsigned short port,
                        callback done);
  void cancel(std::uint64_t ticket);
  void stop();

 private:
  struct state;
  std::shared_ptr<state> s_;
};

}  // namespace hooklog::http
