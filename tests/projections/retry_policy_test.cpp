#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "projections/retry_policy.hpp"

using namespace hooklog::projections;

TEST_CASE("retry strategies produce their schedules and stop at max_attempts") {
  std::mt19937_64 rng(42);
  retry_policy p{retry_strategy::fixed, 1000, 60'000, 4};
  CHECK(retry_delay_ms(p, 1, rng) == 1000);
  CHECK(retry_delay_ms(p, 3, rng) == 1000);
  CHECK_FALSE(retry_delay_ms(p, 4, rng));

  p.strategy = retry_strategy::linear;
  CHECK(retry_delay_ms(p, 1, rng) == 1000);
  CHECK(retry_delay_ms(p, 3, rng) == 3000);

  p = {retry_strategy::exponential, 1000, 5000, 10};
  CHECK(retry_delay_ms(p, 1, rng) == 1000);
  CHECK(retry_delay_ms(p, 2, rng) == 2000);
  CHECK(retry_delay_ms(p, 3, rng) == 4000);
  CHECK(retry_delay_ms(p, 4, rng) == 5000);  // capped
  CHECK(retry_delay_ms(p, 9, rng) == 5000);
  CHECK_FALSE(retry_delay_ms(p, 10, rng));

  p.strategy = retry_strategy::random;
  for (int i = 0; i < 200; ++i) {
    auto d = retry_delay_ms(p, 3, rng);
    REQUIRE(d);
    CHECK(*d >= 1000);
    CHECK(*d <= 4000);
  }
}

TEST_CASE("the default schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h with ±20 % jitter") {
  std::mt19937_64 rng(7);
  retry_policy p;  // default
  const std::int64_t nominal[] = {5'000, 300'000, 1'800'000, 7'200'000, 18'000'000, 36'000'000, 36'000'000};
  for (std::uint32_t n = 1; n <= 7; ++n) {
    for (int i = 0; i < 50; ++i) {
      auto d = retry_delay_ms(p, n, rng);
      REQUIRE(d);
      CHECK(*d >= nominal[n - 1] * 8 / 10);
      CHECK(*d <= std::min<std::int64_t>(nominal[n - 1] * 12 / 10, p.max_ms));
    }
  }
  CHECK_FALSE(retry_delay_ms(p, 8, rng));
  // The 10 h steps under the default cap (10 h) spread below it: none (of 1000) on the cap
  // itself, a quarter of them under 8.5 h (the draws spread over [8 h, 10 h]).
  int at_cap = 0, low = 0;
  for (int i = 0; i < 1000; ++i) {
    auto d = retry_delay_ms(p, 6, rng);
    REQUIRE(d);
    at_cap += *d == p.max_ms;
    low += *d < 30'600'000;
  }
  CHECK(at_cap == 0);
  CHECK(low > 150);
  CHECK(low < 350);
  auto at = next_attempt_at(p, 1, 1'000'000, rng);
  REQUIRE(at);
  CHECK(*at >= 1'000'000 + 4'000'000);
  CHECK(*at <= 1'000'000 + 6'000'000);
}

TEST_CASE("retry policy JSON") {
  auto p = retry_policy_from_json({{"strategy", "linear"}, {"base_ms", 250}});
  REQUIRE(p);
  CHECK(p->strategy == retry_strategy::linear);
  CHECK(p->base_ms == 250);
  CHECK(p->max_attempts == kDefaultMaxAttempts);
  auto back = retry_policy_from_json(to_json(*p));
  REQUIRE(back);
  CHECK(*back == *p);
  CHECK_FALSE(retry_policy_from_json({{"base_ms", -1}}).ok());
  CHECK_FALSE(retry_policy_from_json({{"max_attempts", 1000}}).ok());
}
