#pragma once
// Path matching for the API router (api.cpp): pure functions, no Beast/Asio, so the
// router's segment matching can be unit-tested and fuzzed on its own.
//
// Thread-safety: pure functions.
#include <string>
#include <string_view>
#include <vector>

#include "http/delivery/message.hpp"

namespace hooklog::http {

// Splits a path into its non-empty segments: "/v1//events/" -> {"v1", "events"}.
// The views point into `path`.
inline std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t j = path.find('/', i);
    out.push_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

// Matches `segments` against `pattern` (segments; "{}" is a parameter); fills the
// percent-decoded parameters. A parameter that decodes to "" does not match.
// `want` is the pattern already split (split_path(pattern)): the router splits its table once,
// not once per route per request.
inline bool match_route(const std::vector<std::string_view>& want,
                        const std::vector<std::string_view>& segments,
                        std::vector<std::string>& params) {
  if (want.size() != segments.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{}") {
      params.push_back(url_decode(segments[i]));
      if (params.back().empty()) return false;
    } else if (want[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

inline bool match_route(std::string_view pattern, const std::vector<std::string_view>& segments,
                        std::vector<std::string>& params) {
  return match_route(split_path(pattern), segments, params);
}

}  // namespace hooklog::http
