// Fuzz target: the API router's path matching (http/route_match.hpp). The input is a
// request path, matched against every route pattern of http/api.cpp; with a '\n' in it,
// the part before is used as an extra pattern. Oracles: segments are non-empty and hold no
// '/', a match yields one non-empty parameter per "{}".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/route_match.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {
// A copy of the patterns of kRoutes in http/api.cpp.
const char* const kPatterns[] = {
    "/healthz", "/readyz", "/metrics", "/v1/sources/{}/events", "/v1/sources/{}/events:batch",
    "/v1/event-types", "/v1/events", "/v1/events/{}", "/v1/entities/{}/{}/timeline",
    "/v1/attempts", "/v1/audit/verify", "/v1/audit/head", "/v1/endpoints", "/v1/endpoints/{}",
    "/v1/endpoints/{}/rotate-secret", "/v1/endpoints/{}/disable", "/v1/endpoints/{}/enable",
    "/v1/keys", "/v1/keys/{}",
};

void check(std::string_view pattern, const std::vector<std::string_view>& segments) {
  std::vector<std::string> params;
  if (!hooklog::http::match_route(pattern, segments, params)) return;
  std::size_t holes = 0;
  for (auto s : hooklog::http::split_path(pattern)) holes += s == "{}";
  FUZZ_CHECK(params.size() == holes);
  for (const auto& p : params) FUZZ_CHECK(!p.empty());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  std::string_view extra;
  if (auto nl = path.find('\n'); nl != std::string_view::npos) {
    extra = path.substr(0, nl);
    path = path.substr(nl + 1);
  }
  const auto segments = hooklog::http::split_path(path);
  std::size_t total = 0;
  for (auto s : segments) {
    FUZZ_CHECK(!s.empty());
    FUZZ_CHECK(s.find('/') == std::string_view::npos);
    FUZZ_CHECK(s.data() >= path.data() && s.data() + s.size() <= path.data() + path.size());
    total += s.size();
  }
  FUZZ_CHECK(total <= path.size());
  for (const char* p : kPatterns) check(p, segments);
  if (!extra.empty()) check(extra, segments);
  // Percent-decoding never grows a string.
  FUZZ_CHECK(hooklog::http::url_decode(path).size() <= path.size());
  FUZZ_CHECK(hooklog::http::url_decode(path, true).size() <= path.size());
  return 0;
}
