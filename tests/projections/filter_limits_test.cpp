// Filter values nest at most payload_filter::kMaxValueDepth levels, also in stored records: a
// log holding a filter nested 100,000 deep (written before the bound) is applied and rebuilt
// without recursing into it; that endpoint is skipped, the others are served.
#include <catch2/catch.hpp>

#include "engine/json_text.hpp"
#include "proj_test_util.hpp"
#include "projections/filter.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string filter_text(const std::string& value) {
  return R"({"all":[{"path":"/a","op":"eq","value":)" + value + "}]}";
}

// An endpoint_created record whose body is `filter` as raw text (nlohmann's dump would recurse).
record deep_endpoint(const std::string& id, const std::string& filter) {
  record r = create_endpoint("t1", id, {"*"});
  r.body.pop_back();  // the closing brace
  r.body += ",\"filter\":" + filter + "}";
  return r;
}

}  // namespace

TEST_CASE("json_depth counts nesting without recursion and stops past the bound") {
  CHECK(json_depth(json(1), 5) == 0);
  CHECK(json_depth(json::array(), 5) == 1);
  CHECK(json_depth(json::parse(R"({"a":[1,{"b":[]}],"c":2})"), 5) == 4);
  auto deep = parse_json_text(nested(100'000));
  REQUIRE(deep);
  CHECK(json_depth(*deep, 32) == 33);
}

TEST_CASE("a filter value may nest 32 levels but not 33") {
  auto ok = projections::payload_filter::parse(json::parse(filter_text(nested(32))));
  CHECK(ok);
  auto bad = projections::payload_filter::parse(json::parse(filter_text(nested(33))));
  REQUIRE(!bad);
  CHECK(bad.err().message ==
        "filter.all[0].value: nests deeper than 32 levels (the limit for filter values)");
}

TEST_CASE(
    "a stored filter nested 100000 deep is skipped on apply and on rebuild and other endpoints "
    "stay") {
  fixture f;
  f.append(create_endpoint("t1", "ep-good", {"*"}));
  f.append(deep_endpoint("ep-deep", filter_text(nested(100'000))));
  record update = deep_endpoint("ep-good", filter_text(nested(100'000)));
  update.kind = record_kind::endpoint_updated;
  f.append(std::move(update));
  f.sync();
  auto check = [&](std::uint64_t skipped) {
    auto t = f.read();
    auto deep = f.runner->subs().get(t, "ep-deep");
    REQUIRE(deep);
    CHECK(!*deep);
    auto good = f.runner->subs().get(t, "ep-good");
    REQUIRE(good);
    REQUIRE(*good);
    CHECK((*good)->filter.empty());  // the deep update was not applied
    CHECK(f.runner->subs().skipped() == skipped);
  };
  check(2);
  REQUIRE(f.runner->rebuild("subscriptions"));
  check(4);  // the two bad records, skipped again (the count is since the start)
}
