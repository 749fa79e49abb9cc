#pragma once
// Internal to the HTTP server (http/server_session.hpp) and its tests: the bytes of a response's
// status line and header block.
//
// The server used to build every answer as a Beast message and write it with Beast's serializer
// (about 19,000 instructions per answer, most of it buffer-sequence and serializer machinery).
// response_head() writes the same head into one string, so that the answer goes out as two
// buffers (head, body) in one gathered write. beast_head() is the old way, kept as the reference
// (the tests compare the two byte for byte) and as the fallback for the rare answers whose head
// Beast would rearrange (see response_head), and for streamed answers.
//
// Thread-safety: pure functions.
#include <boost/beast/http.hpp>
#include <string>
#include <string_view>

#include "http/delivery/message.hpp"

namespace hooklog::http {

// What the session knows of how the answer is framed.
struct response_framing {
  unsigned version = 11;         // the request's HTTP version (10, 11)
  bool keep_alive = true;        // false: "Connection: close" (HTTP/1.1)
  bool head = false;             // an answer to HEAD: Content-Length of the body, no body sent
  std::string_view server_name;  // "Server" header; empty = none
};

// The status line and headers of `r` up to and including the empty line, exactly as Beast's
// serializer writes the message that beast_head() builds (with prepare_payload(), or with
// content_length(r.body.size()) for HEAD): "HTTP/1.1 202 Accepted", Server, Content-Type, the
// answer's own headers in order (values trimmed of spaces and tabs, as Beast stores them), the
// Connection header Beast's keep_alive() sets, Content-Length.
// Appends them to `out` and returns true. Returns false (`out` unchanged) where Beast would write
// something else than that simple sequence: an answer header named like an earlier one (Beast
// groups same-named fields), or named Connection, Content-Length or Transfer-Encoding (set by
// the server), or a non-empty body on a 1xx, 204 or 304 answer (Beast refuses it). The caller
// then uses beast_response().
bool response_head(const http_response& r, const response_framing& f, std::string& out);

// The answer as a Beast message: status, Server, Content-Type, the answer's headers, keep-alive
// (the server's way before response_head, and still that of streamed answers' heads).
template <class Message>
void beast_head(Message& m, unsigned status, const std::string& content_type,
                const header_list& headers, const response_framing& f) {
  namespace bhttp = boost::beast::http;
  m.version(f.version);
  m.result(status);
  if (!f.server_name.empty()) m.set(bhttp::field::server, f.server_name);
  if (!content_type.empty()) m.set(bhttp::field::content_type, content_type);
  for (const auto& [k, v] : headers) m.insert(k, v);
  m.keep_alive(f.keep_alive);
}

// A whole string-body answer as Beast's serializer frames it (beast_head, then the body with
// prepare_payload(), or only content_length() for HEAD). Throws std::invalid_argument where
// prepare_payload() does (a body on 1xx/204/304).
inline boost::beast::http::response<boost::beast::http::string_body> beast_response(
    http_response r, const response_framing& f) {
  boost::beast::http::response<boost::beast::http::string_body> m;
  beast_head(m, r.status, r.content_type, r.headers, f);
  if (f.head) {
    m.content_length(r.body.size());
  } else {
    m.body() = std::move(r.body);
    m.prepare_payload();
  }
  return m;
}

}  // namespace hooklog::http
