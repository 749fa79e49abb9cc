#include "engine/time_util.hpp"

#include <catch2/catch.hpp>

using namespace hooklog;

TEST_CASE("RFC 3339 parsing and formatting", "[time]") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2024-02-10T00:37:34.351Z") == 1707525454351000);
  CHECK(parse_rfc3339("2024-02-10T01:37:34.351+01:00") == 1707525454351000);
  CHECK(parse_rfc3339("2022-09-01T00:00:00.00Z") == 1661990400000000);
  CHECK(parse_rfc3339("2024-01-15") == 1705276800000000);
  CHECK(parse_rfc3339("2024-01-15T10:30:00") == 1705314600000000);  // no zone: UTC
  CHECK_FALSE(parse_rfc3339("yesterday"));
  CHECK_FALSE(parse_rfc3339("2024-13-01T00:00:00Z"));
  CHECK(format_rfc3339(1707525454351000) == "2024-02-10T00:37:34.351000Z");
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339(1707525454351234) == "2024-02-10T00:37:34.351234Z");
  CHECK(format_rfc3339(-1000000) == "1969-12-31T23:59:59.000000Z");
  for (std::int64_t t : {std::int64_t{1}, std::int64_t{951782400000000}, std::int64_t{4102444800123000}})
    CHECK(parse_rfc3339(format_rfc3339(t)) == t);
}
