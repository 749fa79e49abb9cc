#include "http/server.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "http/json_error.hpp"

namespace hooklog::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace detail {

using answer = std::variant<http_response, stream_response>;

// What a responder needs from a session; all calls may come from any thread.
struct session_base {
  virtual ~session_base() = default;
  virtual void deliver(answer a) = 0;  // posts the answer to the session's strand
  virtual void close_if_idle() = 0;    // posts: closes if waiting for a request
  virtual void force_close() = 0;      // posts: closes whatever the state
  virtual void release() = 0;          // only while no I/O thread runs: drops the self-reference
};

// Closed once the I/O threads are gone, so late responders never touch a dead io_context.
struct gate {
  std::mutex mu;
  bool open = true;
};

struct response_slot {
  std::atomic<bool> done{false};
  std::weak_ptr<session_base> session;
  std::shared_ptr<gate> g;

  void answer_once(answer a) {
    if (done.exchange(true)) return;
    std::lock_guard lk(g->mu);
    if (!g->open) return;
    if (auto s = session.lock()) s->deliver(std::move(a));
  }
  ~response_slot() {
    if (!done.load())
      answer_once(json_error(500, "internal", "the request handler did not answer"));
  }
};

// State shared by the server, its listener and its sessions.
struct core {
  server_options opts;
  handler h;
  std::shared_ptr<gate> g = std::make_shared<gate>();
  std::unique_ptr<ssl::context> tls;
  std::optional<net::thread_pool::executor_type> workers;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards sessions, count; cv signals count changes
  std::condition_variable cv;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions;
  std::uint64_t next_id = 0;
  std::atomic<std::size_t> count{0};

  std::vector<std::shared_ptr<session_base>> snapshot() {
    std::vector<std::shared_ptr<session_base>> out;
    std::lock_guard lk(mu);
    for (auto& [id, w] : sessions)
      if (auto s = w.lock()) out.push_back(std::move(s));
    return out;
  }
};

}  // namespace detail

void responder::operator()(http_response response) const {
  slot_->answer_once(std::move(response));
}
void responder::stream(stream_response response) const { slot_->answer_once(std::move(response)); }
bool responder::answered() const { return slot_->done.load(); }

namespace {

using detail::answer;
using detail::core;

std::string format_endpoint(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(ep.port());
  return a.to_string() + ":" + std::to_string(ep.port());
}

const std::error_category& http_error_category() {
  return bhttp::make_error_code(bhttp::error::bad_target).category();
}

template <class Stream>
class session : public detail::session_base,
                public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  enum class state { handshake, awaiting_first_byte, reading, handling, writing, closing };

 public:
  session(tcp::socket&& socket, std::shared_ptr<core> c, std::uint64_t id, std::string remote)
      : stream_(make_stream(std::move(socket), *c)),
        core_(std::move(c)),
        id_(id),
        remote_(std::move(remote)) {}

  ~session() override {
    {
      std::lock_guard lk(core_->mu);
      core_->sessions.erase(id_);
      core_->count.fetch_sub(1);
    }
    core_->cv.notify_all();
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->on_start(); });
  }

  void deliver(answer a) override {
    net::post(stream_.get_executor(), [self = this->shared_from_this(), a = std::move(a)]() mutable {
      self->on_answer(std::move(a));
    });
  }
  void close_if_idle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == state::awaiting_first_byte) self->hard_close();
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
  const server_options& opts() const { return core_->opts; }

  void on_start() {
    if constexpr (kTls) {
      state_ = state::handshake;
      lowest().expires_after(opts().read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->hard_close();
                                self->wait_first_byte(true);
                              });
    } else {
      wait_first_byte(true);
    }
  }

  // Waits for the first byte of the next request (read_timeout on a new connection,
  // idle_timeout between keep-alive requests), then reads the whole request.
  void wait_first_byte(bool first) {
    if (closed_) return;
    if (core_->stopping.load()) return graceful_close();
    if (buffer_.size() > 0) return read_request();  // pipelined bytes already here
    state_ = state::awaiting_first_byte;
    lowest().expires_after(first ? opts().read_timeout : opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](
                                                       beast::error_code ec, std::size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->on_read_error(ec);
      self->read_request();
    });
  }

  void read_request() {
    state_ = state::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts().header_limit));
    parser_->body_limit(opts().body_limit);
    lowest().expires_after(opts().read_timeout);  // one deadline for header and body
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    auto expect = req[bhttp::field::expect];
    if (!parser_->is_done() && req.version() >= 11 && iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->hard_close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_request();
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream) return graceful_close();
    if (ec == bhttp::error::body_limit)
      return send_error(json_error(413, "payload_too_large",
                                   "request body exceeds " + std::to_string(opts().body_limit) +
                                       " bytes"));
    if (ec == bhttp::error::header_limit)
      return send_error(json_error(431, "header_too_large",
                                   "request header exceeds " +
                                       std::to_string(opts().header_limit) + " bytes"));
    if (ec.category() == http_error_category() && ec != bhttp::error::partial_message)
      return send_error(json_error(400, "bad_request", "malformed request: " + ec.message()));
    // timeout (the stream already closed the socket), reset, partial message, TLS error.
    hard_close();
  }

  void on_request() {
    auto req = parser_->release();
    parser_.reset();
    http_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    std::string_view target = req.target();
    auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = parse_query(target.substr(q + 1));
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(req.body());
    r.remote = remote_;
    r.version = req.version();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;

    state_ = state::handling;
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

  template <class Message>
  void fill_common(Message& m, unsigned status, const std::string& content_type,
                   header_list& headers) {
    m.version(version_);
    m.result(status);
    if (!opts().server_name.empty()) m.set(bhttp::field::server, opts().server_name);
    if (!content_type.empty()) m.set(bhttp::field::content_type, content_type);
    for (auto& [k, v] : headers) m.insert(k, v);
    m.keep_alive(keep_alive_);
  }

  void write_response(http_response r, bool then_linger) {
    if (r.status < 100 || r.status > 599) r = json_error(500, "internal", "invalid status code");
    state_ = state::writing;
    res_.emplace();
    fill_common(*res_, r.status, r.content_type, r.headers);
    if (head_) {
      res_->content_length(r.body.size());
    } else {
      res_->body() = std::move(r.body);
      res_->prepare_payload();
    }
    lowest().expires_after(opts().write_timeout);
    bhttp::async_write(stream_, *res_,
                       [self = this->shared_from_this(), then_linger](beast::error_code ec,
                                                                      std::size_t) {
                         bool close = !self->res_->keep_alive();
                         self->res_.reset();
                         if (ec) return self->hard_close();
                         if (then_linger) return self->linger_close();
                         if (close) return self->graceful_close();
                         self->wait_first_byte(false);
                       });
  }

  // Answers a request the parser refused, then closes after draining what the client sends.
  void send_error(http_response r) {
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
    fill_common(*sres_, s.status, s.content_type, s.headers);
    if (chunked_) sres_->chunked(true);
    ssr_.emplace(*sres_);
    lowest().expires_after(opts().write_timeout);
    bhttp::async_write_header(stream_, *ssr_,
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->hard_close();
                                if (self->head_) return self->write_last();
                                self->next_chunk();
                              });
  }

  void next_chunk() {
    net::post(*core_->workers, [self = this->shared_from_this()] {
      std::string chunk;
      bool more = false;
      bool failed = false;
      try {
        more = self->producer_(chunk);
      } catch (...) {
        failed = true;
      }
      net::post(self->stream_.get_executor(), [self, chunk = std::move(chunk), more, failed]() mutable {
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
    lowest().expires_after(opts().write_timeout);
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
    if (!chunked_) return done({}, 0);
    lowest().expires_after(opts().write_timeout);
    net::async_write(stream_, bhttp::make_chunk_last(), std::move(done));
  }

  // ---- closing ----
  void graceful_close() {
    if (closed_) return;
    state_ = state::closing;
    if constexpr (kTls) {
      lowest().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->hard_close(); });
    } else {
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      hard_close();
    }
  }

  // After an error answer: stop sending, read and discard what the client still sends
  // (bounded in bytes and time) so it sees our answer rather than a reset, then close.
  void linger_close() {
    if constexpr (kTls) {
      graceful_close();
    } else {
      state_ = state::closing;
      beast::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      lowest().expires_after(std::chrono::seconds(2));
      drained_ = 0;
      drain();
    }
  }
  void drain() {
    buffer_.clear();
    lowest().async_read_some(buffer_.prepare(64 * 1024), [self = this->shared_from_this()](
                                                             beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > 8 * opts_limit(self->opts())) return self->hard_close();
      self->drain();
    });
  }
  static std::size_t opts_limit(const server_options& o) { return std::max<std::size_t>(o.body_limit, 1 << 20); }

  void hard_close() {
    if (closed_) return;
    closed_ = true;
    state_ = state::closing;
    beast::error_code ec;
    lowest().socket().close(ec);
  }

  Stream stream_;
  std::shared_ptr<core> core_;
  std::uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
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
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, std::shared_ptr<core> c)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(acceptor_.get_executor()), core_(std::move(c)) {}

  tcp::acceptor& acceptor() { return acceptor_; }

  void run() { do_accept(); }
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](
                                                        beast::error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || core_->stopping.load()) return;
    if (ec) {  // e.g. EMFILE: back off a little instead of spinning
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->do_accept();
      });
      return;
    }
    if (core_->count.load() >= core_->opts.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // refused: over max_connections
      return do_accept();
    }
    beast::error_code rec;
    auto remote_ep = socket.remote_endpoint(rec);
    std::string remote = rec ? std::string("unknown") : format_endpoint(remote_ep);
    std::shared_ptr<detail::session_base> s;
    std::uint64_t id;
    {
      std::lock_guard lk(core_->mu);
      id = core_->next_id++;
      core_->count.fetch_add(1);
    }
    if (core_->tls) {
      auto p = std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
          std::move(socket), core_, id, std::move(remote));
      register_session(id, p);
      p->start();
    } else {
      auto p = std::make_shared<session<beast::tcp_stream>>(std::move(socket), core_, id,
                                                            std::move(remote));
      register_session(id, p);
      p->start();
    }
    do_accept();
  }

  void register_session(std::uint64_t id, std::shared_ptr<detail::session_base> s) {
    std::lock_guard lk(core_->mu);
    core_->sessions.emplace(id, s);
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<core> core_;
};

struct parsed_listen {
  std::string host;
  unsigned short port = 0;
};

std::optional<parsed_listen> parse_listen(std::string_view s) {
  parsed_listen out;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    out.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || p != port.data() + port.size() || value > 65535) return std::nullopt;
  out.port = static_cast<unsigned short>(value);
  if (out.host.empty() || out.host == "*") out.host = "0.0.0.0";
  if (out.host == "localhost") out.host = "127.0.0.1";
  return out;
}

}  // namespace

struct http_server::impl {
  std::shared_ptr<core> c = std::make_shared<core>();
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::optional<net::thread_pool> workers;
  std::shared_ptr<listener> lst;
  std::vector<std::thread> threads;
  tcp::endpoint bound;
  bool started = false;
  bool stopped = false;
};

http_server::http_server(server_options options, handler h) : impl_(std::make_unique<impl>()) {
  impl_->c->opts = std::move(options);
  impl_->c->h = std::move(h);
}

http_server::~http_server() { stop(); }

result<unsigned short> http_server::start() {
  auto& m = *impl_;
  const auto& o = m.c->opts;
  if (m.started) return error{std::make_error_code(std::errc::operation_not_permitted), "server already started"};
  auto lp = parse_listen(o.listen);
  if (!lp) return error{std::make_error_code(std::errc::invalid_argument), "bad listen address '" + o.listen + "' (want HOST:PORT or [V6]:PORT)"};
  beast::error_code ec;
  auto addr = net::ip::make_address(lp->host, ec);
  if (ec) return error{std::error_code(ec), "bad listen host '" + lp->host + "': " + ec.message()};

  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
    if (o.tls_cert_file.empty() || o.tls_key_file.empty())
      return error{std::make_error_code(std::errc::invalid_argument), "TLS needs both a certificate and a key file"};
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) return error{std::error_code(ec), "TLS certificate '" + o.tls_cert_file + "': " + ec.message()};
    ctx->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec) return error{std::error_code(ec), "TLS key '" + o.tls_key_file + "': " + ec.message()};
    m.c->tls = std::move(ctx);
  }

  m.lst = std::make_shared<listener>(m.ioc, m.c);
  auto& acc = m.lst->acceptor();
  tcp::endpoint ep(addr, lp->port);
  auto fail = [&](const char* what) -> result<unsigned short> {
    return error{std::error_code(ec), std::string(what) + " " + o.listen + ": " + ec.message()};
  };
  acc.open(ep.protocol(), ec);
  if (ec) return fail("open");
  acc.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  acc.bind(ep, ec);
  if (ec) return fail("bind");
  acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  m.bound = acc.local_endpoint(ec);
  if (ec) return fail("getsockname");

  m.workers.emplace(std::max(1u, o.stream_threads));
  m.c->workers = m.workers->get_executor();
  m.guard.emplace(m.ioc.get_executor());
  m.lst->run();
  unsigned n = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) m.threads.emplace_back([&ioc = m.ioc] { ioc.run(); });
  m.started = true;
  return m.bound.port();
}

void http_server::stop(std::chrono::milliseconds deadline) {
  auto& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  auto& c = *m.c;
  c.stopping.store(true);
  m.lst->close();
  for (auto& s : c.snapshot()) s->close_if_idle();
  {
    std::unique_lock lk(c.mu);
    c.cv.wait_for(lk, deadline, [&] { return c.count.load() == 0; });
  }
  if (c.count.load() != 0) {
    for (auto& s : c.snapshot()) s->force_close();
    std::unique_lock lk(c.mu);
    c.cv.wait_for(lk, std::chrono::milliseconds(200), [&] { return c.count.load() == 0; });
  }
  m.guard.reset();
  m.ioc.stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  {
    std::lock_guard lk(c.g->mu);
    c.g->open = false;
  }
  m.workers->stop();
  m.workers->join();
  for (auto& s : c.snapshot()) s->release();
}

unsigned short http_server::port() const { return impl_->bound.port(); }
std::string http_server::local_address() const { return format_endpoint(impl_->bound); }
std::size_t http_server::connections() const { return impl_->c->count.load(); }

}  // namespace hooklog::http
