#pragma once
// Signed tree heads: (tree size, root hash, timestamp) signed with Ed25519.
//
// The signed bytes are this exact ASCII text (docs/AUDIT.md; "\n" is one LF byte, no CR):
//
//   hooklog-tree-head/1\n
//   <tree size, decimal>\n
//   <root hash, 64 lowercase hex digits>\n
//   <timestamp, decimal microseconds since the Unix epoch, UTC>\n
//
// The signature is pure Ed25519 (RFC 8032) over those bytes: 64 bytes, base64 in JSON.
// The key is an Ed25519 private key in PEM (PKCS#8, as `openssl genpkey -algorithm ed25519`
// writes it): `<data dir>/head.key` (created 0600 at first start) or a configured file. The
// public key is served as PEM (SubjectPublicKeyInfo) and as base64 of its 32 raw bytes.
//
// Pure functions and an immutable signer: thread-safe.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "engine/base64.hpp"
#include "engine/record.hpp"
#include "engine/result.hpp"

namespace hooklog {

enum class head_errc {
  success = 0,
  bad_key,         // the key file is not an Ed25519 private key in PEM (the message says why)
  io_failure,      // the key file cannot be read or written
  crypto_failure,  // OpenSSL failed
  bad_head,        // a head's JSON is malformed (the message names the field)
};
const std::error_category& head_category() noexcept;
inline std::error_code make_error_code(head_errc e) noexcept {
  return {static_cast<int>(e), head_category()};
}
inline error make_error(head_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

inline constexpr std::string_view kHeadKeyFileName = "head.key";
inline constexpr std::string_view kHeadRecordSource = "hooklog";
inline constexpr std::string_view kHeadRecordType = "audit.tree_head";
// The entity kind of head records, reserved: every source refuses an event that has it.
inline constexpr std::string_view kTreeHeadEntityKind = "tree_head";

struct tree_head {
  std::uint64_t tree_size = 0;
  hash256 root{};
  std::int64_t timestamp = 0;  // µs since the epoch
  std::array<std::uint8_t, 64> signature{};
};

// The exact bytes that are signed (see above).
std::string head_signed_text(const tree_head& h);

// {"tree_size", "root_hash" (hex), "timestamp" (RFC 3339 µs), "timestamp_us", "signature"
// (base64)} and back (bad_head naming the field).
nlohmann::json head_to_json(const tree_head& h);
result<tree_head> head_from_json(const nlohmann::json& j);

// The ref_seq every head record carries (no record has this seq): the ref index lists the
// heads alone under it, in seq order, so the latest is one step away (head_publisher.hpp).
// Heads written before the fourteenth pass of issue 17 have ref_seq 0.
inline constexpr std::uint64_t kHeadRefSeq = UINT64_MAX;

// The record a published head is appended to the log as: kind tree_head, source "hooklog",
// type "audit.tree_head", entity (kTreeHeadEntityKind, tree size as 20 decimal digits,
// zero-padded, so the entity index lists heads in publication order), ref_seq kHeadRefSeq,
// body = head_to_json.
record head_record(const tree_head& h);

class head_signer {
 public:
  // Loads `key_file`, or when empty `<data_dir>/head.key`, creating that one (0600) when absent.
  static result<head_signer> load(const std::string& key_file, const std::string& data_dir);
  // Cluster mode: the key every node of a cell derives from the cell's shared master key
  // (--secret-key), so each node signs heads with the same key without a key file:
  // Ed25519 private key = HMAC-SHA256(master key text, "hooklog tree head key v1").
  static result<head_signer> derive(std::string_view master_key);
  // Signs h's signed text into h.signature.
  result<void> sign(tree_head& h) const;
  const std::string& public_key_pem() const { return public_pem_; }
  const std::array<std::uint8_t, 32>& public_key() const { return public_raw_; }

 private:
  static result<head_signer> from_key(void* evp_pkey);  // takes ownership of the EVP_PKEY
  std::shared_ptr<void> key_;  // EVP_PKEY
  std::string public_pem_;
  std::array<std::uint8_t, 32> public_raw_{};
};

// Verifies h's signature with a raw 32-byte Ed25519 public key.
bool verify_head(const tree_head& h, const std::array<std::uint8_t, 32>& public_key);


}  // namespace hooklog

template <>
struct std::is_error_code_enum<hooklog::head_errc> : std::true_type {};
