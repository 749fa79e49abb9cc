#include "http/delivery/outbound.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/thread_name.hpp"
#include "http/delivery/block_pool.hpp"
#include "http/delivery/endpoint_validation.hpp"
#include "http/delivery/outbound_pool.hpp"
#include "http/delivery/outbound_read.hpp"
#include "http/delivery/outbound_ready.hpp"
#include "http/delivery/outbound_targets.hpp"
#include "http/delivery/outbound_wire.hpp"
#include "http/delivery/ssrf_guard.hpp"
#include "http/delivery/tls_peer.hpp"

namespace hooklog::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

using job_ptr = outbound_job_ptr;

std::int64_t micros_since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t).count();
}

outbound_options normalized(outbound_options o) {
  if (o.max_connections_per_origin == 0) o.max_connections_per_origin = 1;
  if (o.threads == 0) o.threads = 1;
  return o;
}

}  // namespace

// The client's state; its pools (outbound_pool.hpp) open connections through open_connection().
struct outbound_impl : pool_client {
  outbound_options opts;
  // The jobs' blocks (block_pool.hpp): made on deliver()'s thread, freed on an I/O thread.
  // Before ioc: handlers destroyed with it may hold the last reference to a job.
  block_pool job_blocks;
  net::io_context ioc;
  readiness_set ready{ioc};  // the plain connections' readiness (outbound_ready.hpp)
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::string tls_ctx_error;
  std::vector<std::thread> threads;
  host_lookup lookups{opts.lookup_threads, opts.lookup};  // host names (host_lookup.hpp)
  pool_map pools{*this, ioc, opts.threads, {opts.max_connections_per_origin, opts.idle_timeout}};
  std::atomic<bool> stopped{false};
  std::mutex stop_mu;
  bool joined = false;

  std::atomic<std::uint64_t> n_requests{0}, n_reused{0}, n_failures{0};

  explicit outbound_impl(outbound_options o) : opts(normalized(std::move(o))) {
    beast::error_code ec;
    tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls_ctx.set_default_verify_paths(ec);
    if (!opts.ca_file.empty()) {
      tls_ctx.load_verify_file(opts.ca_file, ec);
      if (ec) tls_ctx_error = "cannot load CA file " + opts.ca_file + ": " + ec.message();
    }
    tls_ctx.set_verify_mode(ssl::verify_peer);
  }

  void start() {
    work.emplace(ioc.get_executor());
    ready.start();
    for (unsigned i = 0; i < opts.threads; ++i)
      threads.emplace_back([this] {
        set_thread_name("deliver-io");
        ioc.run();
      });
  }

  std::shared_ptr<pool_connection> open_connection(std::shared_ptr<ob_pool> p, const parsed_url& url) override;

  target_cache targets;  // checked URLs and their pools (outbound_targets.hpp)
  void stop();
  job_ptr prepare(outbound_request&& request, outbound_client::callback&& done,
                  std::shared_ptr<ob_pool>& p);
};

// Deadlines: a host name's lookup uses `timer` directly, connecting and the TLS handshake the
// stream's own timeouts (beast::tcp_stream::expires_at). From the first request on, `timer` is a
// lazy deadline: `due` is the current request's deadline (busy) or the end of the idle period
// (parked), and the timer waits for a time at or before `due`; when it fires before `due` it
// waits again. Setting a later `due` (every request on a kept-alive connection, every park)
// touches no timer; only an earlier one re-arms it. So a request costs no timer operation, and
// the stream's per-operation timers are off (expires_never) once the connection is up.
// Its pool (outbound_pool.hpp) hands it requests (start, reuse) and parks or closes it.
struct ob_connection : std::enable_shared_from_this<ob_connection>, readiness_set::target, pool_connection {
  outbound_impl& client;      // outlives it (its pool keeps the client)
  net::any_io_executor exec;  // owner->exec, kept for on_ready (any thread)
  bool direct = true;         // one I/O thread: on_ready runs on exec already
  parsed_url url;  // of the first request (same origin for all)
  bool looking_up = false;  // the host name's lookup is not answered yet (start)
  net::steady_timer timer;
  steady::time_point due = steady::time_point::max();  // lazy deadline (see above)
  steady::time_point armed_for{};                       // when the pending wait fires
  bool waiting = false;                                 // a lazy wait is pending
  std::uint64_t wait_gen = 0;                           // its generation (older ones are stale)
  bool timed_out = false;     // the lazy deadline closed the connection under a request
  bool stream_timers_off = false;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  job_ptr current;
  std::string head;  // the request line and headers being written (request_head)
  std::optional<answer_parser> parser;
  unsigned interim = 0;  // interim (1xx) answers skipped before the current request's answer
  static constexpr unsigned kMaxInterimAnswers = 8;
  std::uint64_t served = 0;
  answer_wait reads;  // plain connections read answers on readiness (outbound_read.hpp)
  std::string remote;

  ob_connection(outbound_impl& c, std::shared_ptr<ob_pool> p, const parsed_url& u)
      : client(c), exec(p->exec), direct(c.opts.threads == 1), url(u), timer(exec) {
    if (url.tls())
      tls.emplace(exec, client.tls_ctx);
    else
      plain.emplace(exec);
    owner = std::move(p);
  }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // The stream requests are written to and answers read from: the TLS stream, or the plain
  // connection's socket itself (its deadline is the lazy one; beast::tcp_stream's per-operation
  // wrapper would add nothing but its own bookkeeping).
  template <class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(plain->socket());
  }

  // The lazy deadline: `t` becomes `due`; the timer is re-armed only when nothing waits or the
  // pending wait comes after `t`.
  void set_due(steady::time_point t) {
    due = t;
    if (waiting && armed_for <= t) return;
    waiting = true;
    armed_for = t;
    timer.expires_at(t);  // a pending wait ends with operation_aborted; its generation is stale
    timer.async_wait([self = shared_from_this(), gen = ++wait_gen](beast::error_code) {
      self->on_due(gen);
    });
  }

  void on_due(std::uint64_t gen) {
    if (gen != wait_gen) return;  // replaced by an earlier deadline
    waiting = false;
    if (dead || !owner) return;
    if (steady::now() < due) return set_due(due);  // moved later meanwhile: wait again
    if (is_idle) return owner->release(shared_from_this(), false);  // idle too long: closed
    if (!current) return;
    // The request's deadline passed: closing the socket ends its pending write or read, whose
    // handler reports the timeout.
    timed_out = true;
    close();
  }

  void close() override {
    dead = true;
    waiting = false;
    ++wait_gen;
    beast::error_code ignored;
    timer.cancel();
    if (looking_up)  // its answer is ignored: the request fails now, as a cancelled wait would
      net::post(exec, [self = shared_from_this()] { self->end_lookup(); });
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    // An armed readiness wait ends with operation_aborted, after this handler (as Asio's would).
    if (reads.disable())
      net::post(exec, [self = shared_from_this()] { self->on_readable(net::error::operation_aborted); });
  }

  // --- a fresh connection: look up, check, connect, handshake, then send ---------------
  void start(job_ptr j) override {
    current = std::move(j);
    current->started = steady::now();
    current->deadline = current->started + current->req.timeout;
    if (!client.tls_ctx_error.empty() && url.tls())
      return fail(delivery_errc::tls, client.tls_ctx_error);
    // An address literal needs no lookup.
    beast::error_code not_literal;
    const auto literal = net::ip::make_address(url.host, not_literal);
    if (!not_literal) {
      if (!address_allowed(literal)) return;
      const tcp::endpoint ep(literal, url.port);
      lowest().expires_at(current->deadline);
      return lowest().async_connect(ep, [self = shared_from_this(), ep](beast::error_code ec) {
        self->on_connect(ec, ep);
      });
    }
    looking_up = true;
    timer.expires_at(current->deadline);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->looking_up) {
        self->looking_up = false;
        self->fail_lookup(delivery_errc::timeout, "timed out");
      }
    });
    // The answer comes on a lookup thread; only a connection still alive takes it, on exec.
    client.lookups.lookup(url.host, [w = weak_from_this()](const host_addresses& a) {
      if (auto self = w.lock()) net::post(self->exec, [self, a] { self->on_lookup(a); });
    });
  }

  void on_lookup(const host_addresses& a) {
    if (!looking_up) return;  // timed out or closed meanwhile: already answered
    looking_up = false;
    timer.cancel();
    if (!a.error.empty()) return fail_lookup(delivery_errc::dns, a.error);
    std::vector<tcp::endpoint> endpoints;
    endpoints.reserve(a.addresses.size());
    for (const auto& text : a.addresses) {
      beast::error_code bad;
      const auto address = net::ip::make_address(text, bad);
      if (bad) return fail_lookup(delivery_errc::dns, "not an address: " + text);
      if (!address_allowed(address)) return;
      endpoints.emplace_back(address, url.port);
    }
    lowest().expires_at(current->deadline);
    lowest().async_connect(endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint& ep) {
      self->on_connect(ec, ep);
    });
  }

  // The connection was closed while its lookup ran (the client or its pool stopping).
  void end_lookup() {
    if (!looking_up) return;
    looking_up = false;
    fail_lookup(delivery_errc::dns, "cancelled");
  }

  // The lookup's failure, named as every lookup failure is: "resolve HOST: why".
  void fail_lookup(delivery_errc kind, const std::string& why) {
    fail(kind, "resolve " + url.host + ": " + why);
  }

  // The policy on an address the connection would reach (ssrf_guard.hpp); false: the request
  // failed with delivery_errc::ssrf.
  bool address_allowed(const net::ip::address& a) {
    auto ok = check_address(url.host, a.to_string(), client.opts.allow_private_targets);
    if (!ok) fail(delivery_errc::ssrf, std::string(kTargetNotAllowed), ok.err().message);
    return static_cast<bool>(ok);
  }

  void on_connect(beast::error_code ec, const tcp::endpoint& ep) {
    if (ec == beast::error::timeout) return fail(delivery_errc::timeout, "connect to " + url.origin() + ": timed out");
    if (ec) return fail(delivery_errc::refused, "connect to " + url.origin() + ": " + ec.message());
    {
      beast::error_code ignored;
      lowest().socket().set_option(tcp::no_delay(true), ignored);
      if (!tls) reads.enable(lowest().socket(), client.ready, weak_from_this());  // on_ready
    }
    remote = ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                                   : ep.address().to_string() + ":" + std::to_string(ep.port());
    if (!tls) return send();
    // SNI for names, then OpenSSL verifies the chain and the name / IP during the handshake.
    if (!expect_peer(tls->native_handle(), url.host))
      return fail(delivery_errc::tls, "TLS: cannot set the expected peer name " + url.host);
    tls->async_handshake(ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
      self->on_handshake(ec);
    });
  }

  void on_handshake(beast::error_code ec) {
    if (ec == beast::error::timeout) return fail(delivery_errc::timeout, "TLS handshake with " + url.origin() + ": timed out");
    if (ec) {
      std::string why = ec.message();
      long vr = SSL_get_verify_result(tls->native_handle());
      if (vr != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(vr)) + ")";
      return fail(delivery_errc::tls, "TLS handshake with " + url.origin() + ": " + why);
    }
    send();
  }

  // --- a request on an open connection -------------------------------------------------
  void reuse(job_ptr j) override {
    current = std::move(j);
    current->started = steady::now();
    current->deadline = current->started + current->req.timeout;
    client.n_reused.fetch_add(1, std::memory_order_relaxed);
    send();
  }

  void send() {
    const auto& r = current->req;
    head.clear();  // the buffer is kept from request to request
    append_request_head(head, r, current->url->url.target, current->url->host_header,
                        client.opts.user_agent);
    if (!stream_timers_off) {  // connected: from now on the lazy deadline only
      lowest().expires_never();
      stream_timers_off = true;
    }
    set_due(current->deadline);
    reads.begin_request();
    arm();  // before the write: the answer's readiness cannot come before the wait
    const std::array<net::const_buffer, 2> wire{net::buffer(head), net::buffer(r.body)};
    with_stream([&](auto& s) {
      net::async_write(s, wire, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_write(ec);
      });
    });
  }

  void on_write(beast::error_code ec) {
    if (timed_out)
      return fail(delivery_errc::timeout, "sending to " + url.origin() + ": timed out");
    if (ec) {
      if (served > 0 && !current->retried && stale_connection_error(ec)) return retry_fresh();
      if (ec == beast::error::timeout) return fail(delivery_errc::timeout, "sending to " + url.origin() + ": timed out");
      return fail(delivery_errc::refused, "sending to " + url.origin() + ": " + ec.message());
    }
    new_parser();
    buffer.clear();
    interim = 0;
    if (reads.enabled()) {
      beast::error_code early;
      if (reads.take_early(early)) read_answer(early);  // it was readable before the write ended
      return;                                           // else the armed wait reads the answer
    }
    async_read_answer();
  }

  // A parser for the next answer on this connection, with the client's limits.
  void new_parser() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(client.opts.header_limit));
    parser->read_limit(client.opts.read_limit);
    parser->excerpt_limit(client.opts.excerpt_limit);
  }

  void async_read_answer() {
    with_stream([&](auto& s) {
      bhttp::async_read(s, buffer, *parser, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->on_read(ec, n);
      });
    });
  }

  // --- answers on readiness (plain connections; outbound_read.hpp) ----------------------
  void arm() { reads.arm(); }

  // readiness_set: an edge of the socket (any thread running the pass).
  void on_ready(std::uint32_t events) override {
    if (direct) return readiness(events);
    net::post(exec, [self = shared_from_this(), events] { self->readiness(events); });
  }
  void readiness(std::uint32_t events) {
    reads.note_events(events);
    if (reads.armed()) on_readable({});
  }

  void on_readable(beast::error_code ec) {
    reads.fired();
    if (!owner) return;  // closed and counted out
    if (current) {
      if (parser) return read_answer(ec);  // written: the answer (or the close) came
      return reads.note_early(ec);         // still writing: on_write reads
    }
    if (dead || !is_idle) return;
    if (!idle_connection_ended(plain->socket(), ec)) return arm();  // nothing there: wait again
    owner->release(shared_from_this(), false);
  }

  void read_answer(beast::error_code ec) {
    if (!ec && dead) ec = net::error::operation_aborted;
    if (!ec) {
      arm();  // first: a readiness during or after the read still ends a wait
      if (!reads.read(plain->socket(), buffer, *parser, ec)) return;  // the rest is to come
    }
    on_read(ec, 0);
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (timed_out) ec = beast::error::timeout;
    const bool truncated = ec == bhttp::error::body_limit && parser->is_header_done();
    if (ec && !truncated) {
      auto f = read_failure(ec, parser->got_some() || interim > 0, served > 0 && !current->retried,
                            url.origin(), current->req.timeout);
      if (f.retry_fresh) return retry_fresh();
      return fail(f.kind, std::move(f.message));
    }
    // An interim answer (1xx but 101: 100 Continue, 103 Early Hints) comes before the final one
    // on the same connection (RFC 9110 15.2): skip it and read on, under the same deadline.
    // Taken as final, it was recorded as the attempt's status, and the final answer was left to
    // be read as the next request's.
    // 101 Switching Protocols: hooklog asks for no upgrade, so the connection now speaks something
    // else; recorded as a protocol failure and closed (before, kept for the next request).
    if (!truncated && parser->status() == 101)
      return fail(delivery_errc::protocol, "reading the answer of " + url.origin() +
                                               ": 101 Switching Protocols to a request that asked "
                                               "for no upgrade");
    if (!truncated && parser->status() >= 100 && parser->status() < 200) {
      if (++interim > kMaxInterimAnswers)
        return fail(delivery_errc::protocol, "reading the answer of " + url.origin() + ": more than " +
                                                 std::to_string(kMaxInterimAnswers) +
                                                 " interim (1xx) answers");
      new_parser();
      if (reads.enabled()) return read_answer({});  // parses what is buffered, then the socket
      return async_read_answer();
    }
    bool reusable = false;
    auto o = answer_outcome(*parser, buffer, client.opts.excerpt_limit, truncated, reusable);
    reusable = reusable && !reads.more_after();  // bytes wait behind the answer (outbound_read.hpp)
    o.latency_us = micros_since(current->started);
    o.reused_connection = served > 0;
    o.remote = remote;
    ++served;
    finish(std::move(o), reusable);
  }

  void retry_fresh() {
    auto j = std::move(current);
    j->retried = true;
    close();
    auto p = owner;
    p->retry_first(std::move(j), shared_from_this());  // first in line for the slot this frees
  }

  void fail(delivery_errc kind, std::string message, std::string detail = {}) {
    if (owner->closed()) kind = delivery_errc::shutdown;
    auto o = failed_outcome(kind, std::move(message), std::move(detail));
    o.latency_us = current ? micros_since(current->started) : 0;
    o.reused_connection = served > 0;
    o.remote = remote;
    client.n_failures.fetch_add(1, std::memory_order_relaxed);
    finish(std::move(o), false);
  }

  void finish(outbound_outcome&& o, bool reusable) {
    auto j = std::move(current);
    head.clear();
    parser.reset();
    if (!reusable || owner->closed()) close();
    auto p = owner;
    auto self = shared_from_this();
    if (j && client.opts.recycle) client.opts.recycle(std::move(j->req));
    if (j && j->done) {
      auto done = std::move(j->done);
      done(std::move(o));
    }
    p->release(std::move(self), reusable && !p->closed());
  }

  // --- idle --------------------------------------------------------------------------
  // Idle until reused or `idle_timeout` passed (then on_due() closes it through release()).
  void park(std::chrono::milliseconds idle_timeout) override {
    is_idle = true;
    set_due(steady::now() + idle_timeout);
  }
};

std::shared_ptr<pool_connection> outbound_impl::open_connection(std::shared_ptr<ob_pool> p, const parsed_url& url) {
  return std::make_shared<ob_connection>(*this, std::move(p), url);
}

void outbound_impl::stop() {
  std::lock_guard stop_lk(stop_mu);
  if (joined) return;
  stopped = true;
  lookups.stop();  // no lookup answer is posted from here on
  for (auto& p : pools.all()) net::post(p->exec, [p] { p->close_all(); });
  work.reset();
  // Busy connections: their sockets are closed on their executors so their handlers run now.
  // (Handlers of a closed ob_pool close their ob_connection and answer their request.)
  auto deadline = steady::now() + std::chrono::seconds(2);
  while (n_open.load() > 0 && steady::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ioc.stop();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  // Handlers ioc.stop() left queued (e.g. the cancelled wait of a connection counted out just
  // before) hold their connection, whose pool holds this client: run them here, or that cycle
  // keeps the client, its io_context and its blocks alive for good.
  ioc.restart();
  ioc.poll();
  joined = true;
  targets.clear();
  pools.clear();
}

outbound_client::outbound_client(outbound_options options) : impl_(std::make_shared<outbound_impl>(std::move(options))) {
  impl_->start();
}

outbound_client::~outbound_client() { stop(); }

void outbound_client::stop() { impl_->stop(); }

const outbound_options& outbound_client::options() const { return impl_->opts; }

outbound_stats outbound_client::stats() const {
  outbound_stats s;
  s.requests = impl_->n_requests.load();
  s.connections_opened = impl_->n_opened.load();
  s.open_connections = impl_->n_open.load();
  s.reused = impl_->n_reused.load();
  s.failures = impl_->n_failures.load();
  return s;
}

// Checks a request and finds its pool (cached per pool key and URL); answers `done` itself and
// returns nothing when the request is not sent.
job_ptr outbound_impl::prepare(outbound_request&& request, outbound_client::callback&& done,
                               std::shared_ptr<ob_pool>& p) {
  n_requests.fetch_add(1, std::memory_order_relaxed);
  if (stopped) {
    done(failed_outcome(delivery_errc::shutdown, "outbound client stopped"));
    return nullptr;
  }
  if (auto why = unsafe_request(request, opts); !why.empty()) {
    n_failures.fetch_add(1, std::memory_order_relaxed);
    done(failed_outcome(delivery_errc::invalid_request, "not sent: " + why));
    return nullptr;
  }
  auto j = std::allocate_shared<outbound_job>(block_allocator<outbound_job>(job_blocks));
  target_cache::entry known;
  if (targets.find(request.pool_key, request.url, known)) {
    j->url = std::move(known.url);
    p = std::move(known.pool);
  } else {
    auto u = check_url(request.url, opts.allow_private_targets);
    if (!u) {
      auto kind = static_cast<delivery_errc>(u.code().value());
      if (kind == delivery_errc::ssrf)
        done(failed_outcome(kind, std::string(kTargetNotAllowed), u.err().message));
      else
        done(failed_outcome(kind, u.err().message));
      return nullptr;
    }
    j->url = make_url_info(std::move(*u));
    p = pools.find_or_make(j->url->url, request.pool_key);
    targets.insert(request.pool_key, request.url, {j->url, p});
  }
  j->req = std::move(request);
  j->done = std::move(done);
  return j;
}

void outbound_client::deliver(outbound_request request, callback done) {
  std::shared_ptr<ob_pool> p;
  auto j = impl_->prepare(std::move(request), std::move(done), p);
  if (j) net::post(p->exec, [p, j]() mutable { p->submit(std::move(j)); });
}

void outbound_client::deliver(std::vector<delivery>&& batch) {
  // One post per pool (a round usually starts requests of few pools), in request order.
  std::vector<std::pair<std::shared_ptr<ob_pool>, std::vector<job_ptr>>> per_pool;
  for (auto& d : batch) {
    std::shared_ptr<ob_pool> p;
    auto j = impl_->prepare(std::move(d.request), std::move(d.done), p);
    if (!j) continue;
    auto it = std::find_if(per_pool.begin(), per_pool.end(), [&](const auto& e) { return e.first == p; });
    if (it == per_pool.end()) it = per_pool.insert(per_pool.end(), {std::move(p), {}});
    it->second.push_back(std::move(j));
  }
  for (auto& [p, jobs] : per_pool)
    net::post(p->exec, [p = p, jobs = std::move(jobs)]() mutable { p->submit(std::move(jobs)); });
}

void outbound_client::post(std::function<void()> fn) {
  if (impl_->stopped) return;
  net::post(impl_->ioc, std::move(fn));
}

}  // namespace hooklog::http
