#pragma once
// Error codes of outbound delivery (URL policy, connection, TLS, HTTP exchange).
// The attempt record names the failure with delivery_errc_name() ("timeout", "refused", ...)
// followed by a human message.
#include <string>
#include <string_view>
#include <system_error>

#include "engine/result.hpp"

namespace hooklog::http {

enum class delivery_errc {
  success = 0,
  bad_url,      // not an absolute http(s) URL we accept
  ssrf,         // the target is (or resolves to) an address the policy refuses
  dns,          // the host name does not resolve
  refused,      // connection refused / unreachable / reset before any response
  timeout,      // the exchange did not complete within its timeout
  tls,          // handshake or certificate verification failed
  protocol,     // the peer answered something that is not valid HTTP/1.1
  redirect,     // a 3xx answer (redirects are never followed)
  status,       // a non-2xx status (the status itself says which)
  shutdown,     // the client was stopped before the request completed
  invalid_request,  // not sent: the endpoint's settings cannot make a valid, signed request
                    // (a control character in a header value, a secret that does not decode)
};

const std::error_category& delivery_category() noexcept;
inline std::error_code make_error_code(delivery_errc e) noexcept {
  return {static_cast<int>(e), delivery_category()};
}
inline error make_error(delivery_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}
// "bad_url", "ssrf", "dns", "refused", "timeout", "tls", "protocol", "redirect", "status",
// "shutdown", "invalid_request".
std::string_view delivery_errc_name(delivery_errc e) noexcept;

}  // namespace hooklog::http

template <>
struct std::is_error_code_enum<hooklog::http::delivery_errc> : std::true_type {};
