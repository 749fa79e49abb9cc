#pragma once
// Retry policies of an endpoint and the schedule they produce.
//
// Strategies (delay before attempt n+1, after attempt n failed; n is 1-based):
//   default      the Standard-Webhooks-like schedule: attempt 1 immediately, then
//                5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each with ±20 % jitter
//                (8 attempts in all; a larger max_attempts repeats the last delay).
//   fixed        base_ms every time
//   linear       base_ms * n
//   exponential  base_ms * 2^(n-1)
//   random       uniform in [base_ms, base_ms * 2^(n-1)] ("full jitter" exponential)
// Every delay is capped at max_ms. After attempt max_attempts there is no next
// attempt: the delivery is dead-lettered.
//
// The dispatcher calls next_attempt_at() once per failed attempt and writes the
// answer into the attempt record, so the jitter lives in the log and the pending
// projection never draws random numbers (rebuilds stay deterministic).
// Thread safety: pure functions; the rng is the caller's.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "engine/result.hpp"

namespace hooklog::projections {

enum class retry_strategy : std::uint8_t { default_schedule, fixed, linear, exponential, random };

std::string_view strategy_name(retry_strategy s);  // "default", "fixed", ...
std::optional<retry_strategy> strategy_from_name(std::string_view name);

inline constexpr std::uint32_t kDefaultMaxAttempts = 8;
inline constexpr std::int64_t kDefaultScheduleMs[] = {0,          5'000,      300'000,   1'800'000,
                                                      7'200'000,  18'000'000, 36'000'000, 36'000'000};

struct retry_policy {
  retry_strategy strategy = retry_strategy::default_schedule;
  std::int64_t base_ms = 5'000;          // ignored by "default"
  std::int64_t max_ms = 36'000'000;      // cap on any one delay (10 h)
  std::uint32_t max_attempts = kDefaultMaxAttempts;  // total attempts, the first included

  friend bool operator==(const retry_policy&, const retry_policy&) = default;
};

// Delay in ms before the attempt after `failed_attempt`; nullopt when
// failed_attempt >= max_attempts (no more attempts).
std::optional<std::int64_t> retry_delay_ms(const retry_policy& p, std::uint32_t failed_attempt,
                                           std::mt19937_64& rng);

// now_us + the delay, in µs since the epoch; nullopt = dead-letter.
std::optional<std::int64_t> next_attempt_at(const retry_policy& p, std::uint32_t failed_attempt,
                                            std::int64_t now_us, std::mt19937_64& rng);

// JSON form {"strategy","base_ms","max_ms","max_attempts"}; omitted fields take
// their defaults. Errors name the field ("retry.max_attempts: ...").
result<retry_policy> retry_policy_from_json(const nlohmann::json& j);
nlohmann::json to_json(const retry_policy& p);

}  // namespace hooklog::projections
