#include "http/delivery/endpoint_state.hpp"

#include <algorithm>

namespace hooklog::http {

bool endpoint_state::refresh(std::int64_t updated_at) {
  if (seen_updated_at == updated_at) return false;
  seen_updated_at = updated_at;
  not_before = 0;
  failing_since = 0;  // guessed again from the health (an enable reset its failures)
  disabling = false;
  return true;
}

void endpoint_state::refill(std::int64_t now_us, std::int64_t rate) {
  const double burst = std::max<double>(1.0, static_cast<double>(rate));
  if (refilled_at == 0) tokens = burst;
  tokens = std::min(
      burst, tokens + static_cast<double>(now_us - refilled_at) * static_cast<double>(rate) / 1e6);
  refilled_at = now_us;
}

std::optional<std::int64_t> endpoint_state::take_token(std::int64_t now_us, std::int64_t rate) {
  if (tokens < 1.0)
    return now_us + static_cast<std::int64_t>((1.0 - tokens) * 1e6 / static_cast<double>(rate)) + 1;
  tokens -= 1.0;
  return std::nullopt;
}

bool endpoint_state::slot_freed() {
  --in_flight;
  if (!starved) return false;
  if (free_slots() < std::max<std::uint32_t>(1, max_in_flight / 8)) return false;
  starved = false;
  return true;
}

}  // namespace hooklog::http
