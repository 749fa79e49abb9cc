#pragma once
// The asynchronous HTTP(S) client of the dispatcher (Boost.Beast), with keep-alive connection
// pools per origin.
//
// deliver(request, done): POSTs (or any method) `body` to `url` with `headers` and calls
// `done(outcome)` exactly once, on one of the client's I/O threads (so it must not block: hand
// the outcome on). The outcome carries either an HTTP answer (any status: the caller judges
// it; 3xx is never followed) or a transport failure classified as delivery_errc
// (dns, ssrf, refused, timeout, tls, protocol, shutdown) with a message naming the step.
//
// Per request: one deadline (`timeout`) covering resolve, connect, TLS handshake, write and
// reading the answer; the clock starts when a connection takes the request (time spent waiting
// for a free connection of a saturated origin does not count, and is not in latency_us).
// The answer's header is bounded (header_limit); of its body the first `excerpt_limit`
// bytes are kept and at most `read_limit` bytes read: a longer body is not read further and the
// connection is closed (the answer still counts, with its excerpt).
//
// Pools (outbound_pool.hpp): one per (origin (scheme, host, port), request.pool_key); at most
// max_connections_per_origin connections per pool (connecting, busy or idle); requests beyond
// wait in that pool's FIFO queue, so a slow or dead origin never holds connections or threads
// another origin needs. Requests with different pool keys never share a connection: the
// dispatcher passes the endpoint's tenant, so a keep-alive connection opened for one tenant
// never carries another tenant's request (even if a request's framing could be broken, nothing
// of another tenant's delivery could end up inside it). Idle connections are closed after
// idle_timeout, and at once when the peer closes (or half-closes) them or sends bytes no request
// asked for (plain connections, which are read when readable: outbound.cpp); bytes that come
// after an answer close the connection once the answer is read. A request sent on a reused
// connection that fails before any response byte (the peer closed it meanwhile) is retried once
// on a fresh connection.
//
// Security: the request is checked before it is queued: method and header names must be
// RFC 9110 tokens, header values free of control characters (0x00-0x1F but HTAB, 0x7F);
// otherwise it is not sent and fails with delivery_errc::invalid_request naming the header
// (never its value). A host name is looked up on the client's lookup threads (host_lookup.hpp:
// a name that does not answer holds one of them, not the others' lookups), an address literal
// is connected without a lookup. Every address is checked with
// the SSRF guard (check_address, allow_private_targets) before connecting; one refused address refuses the
// request with delivery_errc::ssrf and the message kTargetNotAllowed only (tenants read attempt
// records); the guard's detail (the address and its class) is in outcome.detail. TLS (https):
// SNI set for names, the peer's chain verified against the system store
// (set_default_verify_paths) plus `ca_file`, and the host name (or IP) checked against the
// certificate.
//
// Threads: `threads` I/O threads run one io_context; with more than one, each origin's pool
// runs on its own strand (with one, on the io_context's executor: the thread serialises them).
// Deadlines cost no timer operation per request: each connection keeps one lazy timer for its
// request's deadline and its idle period (outbound.cpp). Nor does waiting for an answer: plain
// connections are registered once in one epoll set per client (outbound_ready.hpp), drained once
// per pass of the I/O loop; with two or more threads each readiness is posted to its pool's
// strand, and none is lost (the registration stays; nothing is re-armed in the kernel per
// request), so a peer's close or half-close of an idle connection is found at once with any
// number of threads. `hooklog serve` runs one I/O thread (dispatcher_options::io_threads = 1).
// Nor does a request's own block: its job, made by deliver() and freed on an I/O thread, comes
// from blocks the client keeps for reuse (block_pool.hpp), not from the caller's malloc arena.
// deliver(batch): the same as deliver() for each request, in order, with one hand-off per pool
// (the I/O thread is woken once for the batch, not once per request; the dispatcher posts the
// requests a scheduling round starts together). post(fn) runs fn on an I/O thread after the
// handlers that are ready now (the dispatcher gathers the attempt records of the answers read in
// one pass of the I/O loop into one submission); not at all once stop() began.
// Lifetime: stop() (also run by the destructor) fails queued and in-flight requests with
// delivery_errc::shutdown, closes everything and joins the threads; deliver() after stop()
// answers shutdown at once, on the calling thread. Thread safety: deliver()/stats() from any
// thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/result.hpp"
#include "http/delivery/delivery_errc.hpp"
#include "http/delivery/host_lookup.hpp"
#include "http/delivery/message.hpp"

namespace hooklog::http {

struct outbound_request;

struct outbound_options {
  unsigned threads = 1;
  std::size_t max_connections_per_origin = 8;
  std::chrono::milliseconds idle_timeout{30'000};
  bool allow_private_targets = false;
  std::string ca_file;                    // extra trust anchors (PEM); system store always used
  std::size_t excerpt_limit = 4096;       // body bytes kept in the outcome
  std::size_t read_limit = 64 * 1024;     // body bytes read at most before closing
  std::size_t header_limit = 16 * 1024;
  std::string user_agent = "hooklog-webhooks/0.1";
  // Host-name lookups (host_lookup.hpp): at most this many at once, each name once at a time;
  // `lookup` answers them (null: getaddrinfo; tests give their own).
  std::size_t lookup_threads = 4;
  lookup_fn lookup;
  // Called on an I/O thread with each request that was taken by a connection, once it is no
  // longer needed (its answer read or its failure known), just before `done`: its buffers, for
  // the caller to fill again (request_pool.hpp). Null: the request is freed. Requests answered
  // without a connection (refused before queueing, stop()) are freed.
  std::function<void(outbound_request&&)> recycle;
};

struct outbound_request {
  std::string method = "POST";
  std::string url;
  header_list headers;  // sent as given (Host, Content-Length and User-Agent are added)
  std::string body;
  std::chrono::milliseconds timeout{10'000};
  std::string pool_key;  // requests with different keys never share a connection
};

struct outbound_outcome {
  unsigned status = 0;            // 0 when no answer arrived
  std::int64_t latency_us = 0;    // from taking a connection to the full answer (or failure)
  header_list headers;            // the answer's headers
  std::string body_excerpt;       // first excerpt_limit bytes of the body
  bool body_truncated = false;    // the body was longer than body_excerpt
  std::optional<error> failure;   // transport failure (code: delivery_errc), nullopt = answered
  bool reused_connection = false;
  std::string remote;             // "ip:port" connected to, when known
  std::string detail;             // for the operator only (the SSRF guard's reason); never recorded

  bool answered() const { return !failure; }
  delivery_errc failure_kind() const {
    return failure ? static_cast<delivery_errc>(failure->code.value()) : delivery_errc::success;
  }
};

struct outbound_impl;  // outbound.cpp

struct outbound_stats {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t open_connections = 0;
  std::uint64_t reused = 0;
  std::uint64_t failures = 0;
};

class outbound_client {
 public:
  using callback = std::function<void(outbound_outcome&&)>;

  explicit outbound_client(outbound_options options = {});
  ~outbound_client();
  outbound_client(const outbound_client&) = delete;
  outbound_client& operator=(const outbound_client&) = delete;

  struct delivery {
    outbound_request request;
    callback done;
  };

  void deliver(outbound_request request, callback done);
  void deliver(std::vector<delivery>&& batch);
  void post(std::function<void()> fn);
  void stop();
  outbound_stats stats() const;
  const outbound_options& options() const;

 private:
  std::shared_ptr<outbound_impl> impl_;
};

}  // namespace hooklog::http
