// http/delivery/retry_after.hpp: a 429/503's Retry-After as delay-seconds or an HTTP-date in any
// of the three forms RFC 9110 section 5.6.7 has a recipient accept, capped at 24 hours.
#include <catch2/catch.hpp>

#include "http/delivery/retry_after.hpp"

using namespace hooklog::http;

namespace {
// 1994-11-06T08:49:00Z, 37 s before the RFC's example date.
constexpr std::int64_t kNow = 784111740LL * 1'000'000;

std::optional<std::int64_t> after(const std::string& value) {
  return retry_after_us({{"Retry-After", value}}, kNow);
}
}  // namespace

TEST_CASE("retry_after: seconds and the three HTTP-date forms", "[delivery][retry_after]") {
  CHECK(after("120") == 120'000'000);
  CHECK(after("99999999999") == 24LL * 3600 * 1'000'000);  // capped
  CHECK(after("Sun, 06 Nov 1994 08:49:37 GMT") == 37'000'000);     // IMF-fixdate
  CHECK(after("Sunday, 06-Nov-94 08:49:37 GMT") == 37'000'000);    // RFC 850 (ignored before)
  CHECK(after("Sun Nov  6 08:49:37 1994") == 37'000'000);          // asctime (ignored before)
  CHECK(after("Sun, 06 Nov 1994 08:00:00 GMT") == 0);              // past: now
  CHECK_FALSE(after("soon"));
  CHECK_FALSE(after(""));
  CHECK_FALSE(retry_after_us({}, kNow));
}
