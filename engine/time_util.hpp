#pragma once
// Wall-clock time in microseconds since the Unix epoch (UTC), and RFC 3339.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hooklog {

std::int64_t now_micros();
// The one time format of the API, the CLI and exports: RFC 3339 in UTC with fixed
// microsecond precision, "2024-02-10T00:37:34.351000Z".
std::string format_rfc3339(std::int64_t micros);
// Parses RFC 3339 / ISO 8601 date-times ("2024-02-10T00:37:34.351Z", "+01:00" offsets,
// no zone = UTC, a plain date "2024-02-10"): the same parser as payload times
// (source_time.hpp). Returns nullopt for anything else.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace hooklog
