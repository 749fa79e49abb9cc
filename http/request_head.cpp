#include "http/request_head.hpp"

#include <nlohmann/json.hpp>

#include "http/json_error.hpp"

namespace hooklog::http {

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

http_response refuse(std::string_view header, const std::string& message) {
  return json_error(400, "bad_request", message, {{"header", header}});
}

}  // namespace

std::size_t find_head_end(std::string_view buf) noexcept {
  for (std::size_t i = buf.find('\n'); i != std::string_view::npos; i = buf.find('\n', i + 1)) {
    if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

std::optional<http_response> check_request_head(std::string_view head) {
  // Field lines: everything after the request line, each ending in LF (CR stripped).
  std::size_t pos = head.find('\n');
  if (pos == std::string_view::npos) return std::nullopt;
  ++pos;
  int te_lines = 0, key_lines = 0;
  std::string te_value;
  bool content_length = false;
  std::string_view previous;  // name of the field line before, for the obs-fold message
  while (pos < head.size()) {
    std::size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the empty line that ends the head
    if (line.front() == ' ' || line.front() == '\t') {
      std::string what = "header field ";
      if (previous.empty()) {
        what += "line";
      } else {
        what += '\'';
        what += previous;
        what += '\'';
      }
      what +=
          " is continued on the next line (obs-fold), which is not accepted: send each field "
          "on one line (RFC 9112 section 5.2)";
      return refuse(previous, what);
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      previous = {};
      continue;  // Beast refuses it
    }
    const std::string_view name = line.substr(0, colon);
    previous = name;
    // Only names of 14 and 17 characters can be Content-Length or Transfer-Encoding.
    if (name.size() == 17 && iequals(name, "transfer-encoding")) {
      ++te_lines;
      te_value = std::string(trim_ows(line.substr(colon + 1)));
    } else if (name.size() == 14 && iequals(name, "content-length")) {
      content_length = true;
    } else if (name.size() == 15 && iequals(name, "idempotency-key") && ++key_lines == 2) {
      return refuse("Idempotency-Key",
                    "Idempotency-Key appears more than once: a request carries one key (which "
                    "one a repeat is matched by would depend on who reads the header)");
    }
  }
  if (te_lines == 0) return std::nullopt;
  if (te_lines > 1)
    return refuse("Transfer-Encoding",
                  "Transfer-Encoding appears more than once: only a single 'chunked' is "
                  "accepted (RFC 9112 section 6.1)");
  if (!iequals(te_value, "chunked"))
    return refuse("Transfer-Encoding",
                  "Transfer-Encoding '" + te_value +
                      "' is not supported: only 'chunked' is accepted (RFC 9112 section 6.1)");
  if (content_length)
    return refuse("Transfer-Encoding",
                  "a request may not carry both Transfer-Encoding and Content-Length "
                  "(RFC 9112 section 6.1): send one of them");
  return std::nullopt;
}

std::string describe_size(std::size_t bytes) {
  std::string out = std::to_string(bytes) + " bytes";
  constexpr std::size_t kKiB = 1024, kMiB = 1024 * 1024, kGiB = kMiB * 1024;
  if (bytes >= kGiB && bytes % kGiB == 0)
    return out + " (" + std::to_string(bytes / kGiB) + " GiB)";
  if (bytes >= kMiB && bytes % kMiB == 0)
    return out + " (" + std::to_string(bytes / kMiB) + " MiB)";
  if (bytes >= kKiB && bytes % kKiB == 0)
    return out + " (" + std::to_string(bytes / kKiB) + " KiB)";
  return out;
}

}  // namespace hooklog::http
