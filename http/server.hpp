#pragma once
// An asynchronous HTTP/1.1 server (Boost.Beast), plain or TLS.
//
// Model (after Beast's advanced_server): one session per connection, running on its own
// strand over a pool of N threads that run one io_context. A session reads one request
// (header limit, body limit, read timeout), hands it to the handler and reads nothing more
// until the handler has answered (pipelined requests wait in the buffer), then writes the
// response and goes back to reading if the connection is keep-alive.
//
// Handler contract:
//   * `handler(request, responder)` is called on an I/O thread. It must not block: do slow
//     work elsewhere and complete the responder from any thread, at any later time.
//   * A responder is answered exactly once: the first call wins, later ones are ignored.
//     If every copy of a responder is destroyed unanswered (or the handler throws before
//     answering), the client gets a 500 JSON error.
//   * responder::stream sends a chunked response whose body comes from a chunk_producer.
//     The producer is called serially (never concurrently, possibly on different threads)
//     on a small worker pool, one call per chunk, the next call only after the previous chunk
//     was written to the socket: memory stays bounded whatever the total size. It returns
//     false when done (the chunk filled by that last call is still sent). Returning true with
//     an empty chunk means "nothing yet, call me again" (the producer should wait a little,
//     e.g. up to 100 ms, before returning that). A producer that throws aborts the
//     connection (no last-chunk: the client sees a truncated body).
//
// Errors answered by the server itself (JSON bodies, see json_error.hpp), then close:
//   400 malformed request, also obs-fold header lines and any Transfer-Encoding other than a
//   single "chunked" or together with Content-Length (see request_head.hpp); 413 body over the
//   request's body limit (body_limit, or body_limit_for(method, target)), refused from the
//   Content-Length before any body is read and before "100 Continue", the message and
//   details.limit naming the limit; 431 header over header_limit. A request with a body that
//   admit_head refuses gets that answer from its head, before its body is read (the API: no
//   key, a wrong key or route) and before "100 Continue" (and before the 413).
//   After an error answer the connection lingers: what the client still sends is read and
//   discarded (at most linger_bytes, for at most linger_timeout) so that a client that writes
//   its whole body before reading sees the answer rather than a reset; then it is closed.
//   A read or write that times out closes the connection (the session's deadline timer,
//   server_deadline.hpp, closes the socket); the time a handler or a stream's producer takes
//   is not bounded by these timeouts.
//   A new connection that sends nothing is closed after first_byte_timeout (never later than
//   read_timeout); an idle keep-alive connection after idle_timeout.
//   Connections are refused at accept (plain HTTP: a one-shot JSON answer, then close; TLS:
//   closed without an answer): beyond max_connections with 503 "server_busy", beyond
//   max_connections_per_client open connections from one client address (IP, port ignored;
//   loopback included) with 429 "too_many_connections".
//
// Lifetimes: the server must outlive its handler's use of the server; responders may
// outlive the server (calls after stop() are ignored). Not restartable after stop().
// Thread-safety: start()/stop() from one controlling thread; port() from any thread.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.hpp"
#include "http/delivery/message.hpp"

namespace hooklog::http {

struct server_options {
  std::string listen = "127.0.0.1:8080";  // "HOST:PORT", "[::1]:PORT"; port 0 = any free port
  unsigned threads = 0;                    // I/O threads; 0 = hardware_concurrency
  unsigned stream_threads = 2;             // worker threads calling chunk producers
  std::size_t body_limit = 1024 * 1024;
  // A route's own body limit, called once a request's head is read; 0 (or unset) = body_limit.
  std::function<std::size_t(std::string_view method, std::string_view target)> body_limit_for;
  std::size_t header_limit = 16 * 1024;
  std::size_t max_connections = 10000;
  // Open connections from one IP address (port ignored); 0 = no limit.
  std::size_t max_connections_per_client = 256;
  // A new connection's wait for its first request byte (TLS: and its handshake); never longer
  // than read_timeout.
  std::chrono::seconds first_byte_timeout{10};
  std::chrono::seconds read_timeout{30};   // whole request, from its first byte
  std::chrono::seconds idle_timeout{60};   // between requests on a keep-alive connection
  std::chrono::seconds write_timeout{30};  // each response write (each chunk when streaming)
  std::size_t linger_bytes = 64 * 1024 * 1024;  // read and discarded after an error answer, at most
  std::chrono::seconds linger_timeout{10};      // and for at most this long
  std::string tls_cert_file;               // both set = HTTPS (PEM chain and key)
  std::string tls_key_file;
  std::string server_name = "hooklog";     // "Server" header; empty = none
  // Called (on an I/O thread) for each answer the server gives by itself, before any handler:
  // 400/413/431 above and the 503/429 refusals at accept; body = the JSON error. Must not block.
  std::function<void(unsigned status, std::string_view body, std::string_view client)> on_refused;
  // Called (on an I/O thread) once the head of a request that has a body (a Content-Length over
  // 0, or chunked) is read, before any of the body is read and before "100 Continue": the
  // request as read so far (no body yet). Not called when the whole body already came with the
  // head (in the same reads, a few KiB at most): reading it costs nothing more, and the handler
  // then refuses what the hook would. An answer refuses the request there (then the
  // connection lingers and closes, as after the server's own refusals; on_refused is not called:
  // the hook counts its own answers); nullopt reads the body, up to the route's limit, and
  // hands the request to the handler. Must not block. Unset: every body is read.
  // The body's buffer takes the announced Content-Length at once only for a request this hook
  // admitted; otherwise it grows as bytes arrive.
  std::function<std::optional<http_response>(const http_request& head)> admit_head;
};

// Fills `chunk` (initially empty) with the next piece of body; false = this was the last.
using chunk_producer = std::function<bool(std::string& chunk)>;

struct stream_response {
  unsigned status = 200;
  std::string content_type = "application/x-ndjson";
  header_list headers;
  chunk_producer producer;
};

namespace detail {
struct response_slot;
}

// Copyable handle to "the answer to this request". See the contract above.
class responder {
 public:
  explicit responder(std::shared_ptr<detail::response_slot> slot) : slot_(std::move(slot)) {}
  void operator()(http_response response) const;
  // As above; `release` (e.g. the request's own state) is released by the I/O thread that takes
  // the answer, after it did: what the request allocated there is freed there, in that thread's
  // malloc cache, rather than in the answering thread (the log writer's or its completion thread
  // freeing the I/O thread's allocations sent both into glibc's slow paths). Released at once
  // when the answer goes nowhere (a later answer, or the connection gone).
  void operator()(http_response response, std::shared_ptr<void> release) const;
  void stream(stream_response response) const;
  // True once any copy was answered.
  bool answered() const;

 private:
  std::shared_ptr<detail::response_slot> slot_;
};

using handler = std::function<void(http_request&&, responder)>;

class http_server {
 public:
  http_server(server_options options, handler h);
  ~http_server();  // stop() with the default deadline if still running
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds, listens and starts the threads; returns the bound port.
  result<unsigned short> start();
  // Graceful shutdown: stop accepting, close idle connections, let in-flight requests finish
  // (their responses carry Connection: close) until `deadline`, then close everything.
  // Returns when all threads are joined. Idempotent.
  void stop(std::chrono::milliseconds deadline = std::chrono::seconds(10));

  unsigned short port() const;
  // "127.0.0.1:PORT" / "[::1]:PORT" as bound.
  std::string local_address() const;
  std::size_t connections() const;  // currently open sessions

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hooklog::http
