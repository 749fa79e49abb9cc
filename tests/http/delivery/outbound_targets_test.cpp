// The outbound client's target cache (http/delivery/outbound_targets.hpp): checked URLs kept per
// (pool key, URL text), bounded.
#include <catch2/catch.hpp>

#include "http/delivery/outbound_targets.hpp"

using namespace hooklog;

namespace {
std::shared_ptr<const http::url_info> info_of(const char* url) {
  auto u = http::check_url(url, true);
  REQUIRE(u);
  return http::make_url_info(std::move(*u));
}
}  // namespace

TEST_CASE("outbound targets: url_info keeps the checked URL and its Host header", "[outbound]") {
  auto a = info_of("http://Example.com:8080/hook?x=1#frag");
  CHECK(a->url.scheme == "http");
  CHECK(a->url.host == "example.com");
  CHECK(a->url.port == 8080);
  CHECK(a->url.target == "/hook?x=1");
  CHECK(a->host_header == "example.com:8080");
  auto b = info_of("https://[::1]/x");
  CHECK(b->host_header == "[::1]");
  CHECK(b->url.origin() == "https://[::1]:443");
}

TEST_CASE("outbound targets: kept per pool key and URL, cleared when full", "[outbound]") {
  http::target_cache cache(3);
  http::target_cache::entry out;
  CHECK_FALSE(cache.find("t1", "http://a.example/x", out));
  auto x = info_of("http://a.example/x");
  auto y = info_of("http://a.example/y");
  cache.insert("t1", "http://a.example/x", {x, nullptr});
  cache.insert("t2", "http://a.example/x", {y, nullptr});
  REQUIRE(cache.find("t1", "http://a.example/x", out));
  CHECK(out.url == x);  // the same shared url_info, not a copy
  REQUIRE(cache.find("t2", "http://a.example/x", out));
  CHECK(out.url == y);  // another tenant's key: its own entry
  CHECK_FALSE(cache.find("t1", "http://a.example/y", out));
  CHECK_FALSE(cache.find("t", "1http://a.example/x", out));  // the key separates the two parts
  cache.insert("t1", "http://a.example/x", {y, nullptr});  // replaced, not added
  CHECK(cache.size() == 2);
  REQUIRE(cache.find("t1", "http://a.example/x", out));
  CHECK(out.url == y);
  cache.insert("t3", "http://a.example/x", {x, nullptr});
  CHECK(cache.size() == 3);
  cache.insert("t4", "http://a.example/x", {x, nullptr});  // full: cleared first
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.find("t1", "http://a.example/x", out));
  REQUIRE(cache.find("t4", "http://a.example/x", out));
  CHECK(out.url == x);
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.find("t4", "http://a.example/x", out));
}
