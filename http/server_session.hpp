#pragma once
// Internal to the HTTP server (included by http/server.cpp only): one connection's session, plain
// or TLS. See http/server.hpp for the behaviour it implements.
#include <array>
#include <boost/asio/bind_allocator.hpp>
#include <nlohmann/json.hpp>

#include "engine/handoff_batch.hpp"
#include "http/request_head.hpp"
#include "http/server_core.hpp"
#include "http/server_deadline.hpp"
#include "http/server_post_arena.hpp"
#include "http/server_request_reader.hpp"
#include "http/server_response.hpp"

namespace hooklog::http::detail {

inline std::string format_endpoint(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(ep.port());
  return a.to_string() + ":" + std::to_string(ep.port());
}

inline const std::error_category& http_error_category() {
  return bhttp::make_error_code(bhttp::error::bad_target).category();
}

using session_strand = net::strand<net::io_context::executor_type>;

template <class Stream>
class session : public detail::session_base, public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  enum class state { handshake, awaiting_first_byte, reading, handling, writing, closing };

 public:
  // `client` is the key this session was counted under in core::per_client.
  session(tcp::socket&& socket, std::shared_ptr<core> c, std::uint64_t id, std::string remote,
          std::string client)
      : stream_(make_stream(std::move(socket), *c)),
        strand_(strand_of(lowest().socket().get_executor())),
        deadline_(lowest().socket().get_executor()),
        core_(std::move(c)),
        id_(id),
        remote_(std::move(remote)),
        client_(std::move(client)) {}

  ~session() override {
    {
      std::lock_guard lk(core_->mu);
      core_->sessions.erase(id_);
      core_->forget_client(client_);
      core_->count.fetch_sub(1);
    }
    core_->cv.notify_all();
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->on_start(); });
  }

  // Called from a thread that runs no io_context (the log writer's or its completion thread),
  // or from the session's own handler (an answer given at once). The former go through the
  // core's answer_relay: one post per burst of answers, not one per answer (server_core.hpp).
  // The latter are posted to the strand itself (through the any_io_executor, Asio wrapped the
  // handler in a type-erased function and allocated it and the strand's operation with
  // memalign), with the handler's operations built in the session's post_arena.
  void deliver(answer&& a, std::shared_ptr<void>&& release) override {
    if (strand_ && !strand_->running_in_this_thread()) {
      if (!core_->relay.push({this->shared_from_this(), std::move(a), std::move(release)})) return;
      // The first of a burst: the drain is posted when the caller's handoff_batch (the log
      // writer's group of answers) closes, through the gate as answer_once (the caller, which
      // holds the gate now) is: the I/O threads and their io_context may be gone by then.
      // Without a batch, at once.
      const auto ex = strand_->get_inner_executor();
      auto drain = [c = core_] { c->relay.drain(); };
      if (!handoff_batch::defer([g = core_->g, ex, drain, c = core_] {
            std::lock_guard lk(g->mu);
            if (!g->open) return;
            net::post(ex, drain);
            if (c->relay.second_drain()) net::post(ex, drain);  // both I/O threads write
          }))
        net::post(ex, std::move(drain));
      return;
    }
    auto handler = answer_handler(std::move(a), std::move(release));
    if (strand_)
      net::post(*strand_, net::bind_allocator(arena_allocator<void>(&arena_), std::move(handler)));
    else
      net::post(stream_.get_executor(), std::move(handler));
  }
  void answer_relayed(answer&& a, std::shared_ptr<void>&& release) override {
    net::dispatch(*strand_, net::bind_allocator(arena_allocator<void>(&arena_),
                                                answer_handler(std::move(a), std::move(release))));
  }
  void close_if_idle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      // Waiting for a request, or lingering after an error answer: nothing in flight.
      if (self->state_ == state::awaiting_first_byte || self->state_ == state::closing)
        self->hard_close();
    });
  }
  void force_close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->hard_close(); });
  }
  void release() override { self_.reset(); }

 private:
  static Stream make_stream(tcp::socket&& socket, core& c) {
    if constexpr (kTls)
      return Stream(std::move(socket), *c.tls);
    else
      return Stream(std::move(socket));
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  static std::optional<session_strand> strand_of(const net::any_io_executor& ex) {
    if (const auto* s = ex.target<session_strand>()) return *s;
    return std::nullopt;
  }
  const server_options& opts() const { return core_->opts; }

  // The I/O started from now on ends within `d` or the session closes (server_deadline.hpp: one
  // timer, not one wait per operation).
  void expires_after(std::chrono::steady_clock::duration d) {
    deadline_.expires_after(d, [self = this->shared_from_this()] { self->hard_close(); });
  }

  auto answer_handler(answer&& a, std::shared_ptr<void>&& release) {
    return [self = this->shared_from_this(), a = std::move(a), release = std::move(release)]() mutable {
      self->on_answer(std::move(a));
      release.reset();
    };
  }

  void on_start() {
    if constexpr (kTls) {
      state_ = state::handshake;
      expires_after(first_byte_timeout());
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->hard_close();
                                // The deadline armed above covers the handshake and the first
                                // byte together: re-armed here, a client that handshook just
                                // before it had the whole first-byte timeout again.
                                self->wait_first_byte(true, false);
                              });
    } else {
      // Answers are written straight into the socket when it takes them (send_answer): a
      // non-blocking socket says so instead of waiting. Asynchronous operations work the same.
      beast::error_code ec;
      lowest().socket().non_blocking(true, ec);
      if (ec) return hard_close();
      wait_first_byte(true);
    }
  }

  // A new connection's wait for its first request byte (and TLS handshake): short, so that
  // idle connections cannot pile up; never longer than the read timeout.
  std::chrono::seconds first_byte_timeout() const {
    return std::min(opts().first_byte_timeout, opts().read_timeout);
  }

  // Waits for the first byte of the next request (first_byte_timeout on a new connection,
  // idle_timeout between keep-alive requests), then reads the whole request.
  // arm: false when the deadline already running covers this wait (after the TLS handshake).
  void wait_first_byte(bool first, bool arm = true) {
    if (closed_) return;
    if (core_->stopping.load()) return graceful_close();
    if (buffer_.size() > 0) return read_request();  // pipelined bytes already here
    state_ = state::awaiting_first_byte;
    if (arm) expires_after(first ? first_byte_timeout() : opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->on_read_error(ec);
                              self->read_request();
                            });
  }

  void read_request() {
    state_ = state::reading;
    expires_after(opts().read_timeout);  // one deadline for head and body
    read_head();
  }

  // Reads until the head is complete, refuses what request_head.hpp refuses, then has Beast
  // parse the head from the buffer. The body limit is set once the route is known.
  void read_head() {
    const auto data = buffer_.cdata();
    const std::string_view buf(static_cast<const char*>(data.data()), data.size());
    const std::size_t end = find_head_end(buf);
    if (end == std::string_view::npos && buf.size() < opts().header_limit) {
      stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](
                                                         beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        if (ec == net::error::eof) ec = bhttp::error::partial_message;
        if (ec) return self->on_read_error(ec);
        self->read_head();
      });
      return;
    }
    if (end != std::string_view::npos)
      if (auto refusal = check_request_head(buf.substr(0, end)))
        return send_error(std::move(*refusal));
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts().header_limit));
    parser_->body_limit(boost::none);  // checked in on_header against the route's limit
    parser_->eager(false);             // stop after the head: on_header sets the body limit
    header_done_ = false;
    parse();
  }

  // Feeds the buffer to the parser and reads more (under the request's deadline, set in
  // read_request) until the request is complete, as Beast's async_read_header and async_read
  // did, but parsing what is already buffered synchronously instead of through a composed
  // operation per step (each posted its completion through the strand).
  void parse() {
    for (;;) {
      if (!header_done_ && parser_->is_header_done()) {
        header_done_ = true;
        if (!on_header()) return;
      }
      if (parser_->is_done()) return on_request();  // what follows in the buffer is pipelined
      if (buffer_.size() == 0) break;
      beast::error_code ec;
      const auto data = buffer_.cdata();
      const std::size_t used = parser_->put(net::const_buffer(data.data(), data.size()), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more || (!ec && used == 0)) break;  // wants more bytes
      if (ec) return on_read_error(ec);
    }
    // Past the head the parser takes body bytes as they come, so what it leaves unconsumed is
    // an unfinished chunk-size line (with its extensions) or trailer section, which Beast
    // bounds by nothing: a client could grow the buffer until the read deadline. Bound it by
    // the header limit.
    if (header_done_ && buffer_.size() > opts().header_limit)
      return send_error(json_error(
          400, "bad_request",
          "malformed request: a chunk header or the trailer section of " + parser_->request().method +
              " " + parser_->request().path + " exceeds " + std::to_string(opts().header_limit) +
              " bytes",
          {{"limit", opts().header_limit}}));
    // As Beast's read_size(buffer, 65536).
    const std::size_t room = buffer_.capacity() - buffer_.size();
    const std::size_t size = std::min<std::size_t>(std::max<std::size_t>(512, room), 65536);
    auto on_read = [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      self->buffer_.commit(n);
      if (ec == net::error::eof) {
        // As Beast's read_some: the end of the stream ends a message without a length, cuts one
        // short (partial_message), or ends the connection before a message began.
        if (!self->parser_->got_some()) return self->on_read_error(bhttp::error::end_of_stream);
        ec = {};
        self->parser_->put_eof(ec);
      }
      if (ec) return self->on_read_error(ec);
      self->parse();
    };
    stream_.async_read_some(buffer_.prepare(size), std::move(on_read));
  }

  // The head is parsed: asks admit_head about a request with a body (its refusal answered at
  // once, before the body is read), sets the route's body limit (413 at once when the
  // Content-Length is over it) and answers "Expect: 100-continue". False when parse() must not
  // go on (answered, or the 100 Continue write resumes it).
  bool on_header() {
    http_request& req = parser_->request();
    // A body already wholly in the buffer with its head (a small request's: the head is read
    // 4 KiB at a time) costs nothing more to read, and the handler refuses what admit_head would:
    // asking twice cost the single ingest's I/O thread 7 % more instructions.
    const auto length = parser_->content_length();
    const bool buffered = length && *length <= buffer_.size();
    if (opts().admit_head && !parser_->is_done() && !buffered) {
      if (auto refusal = opts().admit_head(req)) {
        refuse(std::move(*refusal));
        return false;
      }
      parser_->reserve_announced(true);
    }
    limit_ = opts().body_limit_for ? opts().body_limit_for(req.method, req.target) : 0;
    if (limit_ == 0) limit_ = opts().body_limit;
    if (length && *length > limit_) {
      send_error(too_large(*length));
      return false;
    }
    parser_->body_limit(limit_);
    parser_->eager(true);
    const auto expect = find_header(req.headers, "expect");
    if (!parser_->is_done() && req.version >= 11 && expect && iequals(*expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->hard_close();
                         self->parse();
                       });
      return false;
    }
    return true;
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream) return graceful_close();
    if (ec == bhttp::error::body_limit) return send_error(too_large(std::nullopt));
    if (ec == bhttp::error::header_limit)
      return send_error(
          json_error(431, "header_too_large",
                     "request header exceeds " + std::to_string(opts().header_limit) + " bytes"));
    if (ec.category() == http_error_category() && ec != bhttp::error::partial_message)
      return send_error(json_error(400, "bad_request", "malformed request: " + ec.message()));
    // timeout (the stream already closed the socket), reset, partial message, TLS error.
    hard_close();
  }

  // 413 naming the route's limit (and the announced size when there was a Content-Length).
  http_response too_large(std::optional<std::uint64_t> size) const {
    nlohmann::json details = {{"limit", limit_}};
    std::string message = "request body";
    if (size) {
      details["size"] = *size;
      message += " of " + std::to_string(*size) + " bytes";
    }
    std::string request_line;  // "POST /path" of the request being read
    if (parser_) request_line = parser_->request().method + " " + parser_->request().path;
    message += " is over the limit of " + describe_size(limit_) + " for " + request_line;
    return json_error(413, "payload_too_large", message, details);
  }

  void on_request() {
    keep_alive_ = parser_->keep_alive();
    http_request r = std::move(parser_->request());
    parser_.reset();
    r.remote = remote_;
    version_ = r.version;
    head_ = r.method == "HEAD";

    state_ = state::handling;
    deadline_.clear();  // no I/O until the answer: the handler may take its time
    self_ = this->shared_from_this();  // alive until answered (or released at stop)
    auto slot = std::make_shared<detail::response_slot>();
    slot->session = this->weak_from_this();
    slot->g = core_->g;
    responder resp(std::move(slot));
    try {
      core_->h(std::move(r), resp);
    } catch (const std::exception& e) {
      resp(json_error(500, "internal", std::string("request handler failed: ") + e.what()));
    } catch (...) {
      resp(json_error(500, "internal", "request handler failed"));
    }
  }

  void on_answer(answer a) {
    self_.reset();
    if (closed_ || state_ != state::handling) return;
    if (core_->stopping.load()) keep_alive_ = false;
    if (auto* r = std::get_if<http_response>(&a)) return write_response(std::move(*r), false);
    start_stream(std::move(std::get<stream_response>(a)));
  }

  response_framing framing() const {
    return response_framing{version_, keep_alive_, head_, opts().server_name};
  }

  void write_response(http_response r, bool then_linger) {
    if (r.status < 100 || r.status > 599) r = json_error(500, "internal", "invalid status code");
    state_ = state::writing;
    then_linger_ = then_linger;
    if (response_head(r, framing(), out_head_)) {
      if (!head_) out_body_ = std::move(r.body);
      return send_answer();
    }
    // The rare head Beast would arrange otherwise (server_response.hpp): Beast's serializer.
    res_.emplace(beast_response(std::move(r), framing()));
    expires_after(opts().write_timeout);
    bhttp::async_write(stream_, *res_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->res_.reset();
                         if (ec) return self->hard_close();
                         self->after_answer();
                       });
  }

  // Writes out_head_ and out_body_ as one gathered write. Plain TCP: the socket (non-blocking)
  // usually takes the whole answer at once, so it is written here, without an asynchronous
  // operation (its timer, its allocated handler, the strand's post of its completion); what the
  // socket does not take at once goes through async_write under the write timeout, as TLS does.
  void send_answer() {
    const std::array<net::const_buffer, 2> bufs{net::buffer(out_head_), net::buffer(out_body_)};
    const std::size_t total = out_head_.size() + out_body_.size();
    std::size_t sent = 0;
    if constexpr (!kTls) {
      beast::error_code ec;
      sent = lowest().socket().write_some(bufs, ec);
      if (ec == net::error::would_block || ec == net::error::try_again) {
        ec = {};
        sent = 0;
      }
      if (ec) return hard_close();
      if (sent == total) return answer_sent();
    }
    beast::buffers_suffix<std::array<net::const_buffer, 2>> rest(bufs);
    rest.consume(sent);
    expires_after(opts().write_timeout);
    net::async_write(stream_, rest,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->hard_close();
                       self->answer_sent();
                     });
  }

  void answer_sent() {
    out_head_.clear();  // its capacity serves the next answer
    out_body_ = std::string();
    after_answer();
  }

  // After an answer was written: linger (error answers), close, or read the next request.
  void after_answer() {
    if (then_linger_) return linger_close();
    if (!keep_alive_) return graceful_close();
    wait_first_byte(false);
  }

  // Answers a request the parser refused, then closes after draining what the client sends.
  void send_error(http_response r) {
    if (opts().on_refused) opts().on_refused(r.status, r.body, client_);
    refuse(std::move(r));
  }
  // As send_error, without on_refused (admit_head's answers).
  void refuse(http_response r) {
    keep_alive_ = false;
    head_ = false;
    if (version_ == 0) version_ = 11;
    state_ = state::handling;  // write_response expects to follow a request
    write_response(std::move(r), true);
  }

  // ---- streaming ----
  void start_stream(stream_response s) {
    if (!s.producer || s.status < 100 || s.status > 599)
      return write_response(json_error(500, "internal", "stream without producer or bad status"),
                            false);
    producer_ = std::move(s.producer);
    chunked_ = version_ >= 11;
    if (!chunked_) keep_alive_ = false;  // HTTP/1.0: body ends at close
    state_ = state::writing;
    sres_.emplace();
    beast_head(*sres_, s.status, s.content_type, s.headers, framing());
    if (chunked_) sres_->chunked(true);
    ssr_.emplace(*sres_);
    expires_after(opts().write_timeout);
    bhttp::async_write_header(stream_, *ssr_,
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->hard_close();
                                if (self->head_) return self->write_last();
                                self->next_chunk();
                              });
  }

  void next_chunk() {
    deadline_.clear();  // no I/O while the producer makes the chunk
    net::post(*core_->workers, [self = this->shared_from_this()] {
      std::string chunk;
      bool more = false;
      bool failed = false;
      try {
        more = self->producer_(chunk);
      } catch (...) {
        failed = true;
      }
      net::post(self->stream_.get_executor(),
                [self, chunk = std::move(chunk), more, failed]() mutable {
                  if (failed) return self->hard_close();
                  self->on_chunk(std::move(chunk), more);
                });
    });
  }

  void on_chunk(std::string chunk, bool more) {
    if (closed_) return;
    if (chunk.empty()) return more ? next_chunk() : write_last();
    chunk_ = std::move(chunk);
    auto done = [self = this->shared_from_this(), more](beast::error_code ec, std::size_t) {
      if (ec) return self->hard_close();
      if (more) return self->next_chunk();
      self->write_last();
    };
    expires_after(opts().write_timeout);
    if (chunked_)
      net::async_write(stream_, bhttp::make_chunk(net::const_buffer(chunk_.data(), chunk_.size())),
                       std::move(done));
    else
      net::async_write(stream_, net::const_buffer(chunk_.data(), chunk_.size()), std::move(done));
  }

  void write_last() {
    producer_ = nullptr;
    chunk_.clear();
    chunk_.shrink_to_fit();
    auto done = [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->ssr_.reset();
      self->sres_.reset();
      if (ec) return self->hard_close();
      if (!self->keep_alive_) return self->graceful_close();
      self->wait_first_byte(false);
    };
    if (!chunked_ || head_) return done({}, 0);  // an answer to HEAD ends with its header
    expires_after(opts().write_timeout);
    net::async_write(stream_, bhttp::make_chunk_last(), std::move(done));
  }

  // ---- closing ----
  void graceful_close() {
    if (closed_) return;
    state_ = state::closing;
    if constexpr (kTls) {
      expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->hard_close(); });
    } else {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      hard_close();
    }
  }

  // After an error answer: stop sending (plain TCP: FIN, so the client sees the end of the
  // answer), then read and discard what the client still sends, at most linger_bytes for at
  // most linger_timeout, so that a client still writing its body gets to read our answer
  // instead of a reset (closing with unread bytes makes the kernel send RST, and a client
  // blocked in write then fails with "broken pipe" before it reads anything). Then close.
  void linger_close() {
    state_ = state::closing;
    parser_.reset();
    if constexpr (!kTls) {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    expires_after(opts().linger_timeout);
    drained_ = buffer_.size();
    drain();
  }
  void drain() {
    buffer_.clear();
    if (drained_ >= opts().linger_bytes) return hard_close();
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec) return self->hard_close();
                              self->drain();
                            });
  }

  void hard_close() {
    if (closed_) return;
    closed_ = true;
    state_ = state::closing;
    deadline_.cancel();
    beast::error_code ec;
    lowest().socket().close(ec);
  }

  Stream stream_;
  std::optional<session_strand> strand_;  // the socket's strand (the listener makes one each)
  io_deadline deadline_;                  // of the I/O in flight (Beast's stream has none)
  post_arena arena_;                      // deliver()'s operation
  std::shared_ptr<core> core_;
  std::uint64_t id_;
  std::string remote_;
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<request_reader> parser_;
  bool header_done_ = false;  // on_header ran for the request being read
  std::optional<bhttp::response<bhttp::string_body>> res_;  // only for beast_response answers
  std::string out_head_;  // the answer being written: head (response_head) and body
  std::string out_body_;
  bool then_linger_ = false;  // the answer being written refuses a request: linger, then close
  std::optional<bhttp::response<bhttp::empty_body>> sres_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> ssr_;
  chunk_producer producer_;
  std::string chunk_;
  std::shared_ptr<session> self_;
  state state_ = state::awaiting_first_byte;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool chunked_ = true;
  bool closed_ = false;
  std::size_t drained_ = 0;
  std::size_t limit_ = 0;     // the body limit of the request being read
};

}  // namespace hooklog::http::detail
