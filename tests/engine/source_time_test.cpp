#include <catch2/catch.hpp>

#include "engine/source_time.hpp"

using hooklog::kMaxTimestampMicros;
using hooklog::kMinTimestampMicros;
using hooklog::parse_timestamp;

TEST_CASE("parse_timestamp reads RFC 3339 times and plain dates", "[source][time]") {
  CHECK(parse_timestamp("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_timestamp("2024-02-10T00:37:34.351Z") == 1707525454351000);
  CHECK(parse_timestamp("2024-02-10T00:37:34.351123789Z") == 1707525454351123);
  CHECK(parse_timestamp("2022-09-01T00:00:00.00Z") == 1661990400000000);
  CHECK(parse_timestamp("2024-02-10T01:37:34.351+01:00") == 1707525454351000);
  CHECK(parse_timestamp("2024-02-09T19:37:34.351-0500") == 1707525454351000);
  CHECK(parse_timestamp("2024-02-10 00:37:34.351z") == 1707525454351000);
  CHECK(parse_timestamp("2024-02-10T00:37:34.351") == 1707525454351000);
  CHECK(parse_timestamp("2024-02-10T00:37Z") == 1707525420000000);
  CHECK(parse_timestamp("2024-02-10") == 1707523200000000);
  CHECK(parse_timestamp("2024-02-29") == 1709164800000000);
  CHECK(parse_timestamp("1969-12-31T23:59:59Z") == -1000000);
}

TEST_CASE("parse_timestamp refuses what is not a time", "[source][time]") {
  for (const char* bad :
       {"", "2024", "2024-13-01", "2023-02-29", "2024-02-10T24:00:00Z", "2024-02-10T00:60:00Z",
        "2024-02-10T00:00:00.Z", "2024-02-10T00:00:00Q", "2024-02-10T00:00:00+1",
        "2024-02-10T00:00:00Zjunk", "not a date", "0000-01-01", "2024-02-10T", "1707525454",
        // A fraction after the minutes would be of a minute (ISO 8601), not of a second.
        "2024-02-10T10:00.5Z", "2024-02-10T10:00,5"}) {
    INFO(bad);
    CHECK_FALSE(parse_timestamp(bad).has_value());
  }
}

TEST_CASE("parse_timestamp keeps times within years 1..9999 after the offset", "[source][time]") {
  CHECK(parse_timestamp("0001-01-01T00:00:00Z") == kMinTimestampMicros);
  CHECK(parse_timestamp("9999-12-31T23:59:59.999999Z") == kMaxTimestampMicros);
  CHECK(parse_timestamp("0001-01-01T00:00:00-01:00") == kMinTimestampMicros + 3'600'000'000LL);
  CHECK(parse_timestamp("9999-12-31T23:59:59.999999+01:00") == kMaxTimestampMicros - 3'600'000'000LL);
  // Written in year 1 or 9999, but year 0 or 10000 in UTC: RFC 3339 could not show them.
  CHECK_FALSE(parse_timestamp("0001-01-01T00:00:00+01:00").has_value());
  CHECK_FALSE(parse_timestamp("9999-12-31T23:30:00-01:00").has_value());
}
