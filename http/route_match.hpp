#pragma once
// Path matching for the API router (api.cpp): pure functions, no Beast/Asio, so the
// router's segment matching can be unit-tested and fuzzed on its own.
//
// Thread-safety: pure functions.
#include <array>
#include <span>
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

// A request path's segments in an array of its own (split_path without the vector the router
// allocated per request): `over` when the path has more than kMaxSegments segments, which no
// route has; `segments` is then empty.
struct path_segments {
  static constexpr std::size_t kMaxSegments = 8;
  std::array<std::string_view, kMaxSegments> at{};
  std::size_t size = 0;
  bool over = false;
  std::span<const std::string_view> segments() const { return {at.data(), size}; }
};

// The segments of `path` as split_path gives them, into a path_segments.
inline path_segments split_path_segments(std::string_view path) {
  path_segments out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    if (out.size == path_segments::kMaxSegments) {
      out.over = true;
      out.size = 0;
      break;
    }
    const std::size_t j = path.find('/', i);
    out.at[out.size++] =
        path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

// Matches `segments` against `pattern` (segments; "{}" is a parameter); fills the
// percent-decoded parameters. A parameter that decodes to "" does not match.
// `want` is the pattern already split (split_path(pattern)): the router splits its table once,
// not once per route per request.
inline bool match_route(std::span<const std::string_view> want,
                        std::span<const std::string_view> segments,
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

inline bool match_route(std::string_view pattern, std::span<const std::string_view> segments,
                        std::vector<std::string>& params) {
  return match_route(split_path(pattern), segments, params);
}

}  // namespace hooklog::http
