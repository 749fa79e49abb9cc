#pragma once
// Standard Webhooks signatures (https://www.standardwebhooks.com/), scheme v1:
//   webhook-signature: v1,<base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))>
// where key is the base64-decoded secret after an optional "whsec_" prefix. During secret
// rotation the header carries several space-separated signatures; any match verifies.
//
// All functions are pure and thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base64.hpp"

namespace hooklog::http {

// Standard base64 (engine/base64.hpp).
using hooklog::base64_decode;
using hooklog::base64_encode;

// The raw key bytes of a "whsec_<base64>" (or bare base64) secret; nullopt if not base64 or empty.
std::optional<std::string> decode_secret(std::string_view secret_whsec);



// "v1,<base64 signature>". Throws std::invalid_argument if the secret does not decode.
std::string sign_v1(std::string_view secret_whsec, std::string_view id, std::int64_t timestamp,
                    std::string_view body);

// True if any of the space-separated entries of `signature_header` is a v1 signature of
// (id, timestamp, body) under `secret_whsec`. Constant-time comparison; false on a bad secret.
// Does not check the timestamp's age: see timestamp_fresh.
bool verify_v1(std::string_view secret_whsec, std::string_view id, std::int64_t timestamp,
               std::string_view body, std::string_view signature_header);

// |now - timestamp| <= tolerance (seconds); the standard's default tolerance is 5 minutes.
inline bool timestamp_fresh(std::int64_t timestamp, std::int64_t now_seconds,
                            std::int64_t tolerance_seconds = 300) {
  std::int64_t d = now_seconds - timestamp;
  return d <= tolerance_seconds && -d <= tolerance_seconds;
}

}  // namespace hooklog::http
