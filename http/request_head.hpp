#pragma once
// Checks on a request's raw head (request line and header fields, up to the empty line) where
// Beast's parser is lenient, made by the server before it hands the head to Beast:
//   * obs-fold (a field value continued on a line that starts with SP or HTAB) is refused with
//     400: RFC 9112 section 5.2 lets a server reject it, and a folded line that one party
//     joins and another splits is a smuggling vector;
//   * Transfer-Encoding other than exactly one "chunked" (any case) is refused with 400, and so
//     is Transfer-Encoding together with Content-Length (RFC 9112 sections 6.1 and 6.3): a
//     request whose framing two parties could read differently is never served;
//   * Idempotency-Key given more than once is refused with 400: the server read the first, a
//     proxy or a retrying client could go by another.
// Refusals are JSON errors (http/json_error.hpp) with code "bad_request" and details.header
// naming the field at fault. Pure functions; thread-safe.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/delivery/message.hpp"

namespace hooklog::http {

// Where the head in `buf` ends: the index just past its empty line (CRLF CRLF, or a bare LF
// LF, which Beast then refuses), or npos when the head is not complete yet.
std::size_t find_head_end(std::string_view buf) noexcept;

// `head` is a complete head as delimited by find_head_end. nullopt = nothing to refuse here
// (Beast still parses and may refuse it for other reasons).
std::optional<http_response> check_request_head(std::string_view head);

// "16777216 bytes (16 MiB)", "1000 bytes": a limit as said in error messages.
std::string describe_size(std::size_t bytes);

}  // namespace hooklog::http
