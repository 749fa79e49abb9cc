#include "http/delivery/client.hpp"

#include "http/delivery/tls_peer.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace hooklog::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

struct http_client::impl {
  std::string host;
  unsigned short port;
  client_options opts;
  net::io_context ioc;
  std::optional<ssl::context> ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::size_t opened = 0;

  bool is_open() const { return opts.tls ? tls.has_value() : plain.has_value(); }
  beast::tcp_stream& lowest() { return opts.tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Runs the io_context until the started operation completes.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result;
    bool done = false;
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc.restart();
    ioc.run();
    if (!done) result = net::error::operation_aborted;
    return result;
  }

  error fail(const char* step, beast::error_code ec) {
    close();
    std::string peer = host + ":" + std::to_string(port);
    return error{std::error_code(ec), std::string(step) + " " + peer + ": " + ec.message()};
  }

  void close() {
    beast::error_code ignored;
    if (tls) beast::get_lowest_layer(*tls).socket().close(ignored);
    if (plain) plain->socket().close(ignored);
    tls.reset();
    plain.reset();
    buffer.clear();
  }

  result<void> connect() {
    close();
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return fail("resolve", ec);
    if (opts.tls) {
      if (!ctx) {
        ctx.emplace(ssl::context::tls_client);
        ctx->set_default_verify_paths(ec);
        if (!opts.ca_file.empty()) {
          ctx->load_verify_file(opts.ca_file, ec);
          if (ec) return fail("load CA file for", ec);
        }
        ctx->set_verify_mode(opts.verify_peer ? ssl::verify_peer : ssl::verify_none);
      }
      tls.emplace(ioc, *ctx);
      if (!expect_peer(tls->native_handle(), host))
        return fail("set the expected peer name for", beast::error_code(static_cast<int>(::ERR_get_error()),
                                                                        net::error::get_ssl_category()));
    } else {
      plain.emplace(ioc);
    }
    ++opened;
    lowest().expires_after(opts.timeout);
    ec = run([&](auto cb) { lowest().async_connect(endpoints, cb); });
    if (ec) return fail("connect", ec);
    beast::error_code nodelay_ec;
    lowest().socket().set_option(tcp::no_delay(true), nodelay_ec);
    if (opts.tls) {
      ec = run([&](auto cb) { tls->async_handshake(ssl::stream_base::client, cb); });
      if (ec) return fail("TLS handshake with", ec);
    }
    return {};
  }

  // One exchange on the open connection. `received_any` tells whether the failure happened
  // after response bytes arrived (then it must not be retried).
  result<client_response> exchange(bhttp::request<bhttp::string_body>& req, bool& received_any) {
    received_any = false;
    lowest().expires_after(opts.timeout);
    beast::error_code ec = run([&](auto cb) {
      if (opts.tls)
        bhttp::async_write(*tls, req, cb);
      else
        bhttp::async_write(*plain, req, cb);
    });
    if (ec) return fail("write to", ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(opts.body_limit);
    parser.header_limit(64 * 1024);
    parser.skip(req.method() == bhttp::verb::head);  // an answer to HEAD has no body
    std::size_t before = buffer.size();
    ec = run([&](auto cb) {
      if (opts.tls)
        bhttp::async_read(*tls, buffer, parser, cb);
      else
        bhttp::async_read(*plain, buffer, parser, cb);
    });
    if (ec) {
      received_any = parser.got_some() || buffer.size() > before;
      return fail("read from", ec);
    }
    auto res = parser.release();
    client_response out;
    out.status = res.result_int();
    for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return out;
  }
};

http_client::http_client(std::string host, unsigned short port, client_options options)
    : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->opts = std::move(options);
}
http_client::~http_client() = default;
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;

bool http_client::connected() const { return impl_->is_open(); }
void http_client::close() { impl_->close(); }
std::size_t http_client::connections_opened() const { return impl_->opened; }

result<client_response> http_client::request(std::string_view method, std::string_view target,
                                             std::string_view body, const header_list& headers) {
  auto& m = *impl_;
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  bool v6 = m.host.find(':') != std::string::npos;
  req.set(bhttp::field::host, (v6 ? "[" + m.host + "]" : m.host) + ":" + std::to_string(m.port));
  req.set(bhttp::field::user_agent, "hooklog-client");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = m.is_open();
    if (!reused) {
      if (auto r = m.connect(); !r) return r.err();
    }
    bool received_any = false;
    auto r = m.exchange(req, received_any);
    if (r || !reused || received_any) return r;
    // A kept-alive connection the server had already closed: retry once on a fresh one.
  }
  return error{std::make_error_code(std::errc::connection_aborted), "unreachable"};
}

}  // namespace hooklog::http
