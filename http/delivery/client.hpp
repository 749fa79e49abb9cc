#pragma once
// A small synchronous HTTP/1.1 client for tests, tools and the CLI.
//
// One connection, kept alive between requests and reopened when the server closed it
// (a request on a reused connection that fails before any response byte is retried once on a
// fresh connection). Each request has one deadline covering connect, write and read.
// Optional TLS: SNI is set, the peer certificate and host name are verified (system CAs and/or
// `ca_file`).
//
// Thread-safety: none; use one client per thread. Lifetime: owns its own io_context.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "engine/result.hpp"
#include "http/delivery/message.hpp"

namespace hooklog::http {

struct client_options {
  std::chrono::milliseconds timeout{30000};  // per request
  std::size_t body_limit = 256u * 1024 * 1024;
  bool tls = false;
  std::string ca_file;       // extra trust anchors (PEM), e.g. a test's self-signed cert
  bool verify_peer = true;   // false only for ad-hoc debugging
};

struct client_response {
  unsigned status = 0;
  header_list headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

class http_client {
 public:
  http_client(std::string host, unsigned short port, client_options options = {});
  ~http_client();
  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;

  // Errors: connect/TLS/IO failures and timeouts (the message names the step and the peer).
  // Any HTTP status is a successful result.
  result<client_response> request(std::string_view method, std::string_view target,
                                  std::string_view body = {}, const header_list& headers = {});
  result<client_response> get(std::string_view target, const header_list& headers = {}) {
    return request("GET", target, {}, headers);
  }
  result<client_response> post(std::string_view target, std::string_view body,
                               const header_list& headers = {}) {
    return request("POST", target, body, headers);
  }

  bool connected() const;
  void close();
  // How many TCP connections this client opened so far (tests check keep-alive reuse).
  std::size_t connections_opened() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hooklog::http
