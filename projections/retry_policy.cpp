#include "projections/retry_policy.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "projections/proj_errc.hpp"

namespace hooklog::projections {

namespace {
constexpr std::int64_t kMaxDelayMs = 7LL * 24 * 3600 * 1000;  // a week: sanity cap for max_ms
constexpr std::uint32_t kMaxAttemptsLimit = 100;

std::int64_t pow2_times(std::int64_t base, std::uint32_t exp, std::int64_t cap) {
  std::int64_t v = base;
  for (std::uint32_t i = 0; i < exp && v < cap; ++i) v *= 2;
  return std::min(v, cap);
}
}  // namespace

std::string_view strategy_name(retry_strategy s) {
  switch (s) {
    case retry_strategy::default_schedule: return "default";
    case retry_strategy::fixed: return "fixed";
    case retry_strategy::linear: return "linear";
    case retry_strategy::exponential: return "exponential";
    case retry_strategy::random: return "random";
  }
  return "default";
}

std::optional<retry_strategy> strategy_from_name(std::string_view n) {
  if (n == "default") return retry_strategy::default_schedule;
  if (n == "fixed") return retry_strategy::fixed;
  if (n == "linear") return retry_strategy::linear;
  if (n == "exponential") return retry_strategy::exponential;
  if (n == "random") return retry_strategy::random;
  return std::nullopt;
}

std::optional<std::int64_t> retry_delay_ms(const retry_policy& p, std::uint32_t failed_attempt,
                                           std::mt19937_64& rng) {
  if (failed_attempt == 0) failed_attempt = 1;
  if (failed_attempt >= p.max_attempts) return std::nullopt;
  const std::int64_t cap = std::max<std::int64_t>(p.max_ms, 0);
  std::int64_t d = 0;
  switch (p.strategy) {
    case retry_strategy::default_schedule: {
      constexpr std::size_t n = std::size(kDefaultScheduleMs);
      const double nominal = static_cast<double>(kDefaultScheduleMs[std::min<std::size_t>(failed_attempt, n - 1)]);
      // ±20 % of the nominal delay, drawn inside the cap: a step at the cap (the default 10 h
      // steps under the default max_ms) spreads over [0.8, 1] of it instead of half the draws
      // landing on the cap itself, so retries of many deliveries still do not come due together.
      const double hi = std::min(nominal * 1.2, static_cast<double>(cap));
      const double lo = std::min(nominal * 0.8, hi);
      d = static_cast<std::int64_t>(std::uniform_real_distribution<double>(lo, hi)(rng));
      break;
    }
    case retry_strategy::fixed: d = p.base_ms; break;
    case retry_strategy::linear: d = std::min(p.base_ms * static_cast<std::int64_t>(failed_attempt), cap); break;
    case retry_strategy::exponential: d = pow2_times(p.base_ms, failed_attempt - 1, cap); break;
    case retry_strategy::random: {
      std::int64_t hi = pow2_times(p.base_ms, failed_attempt - 1, cap);
      std::int64_t lo = std::min(p.base_ms, hi);
      d = std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
      break;
    }
  }
  return std::clamp<std::int64_t>(d, 0, cap);
}

std::optional<std::int64_t> next_attempt_at(const retry_policy& p, std::uint32_t failed_attempt,
                                            std::int64_t now_us, std::mt19937_64& rng) {
  auto d = retry_delay_ms(p, failed_attempt, rng);
  if (!d) return std::nullopt;
  return now_us + *d * 1000;
}

result<retry_policy> retry_policy_from_json(const nlohmann::json& j) {
  auto bad = [](std::string field, std::string why) {
    return make_error(proj_errc::invalid_endpoint, "retry." + field + ": " + why);
  };
  retry_policy p;
  if (j.is_null()) return p;
  if (!j.is_object()) return make_error(proj_errc::invalid_endpoint, "retry: must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& k = it.key();
    if (k != "strategy" && k != "base_ms" && k != "max_ms" && k != "max_attempts")
      return bad(k, "unknown field");
  }
  // A null member takes its default, as an omitted one (docs/openapi.yaml, RetryPolicy).
  if (auto it = j.find("strategy"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return bad("strategy", "must be a string");
    auto s = strategy_from_name(it->get_ref<const std::string&>());
    if (!s) return bad("strategy", "must be one of default, fixed, linear, exponential, random");
    p.strategy = *s;
  }
  auto read_int = [&](const char* name, std::int64_t lo, std::int64_t hi,
                      std::int64_t& out) -> std::optional<error> {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) return bad(name, "must be an integer");
    auto v = it->get<std::int64_t>();
    if (v < lo || v > hi)
      return bad(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = v;
    return std::nullopt;
  };
  if (auto e = read_int("base_ms", 0, kMaxDelayMs, p.base_ms)) return *e;
  if (auto e = read_int("max_ms", 0, kMaxDelayMs, p.max_ms)) return *e;
  std::int64_t attempts = p.max_attempts;
  if (auto e = read_int("max_attempts", 1, kMaxAttemptsLimit, attempts)) return *e;
  p.max_attempts = static_cast<std::uint32_t>(attempts);
  return p;
}

nlohmann::json to_json(const retry_policy& p) {
  return nlohmann::json{{"strategy", strategy_name(p.strategy)},
                        {"base_ms", p.base_ms},
                        {"max_ms", p.max_ms},
                        {"max_attempts", p.max_attempts}};
}

}  // namespace hooklog::projections
