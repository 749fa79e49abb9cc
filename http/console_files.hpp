#pragma once
// The audit console's static files (http/console/ in the repository: index.html, JavaScript
// modules, CSS), read into memory once at start and served by the API router at /console/
// (api_console.cpp). Nothing is read from disk per request, so no request path can reach
// the file system: a file is found by its exact name in the loaded set, or not at all.
//
// load(dir) takes the regular files directly in `dir` (subfolders are ignored) whose names are
// made of [A-Za-z0-9._-], do not start with '.', and end in a known extension (.html .js .css
// .svg .png .ico .json .txt); anything else there is skipped. At most kMaxFiles files of
// kMaxFileBytes each and kMaxTotalBytes in all: more is an error naming the file, as is a
// directory that cannot be read or holds no index.html.
//
// Thread-safety: immutable after load; find() from any thread.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace hooklog::http {

struct console_file {
  std::string body;
  std::string content_type;  // "text/javascript; charset=utf-8", ...
  std::string etag;          // strong, quoted: "\"<16 hex digits>\""
};

class console_files {
 public:
  static constexpr std::size_t kMaxFiles = 64;
  static constexpr std::size_t kMaxFileBytes = 1024 * 1024;
  static constexpr std::size_t kMaxTotalBytes = 4 * 1024 * 1024;

  static result<console_files> load(const std::string& dir);

  // The file called `name` (one path segment, already percent-decoded), or null.
  const console_file* find(std::string_view name) const;
  std::size_t size() const { return files_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, console_file, std::less<>> files_;
};

// The Content-Type served for a file name by its extension; "" for an extension not served.
std::string_view console_content_type(std::string_view name);

// The headers of every console answer (files, redirects, 304, 404): a strict
// Content-Security-Policy (no inline script or style, nothing from another origin, no
// framing), X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options.
inline constexpr const char* kConsoleCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

}  // namespace hooklog::http
