#include "http/delivery/retry_after.hpp"

#include <algorithm>
#include <ctime>
#include <string>

namespace hooklog::http {

namespace {
constexpr std::int64_t kMaxRetryAfterUs = 24LL * 3600 * 1'000'000;
}  // namespace

// Retry-After: delay-seconds or an HTTP-date; returns µs from now, or nullopt.
std::optional<std::int64_t> retry_after_us(const header_list& headers, std::int64_t now_us) {
  auto v = find_header(headers, "retry-after");
  if (!v || v->empty()) return std::nullopt;
  std::string s(*v);
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 9) return kMaxRetryAfterUs;
    return std::min<std::int64_t>(std::stoll(s) * 1'000'000, kMaxRetryAfterUs);
  }
  // IMF-fixdate, then the two obsolete forms a recipient must also accept (RFC 9110 5.6.7):
  // RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
  for (const char* form : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                           "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    if (strptime(s.c_str(), form, &tm)) {
      std::int64_t at = static_cast<std::int64_t>(timegm(&tm)) * 1'000'000;
      return std::clamp<std::int64_t>(at - now_us, 0, kMaxRetryAfterUs);
    }
  }
  return std::nullopt;
}

}  // namespace hooklog::http
