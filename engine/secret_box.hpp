#pragma once
// Encryption at rest for endpoint secrets: AES-256-GCM (OpenSSL EVP) under one master key.
//
// Sealed form (printable, fits in JSON and log bodies):
//   "enc:v1:" + base64( nonce (12 bytes) | ciphertext | tag (16 bytes) )
// A fresh random nonce (RAND_bytes) per seal; the associated data is the constant
// "hooklog-secret/v1", so a sealed value cannot be passed off as something else.
// open() refuses a value whose tag does not verify (wrong key, any flipped bit).
//
// The master key (32 bytes) comes from configuration (64 hex digits or base64 of 32 bytes)
// or from a key file, `<data dir>/secret.key` by default: 64 hex digits and a newline,
// created with mode 0600 (O_EXCL) when absent. A key file readable by group or others is
// refused rather than used.
//
// Webhook secrets themselves are generated here too: "whsec_" + base64 of N random bytes
// (24..64, 32 by default), from OpenSSL's RNG.
//
// Thread safety: a secret_box is immutable after construction; seal/open may run on any
// thread concurrently. Plain value (copyable); the key lives in its memory and is wiped on
// destruction.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "engine/result.hpp"

namespace hooklog {

enum class secret_errc {
  success = 0,
  bad_key,          // the configured key is not 64 hex digits / base64 of 32 bytes
  key_file,         // the key file cannot be created, read, or has unsafe permissions
  not_sealed,       // open() of a value that is not "enc:v1:<base64>"
  tampered,         // the GCM tag does not verify (wrong key or modified bytes)
  crypto_failure,   // an OpenSSL call failed
};
const std::error_category& secret_category() noexcept;
inline std::error_code make_error_code(secret_errc e) noexcept {
  return {static_cast<int>(e), secret_category()};
}
inline error make_error(secret_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

inline constexpr std::size_t kMasterKeyBytes = 32;
inline constexpr std::string_view kSealedPrefix = "enc:v1:";
inline constexpr const char* kSecretKeyFileName = "secret.key";

class secret_box {
 public:
  using key_bytes = std::array<std::uint8_t, kMasterKeyBytes>;

  explicit secret_box(const key_bytes& key) : key_(key) {}
  ~secret_box();
  secret_box(const secret_box&) = default;
  secret_box& operator=(const secret_box&) = default;

  // 64 hex digits, or base64 of exactly 32 bytes (surrounding whitespace ignored).
  static result<secret_box> from_key_text(std::string_view text);
  // Reads the key file; when it is absent and `create` is set, writes a fresh random key
  // with mode 0600 first. Refuses files with group/other permission bits.
  static result<secret_box> from_key_file(const std::string& path, bool create = true);
  // The configured key when non-empty, else `<data_dir>/secret.key` (created when absent).
  static result<secret_box> load(std::string_view configured_key, const std::string& data_dir);

  // "enc:v1:..." Never fails short of an OpenSSL malfunction (then throws std::runtime_error).
  std::string seal(std::string_view plain) const;
  result<std::string> open(std::string_view sealed) const;
  // Opens sealed values; returns anything else unchanged (plain secrets written before
  // encryption at rest, or by tests).
  result<std::string> open_or_plain(std::string_view value) const;

  // The AEAD under the seals above, for other uses: nonce (12 random bytes) | ciphertext |
  // tag (16), binary, with the caller's associated data (a value sealed with one `aad` opens
  // only with the same). open_bytes: not_sealed when shorter than nonce and tag, tampered when
  // the tag does not verify.
  std::string seal_bytes(std::string_view plain, std::string_view aad) const;
  result<std::string> open_bytes(std::string_view blob, std::string_view aad) const;
  // A box under a key derived from this one for another purpose: HMAC-SHA256(key, label). What
  // it seals does not open with this box, and the volume it seals (one seal per list page, for
  // page cursors) does not count against the key that seals endpoint secrets.
  secret_box derive(std::string_view label) const;
  // Hex of HMAC-SHA256(key, label): says whether two boxes hold the same key without revealing
  // it (cluster nodes compare it at start).
  std::string key_check(std::string_view label) const;

  static bool is_sealed(std::string_view value) { return value.substr(0, kSealedPrefix.size()) == kSealedPrefix; }

 private:
  key_bytes key_;
};

// "whsec_" + base64 of `random_bytes` bytes from RAND_bytes (clamped to 24..64).
std::string generate_secret(std::size_t random_bytes = 32);

}  // namespace hooklog

template <>
struct std::is_error_code_enum<hooklog::secret_errc> : std::true_type {};
