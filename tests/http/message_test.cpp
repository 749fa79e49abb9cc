#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/delivery/message.hpp"
#include "http/json_error.hpp"
#include "http/route_match.hpp"

using namespace hooklog::http;

TEST_CASE("query parsing and url decoding", "[message]") {
  auto q = parse_query("a=1&b=x%20y&c&&d=a+b&e=%zz");
  REQUIRE(q.size() == 5);
  CHECK(q[0] == std::pair<std::string, std::string>{"a", "1"});
  CHECK(q[1].second == "x y");
  CHECK(q[2] == std::pair<std::string, std::string>{"c", ""});
  CHECK(q[3].second == "a b");
  CHECK(q[4].second == "%zz");
  CHECK(url_decode("a%2Fb+c") == "a/b+c");
  CHECK(url_decode("%4") == "%4");
}

TEST_CASE("case-insensitive header lookup", "[message]") {
  http_request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Thing", "1"}};
  CHECK(r.header("content-type") == std::optional<std::string_view>("application/json"));
  CHECK(r.header("X-THING") == std::optional<std::string_view>("1"));
  CHECK_FALSE(r.header("missing"));
}

TEST_CASE("request headers keep every field in order, past the inline places", "[message]") {
  request_headers h;
  h.reserve(64);  // smaller than the fields: the text grows
  for (int i = 0; i < 20; ++i)
    h.emplace_back("X-Field-" + std::to_string(i), std::string(static_cast<std::size_t>(i), 'v'));
  h.emplace_back("Authorization", "Bearer 0123456789abcdef0123456789abcdef");
  h.emplace_back("x-field-3", "second");  // a repeated name: the first value is found
  REQUIRE(h.size() == 22);
  int i = 0;
  for (const auto& [name, value] : h) {
    if (i < 20) {
      CHECK(name == "X-Field-" + std::to_string(i));
      CHECK(value.size() == static_cast<std::size_t>(i));
    }
    ++i;
  }
  CHECK(i == 22);
  CHECK(h[20].first == "Authorization");
  CHECK(h[21] == request_headers::value_type{"x-field-3", "second"});
  CHECK(find_header(h, "AUTHORIZATION") ==
        std::optional<std::string_view>("Bearer 0123456789abcdef0123456789abcdef"));
  CHECK(find_header(h, "x-FIELD-3") == std::optional<std::string_view>("vvv"));
  CHECK(find_header(h, "x-field-19") == std::optional<std::string_view>(std::string(19, 'v')));
  CHECK(find_header(h, "x-field-0") == std::optional<std::string_view>(""));
  CHECK_FALSE(find_header(h, "x-field"));
  // Only ASCII letters fold: '@'/'`', '['/'{' and bytes over 0x7F differ in case-free ways.
  request_headers odd{{"A@[\xC3\x84-Long-Name-Over-8", "1"}};
  CHECK(find_header(odd, "a@[\xC3\x84-long-name-over-8") == std::optional<std::string_view>("1"));
  CHECK_FALSE(find_header(odd, "a`[\xC3\x84-long-name-over-8"));
  CHECK_FALSE(find_header(odd, "a@{\xC3\x84-long-name-over-8"));
  CHECK_FALSE(find_header(odd, "a@[\xE3\x84-long-name-over-8"));
  CHECK_FALSE(find_header(odd, "a@[\xC3\x84-long-name-over-9"));
  http_request r;
  r.headers = std::move(h);
  CHECK(r.header("authorization")->substr(0, 7) == "Bearer ");
  r.headers.clear();
  CHECK(r.headers.empty());
  CHECK_FALSE(r.header("authorization"));
}

TEST_CASE("path segments in a fixed array match split_path", "[message]") {
  for (const std::string_view path :
       {"", "/", "/healthz", "/v1//sources/standard/events/", "a/b", "/1/2/3/4/5/6/7/8"}) {
    const auto fixed = split_path_segments(path);
    const auto split = split_path(path);
    CHECK_FALSE(fixed.over);
    CHECK(std::vector<std::string_view>(fixed.segments().begin(), fixed.segments().end()) ==
          split);
  }
  const auto over = split_path_segments("/1/2/3/4/5/6/7/8/9");
  CHECK(over.over);
  CHECK(over.segments().empty());
  std::vector<std::string> params;
  CHECK(match_route(split_path("/v1/sources/{}/events"),
                    split_path_segments("/v1/sources/my%20src/events").segments(), params));
  CHECK(params == std::vector<std::string>{"my src"});
}

TEST_CASE("json_error shape", "[message]") {
  auto r = json_error(413, "payload_too_large", "too big", {{"limit", 10}});
  CHECK(r.status == 413);
  CHECK(r.content_type == "application/json");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["error"]["code"] == "payload_too_large");
  CHECK(j["error"]["message"] == "too big");
  CHECK(j["error"]["details"]["limit"] == 10);
  auto plain = nlohmann::json::parse(json_error(400, "bad_request", "x").body);
  CHECK(plain["error"]["details"].is_object());
}
