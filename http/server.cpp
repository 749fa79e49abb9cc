#include "http/server.hpp"

#include <sstream>

#include "engine/thread_name.hpp"
#include "http/server_session.hpp"

namespace hooklog::http {

void responder::operator()(http_response response) const {
  slot_->answer_once(std::move(response));
}
void responder::operator()(http_response response, std::shared_ptr<void> release) const {
  slot_->answer_once(std::move(response), std::move(release));
}
void responder::stream(stream_response response) const { slot_->answer_once(std::move(response)); }
bool responder::answered() const { return slot_->done.load(); }

namespace {

using detail::answer;
using detail::core;
using detail::format_endpoint;

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, std::shared_ptr<core> c)
      : ioc_(ioc),
        acceptor_(net::make_strand(ioc)),
        retry_(acceptor_.get_executor()),
        core_(std::move(c)),
        busy_(canned(json_error(503, "server_busy",
                                "the server has its maximum of " +
                                    std::to_string(core_->opts.max_connections) +
                                    " open connections; retry later"))),
        too_many_(
            canned(json_error(429, "too_many_connections",
                              "this client address has its maximum of " +
                                  std::to_string(core_->opts.max_connections_per_client) +
                                  " open connections: reuse them (keep-alive) or close some"))) {}

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
    beast::error_code rec;
    auto remote_ep = socket.remote_endpoint(rec);
    std::string remote = rec ? std::string("unknown") : format_endpoint(remote_ep);
    std::string client = rec ? std::string("unknown") : remote_ep.address().to_string();
    const std::string* refusal = nullptr;
    std::uint64_t id = 0;
    {
      std::lock_guard lk(core_->mu);
      const auto& o = core_->opts;
      std::size_t& mine = core_->per_client[client];
      if (core_->count.load() >= o.max_connections) {
        refusal = &busy_;
      } else if (o.max_connections_per_client != 0 && mine >= o.max_connections_per_client) {
        refusal = &too_many_;
      } else {
        ++mine;
        id = core_->next_id++;
        core_->count.fetch_add(1);
      }
      if (mine == 0) core_->per_client.erase(client);
    }
    if (refusal) {
      if (core_->opts.on_refused) {
        const std::string_view canned_answer = *refusal;
        const auto body_at = canned_answer.find("\r\n\r\n");
        core_->opts.on_refused(refusal == &busy_ ? 503 : 429,
                               body_at == std::string_view::npos ? std::string_view()
                                                                 : canned_answer.substr(body_at + 4),
                               client);
      }
      refuse(socket, *refusal);
      return do_accept();
    }
    if (core_->tls) {
      auto p = std::make_shared<detail::session<beast::ssl_stream<beast::tcp_stream>>>(
          std::move(socket), core_, id, std::move(remote), std::move(client));
      register_session(id, p);
      p->start();
    } else {
      auto p = std::make_shared<detail::session<beast::tcp_stream>>(
          std::move(socket), core_, id, std::move(remote), std::move(client));
      register_session(id, p);
      p->start();
    }
    do_accept();
  }

  // A whole HTTP/1.1 answer that closes the connection, as bytes.
  static std::string canned(const http_response& r) {
    bhttp::response<bhttp::string_body> m{static_cast<bhttp::status>(r.status), 11};
    m.set(bhttp::field::content_type, r.content_type);
    m.keep_alive(false);
    m.body() = r.body;
    m.prepare_payload();
    std::ostringstream out;
    out << m;
    return out.str();
  }

  // Refused at accept: plain HTTP gets its one-shot answer (one non-blocking write into the
  // fresh socket's empty send buffer; whatever the client sent already is read and dropped so
  // that the close is a FIN, not a reset); TLS is closed without an answer (no handshake is
  // spent on a refused connection).
  void refuse(tcp::socket& socket, const std::string& answer) {
    beast::error_code ec;
    if (!core_->tls) {
      socket.non_blocking(true, ec);
      if (!ec) socket.write_some(net::buffer(answer), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
      char sink[16 * 1024];
      socket.read_some(net::buffer(sink), ec);
    }
    socket.close(ec);
  }

  void register_session(std::uint64_t id, std::shared_ptr<detail::session_base> s) {
    std::lock_guard lk(core_->mu);
    core_->sessions.emplace(id, s);
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<core> core_;
  const std::string busy_;      // 503 over max_connections
  const std::string too_many_;  // 429 over max_connections_per_client
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
  for (unsigned i = 0; i < n; ++i)
    m.threads.emplace_back([&ioc = m.ioc] {
      set_thread_name("http-io");
      ioc.run();
    });
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
  c.relay.clear();  // answers relayed after the I/O threads stopped: never to be written
  for (auto& s : c.snapshot()) s->release();
}

unsigned short http_server::port() const { return impl_->bound.port(); }
std::string http_server::local_address() const { return format_endpoint(impl_->bound); }
std::size_t http_server::connections() const { return impl_->c->count.load(); }

}  // namespace hooklog::http
