#pragma once
// Payload timestamps for sources: RFC 3339 / ISO 8601 text to µs since the epoch (UTC).
// Separate from time_util.hpp (the log's clock) on purpose: this one is lenient about what
// platforms send.
#include <cstdint>
#include <optional>
#include <string_view>

namespace hooklog {

// Accepts "2024-02-10T00:37:34.351Z", any number of fraction digits (beyond 6 truncated),
// "Z"/"z" or "+HH:MM"/"-HH:MM"/"+HHMM" offsets, 't' or ' ' as the separator, minutes without
// seconds, no zone (taken as UTC), and a plain date "2024-02-10" (midnight UTC).
// Returns nullopt for anything else, including out-of-range fields and years outside 1..9999.
std::optional<std::int64_t> parse_timestamp(std::string_view text);

}  // namespace hooklog
