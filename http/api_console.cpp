// The audit console's static files: GET /console/ (index.html) and GET /console/{file}, from
// the set loaded at start (console_files.hpp). No key: the files hold no data; the page calls
// the /v1 API with the key the user types. Every answer carries the console's security headers
// (a strict Content-Security-Policy, nosniff, no referrer, no framing), ETag and
// Cache-Control: no-cache (the browser revalidates; If-None-Match answers 304).
#include "http/api_internal.hpp"
#include "http/console_files.hpp"

namespace hooklog::http::detail {

namespace {

void add_console_headers(http_response& r) {
  r.headers.emplace_back("Content-Security-Policy", kConsoleCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

void console_not_found(const call_ptr& c, std::string message) {
  auto r = json_error(404, "not_found", message);
  add_console_headers(r);
  c->reply(std::move(r));
}

// True when If-None-Match lists `etag` (or is "*"); weak comparison, as RFC 9110 13.1.2 asks.
bool not_modified(const http_request& req, const std::string& etag) {
  const auto h = req.header("if-none-match");
  if (!h) return false;
  std::string_view rest = *h;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view tag = rest.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

void serve(const call_ptr& c, std::string_view name) {
  const console_files* files = c->ctx.console;
  if (!files)
    return console_not_found(c,
                             "the console is not served here (hooklog serve --no-console, "
                             "or its files were not found at start)");
  const console_file* f = files->find(name);
  if (!f)
    return console_not_found(c, "the console has no file " + std::string(name).substr(0, 128));
  http_response r;
  if (not_modified(c->req, f->etag)) {
    r.status = 304;
    r.content_type.clear();
  } else {
    r.status = 200;
    r.content_type = f->content_type;
    r.body = f->body;
  }
  r.headers.emplace_back("ETag", f->etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  add_console_headers(r);
  c->reply(std::move(r));
}

}  // namespace

void serve_console_index(const call_ptr& c) {
  // The page's modules are relative URLs: /console (no slash) would resolve them against /.
  if (c->req.path.empty() || c->req.path.back() != '/') {
    http_response r{308, "text/plain; charset=utf-8", "the console is at /console/\n", {}};
    r.headers.emplace_back("Location", "/console/");
    add_console_headers(r);
    return c->reply(std::move(r));
  }
  serve(c, "index.html");
}

void serve_console_file(const call_ptr& c) {
  serve(c, c->params.at(0));
}

}  // namespace hooklog::http::detail
