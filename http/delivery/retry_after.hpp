#pragma once
// Retry-After of a 429/503 answer: delay-seconds or an HTTP-date; µs from `now_us`, capped at
// 24 h (a date in the past gives 0); nullopt when absent or unreadable.
#include <cstdint>
#include <optional>

#include "http/delivery/message.hpp"

namespace hooklog::http {

std::optional<std::int64_t> retry_after_us(const header_list& headers, std::int64_t now_us);

}  // namespace hooklog::http
