#pragma once
// What the outbound client writes on the wire for a request (outbound.hpp), and the check that
// comes first.
//
// unsafe_request(): why the request cannot be written as given (request smuggling: a method or
// header name that is not an RFC 9110 token, a control character in a header value or the user
// agent; the message names the header, never its value), or "" when it can.
// request_head(): the request line and header block, as Beast's serializer would write them for
// this request (Host first, the caller's headers in order (Host, Content-Length,
// Transfer-Encoding and Connection given by the caller are dropped), User-Agent unless given,
// Content-Length when there is a body or the method expects one), in one string: the request is
// then two buffers (this and the body) for one gathered write. Only for requests
// unsafe_request() accepted.
#include <string>
#include <string_view>

#include "http/delivery/outbound.hpp"

namespace hooklog::http {

std::string unsafe_request(const outbound_request& r, const outbound_options& o);
std::string request_head(const outbound_request& r, std::string_view target,
                         const std::string& host, const std::string& user_agent);
// The same bytes appended to `out` (the outbound client reuses one buffer per connection).
void append_request_head(std::string& out, const outbound_request& r, std::string_view target,
                         const std::string& host, const std::string& user_agent);

}  // namespace hooklog::http
