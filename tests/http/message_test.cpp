#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/delivery/message.hpp"
#include "http/json_error.hpp"

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
