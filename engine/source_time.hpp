#pragma once
// Payload timestamps for sources: RFC 3339 / ISO 8601 text to µs since the epoch (UTC).
// Separate from time_util.hpp (the log's clock) on purpose: this one is lenient about what
// platforms send.
#include <cstdint>
#include <optional>
#include <string_view>

namespace hooklog {

// The times RFC 3339 can write, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z, in µs since
// the epoch: every time a payload gives (text after its offset, a number after its unit) is
// within them, so an answer or an export always shows it and an import reads it back.
inline constexpr std::int64_t kMinTimestampMicros = -62'135'596'800'000'000LL;
inline constexpr std::int64_t kMaxTimestampMicros = 253'402'300'799'999'999LL;
inline constexpr bool timestamp_in_range(std::int64_t micros) {
  return micros >= kMinTimestampMicros && micros <= kMaxTimestampMicros;
}

// Accepts "2024-02-10T00:37:34.351Z", any number of fraction digits (beyond 6 truncated),
// "Z"/"z" or "+HH:MM"/"-HH:MM"/"+HHMM" offsets, 't' or ' ' as the separator, minutes without
// seconds, no zone (taken as UTC), and a plain date "2024-02-10" (midnight UTC).
// Returns nullopt for anything else, including out-of-range fields and times outside
// timestamp_in_range once the offset is applied ("0001-01-01T00:00:00+01:00" is year 0).
std::optional<std::int64_t> parse_timestamp(std::string_view text);

}  // namespace hooklog
