#include "http/delivery/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace hooklog::http {

std::optional<std::string> decode_secret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) secret.remove_prefix(kPrefix.size());
  auto key = base64_decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}


namespace {
std::string hmac_v1(const std::string& key, std::string_view id, std::int64_t timestamp,
                     std::string_view body) {
  std::string msg;
  msg.reserve(id.size() + body.size() + 24);
  msg.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &mac_len))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(mac), mac_len);
}
}  // namespace

std::string sign_v1(std::string_view secret_whsec, std::string_view id, std::int64_t timestamp,
                    std::string_view body) {
  auto key = decode_secret(secret_whsec);
  if (!key) throw std::invalid_argument("webhook secret is not whsec_<base64>");
  return "v1," + base64_encode(hmac_v1(*key, id, timestamp, body));
}

bool verify_v1(std::string_view secret_whsec, std::string_view id, std::int64_t timestamp,
               std::string_view body, std::string_view signature_header) {
  auto key = decode_secret(secret_whsec);
  if (!key) return false;
  const std::string expected = hmac_v1(*key, id, timestamp, body);
  bool ok = false;
  while (!signature_header.empty()) {
    auto sp = signature_header.find(' ');
    std::string_view entry = signature_header.substr(0, sp);
    signature_header =
        sp == std::string_view::npos ? std::string_view{} : signature_header.substr(sp + 1);
    if (entry.substr(0, 3) != "v1,") continue;
    auto got = base64_decode(entry.substr(3));
    if (got && got->size() == expected.size() &&
        CRYPTO_memcmp(got->data(), expected.data(), expected.size()) == 0)
      ok = true;  // keep scanning: no early exit on a match
  }
  return ok;
}

}  // namespace hooklog::http
