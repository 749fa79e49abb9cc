#include "engine/record_codec.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <memory>

#include "engine/bytes.hpp"
#include "engine/record_format.hpp"

namespace hooklog {
namespace {

using namespace format;

// SHA-256 through OpenSSL's low-level interface: EVP_DigestInit re-creates
// provider state on every call, which costs more than hashing a 1 KiB record.
class sha256 {
 public:
  void begin() { SHA256_Init(&ctx_); }
  void update(const void* p, std::size_t n) { SHA256_Update(&ctx_, p, n); }
  hash256 finish() {
    hash256 h{};
    SHA256_Final(h.data(), &ctx_);
    return h;
  }

 private:
  SHA256_CTX ctx_;
};

sha256& thread_sha() {
  thread_local sha256 s;
  return s;
}

// XXH3-64 of bytes [0,8) and [16,end) (FORMAT.md). A record of up to kChecksumCopy bytes is
// copied without its checksum field and hashed in one call: XXH3 gives the same hash of the
// same bytes streamed or in one piece, and the streaming state (reset, buffering, digest) cost
// several times the hash of a record this short.
constexpr std::size_t kChecksumCopy = 1024;

std::uint64_t checksum_of(std::string_view encoded) {
  const std::size_t tail = encoded.size() - kOffsetChainHash;
  if (kOffsetChecksum + tail <= kChecksumCopy) {
    char joined[kChecksumCopy];
    std::memcpy(joined, encoded.data(), kOffsetChecksum);
    std::memcpy(joined + kOffsetChecksum, encoded.data() + kOffsetChainHash, tail);
    return XXH3_64bits(joined, kOffsetChecksum + tail);
  }
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, encoded.data(), kOffsetChecksum);
  XXH3_64bits_update(&state, encoded.data() + kOffsetChainHash,
                     encoded.size() - kOffsetChainHash);
  return XXH3_64bits_digest(&state);
}

const std::string* string_fields(const record& r, std::size_t i) {
  const std::string* fields[kStringCount] = {&r.tenant,     &r.source,          &r.type,
                                             &r.entity_kind, &r.entity_id,      &r.idempotency_key,
                                             &r.native_id,   &r.status_from,    &r.status_to};
  return fields[i];
}

const char* const kStringNames[kStringCount] = {"tenant",          "source",    "type",
                                                "entity_kind",     "entity_id", "idempotency_key",
                                                "native_id",       "status_from", "status_to"};

}  // namespace

result<void> encode(const record& r, std::string& out) {
  auto e = encode_unsealed(r, out);
  if (e) write_checksum(out);
  return e;
}

result<void> encode_unsealed(const record& r, std::string& out) {
  const auto kind = static_cast<std::uint8_t>(r.kind);
  if (kind == 0 || kind > kMaxRecordKind)
    return make_error(errc::invalid_record, "record kind " + std::to_string(kind) + " is unknown");
  for (std::size_t i = 0; i < kStringCount; ++i)
    if (string_fields(r, i)->size() > kMaxStringSize)
      return make_error(errc::invalid_record, std::string("record field ") + kStringNames[i] +
                                                  " is longer than 65535 bytes");
  if (r.body.size() > kMaxBodySize)
    return make_error(errc::invalid_record, "record body is longer than 64 MiB");
  if (auto over = key_overflow(r.tenant, r.source, r.type, r.idempotency_key, r.entity_kind,
                               r.entity_id);
      !over.empty())
    return make_error(errc::invalid_record, "record: " + over + " (they are index keys)");

  out.clear();
  std::size_t content = kFixedContentSize + 4 + r.body.size();
  for (std::size_t i = 0; i < kStringCount; ++i) content += 2 + string_fields(r, i)->size();
  out.reserve(kPrefixSize + content);
  out.push_back(static_cast<char>(kFormatVersion));
  out.push_back(static_cast<char>(kind));
  bytes::put_le16(out, r.flags);
  bytes::put_le32(out, static_cast<std::uint32_t>(content));
  bytes::put_le64(out, 0);  // checksum, written by seal()
  out.append(reinterpret_cast<const char*>(r.chain_hash.data()), kHashSize);
  out.append(reinterpret_cast<const char*>(r.leaf_hash.data()), kHashSize);
  bytes::put_le64(out, r.seq);
  bytes::put_le64(out, static_cast<std::uint64_t>(r.recorded_at));
  bytes::put_le64(out, static_cast<std::uint64_t>(r.occurred_at));
  bytes::put_le64(out, r.ref_seq);
  for (std::size_t i = 0; i < kStringCount; ++i) {
    const std::string& s = *string_fields(r, i);
    bytes::put_le16(out, static_cast<std::uint16_t>(s.size()));
    out.append(s);
  }
  bytes::put_le32(out, static_cast<std::uint32_t>(r.body.size()));
  out.append(r.body);
  return {};
}

void write_checksum(std::string& encoded) {
  bytes::store_le64(encoded.data() + kOffsetChecksum, checksum_of(encoded));
}

hash256 compute_leaf_hash(std::string_view encoded) {
  sha256& s = thread_sha();
  s.begin();
  const std::uint8_t prefix = kLeafHashPrefix;
  s.update(&prefix, 1);
  s.update(encoded.data(), 4);
  s.update(encoded.data() + kPrefixSize, encoded.size() - kPrefixSize);
  return s.finish();
}

hash256 compute_chain_hash(const hash256& prev_chain, const hash256& leaf) {
  sha256& s = thread_sha();
  s.begin();
  s.update(prev_chain.data(), prev_chain.size());
  s.update(leaf.data(), leaf.size());
  return s.finish();
}

hash256 seal(std::string& encoded, const hash256& prev_chain) {
  const hash256 leaf = compute_leaf_hash(encoded);
  const hash256 chain = compute_chain_hash(prev_chain, leaf);
  std::memcpy(encoded.data() + kOffsetLeafHash, leaf.data(), kHashSize);
  std::memcpy(encoded.data() + kOffsetChainHash, chain.data(), kHashSize);
  write_checksum(encoded);
  return chain;
}

result<record_view> decode(std::string_view b, std::uint64_t expected_seq) {
  // Built only on an error path (a std::to_string per record was 1 % of a rebuild).
  const auto where = [expected_seq]() -> std::string {
    return expected_seq ? " (record " + std::to_string(expected_seq) + ")" : "";
  };
  if (b.size() < kPrefixSize + kFixedContentSize)
    return make_error(errc::truncated_record, "record is " + std::to_string(b.size()) +
                                                  " bytes, shorter than its fixed header" + where());
  const auto version = static_cast<std::uint8_t>(b[0]);
  if (version != kFormatVersion)
    return make_error(errc::unsupported_version,
                      "record format version " + std::to_string(version) + " is unknown" + where());
  const auto content = bytes::get_le(b.data() + kOffsetContentLength, 4);
  if (content != b.size() - kPrefixSize)
    return make_error(errc::truncated_record, "record content is " +
                                                  std::to_string(b.size() - kPrefixSize) +
                                                  " bytes, header says " + std::to_string(content) +
                                                  where());
  const std::uint64_t stored = bytes::get_le(b.data() + kOffsetChecksum, 8);
  if (stored != checksum_of(b))
    return make_error(errc::checksum_mismatch, "record checksum mismatch" + where());

  record_view v;
  const auto kind = static_cast<std::uint8_t>(b[kOffsetKind]);
  if (kind == 0 || kind > kMaxRecordKind)
    return make_error(errc::invalid_record, "record kind " + std::to_string(kind) + " is unknown" +
                                                where());
  v.kind = static_cast<record_kind>(kind);
  v.flags = static_cast<std::uint16_t>(bytes::get_le(b.data() + kOffsetFlags, 2));
  v.chain_hash = reinterpret_cast<const std::uint8_t*>(b.data() + kOffsetChainHash);
  v.leaf_hash = reinterpret_cast<const std::uint8_t*>(b.data() + kOffsetLeafHash);
  std::size_t p = kPrefixSize;
  v.seq = bytes::get_le(b.data() + p, 8);
  v.recorded_at = static_cast<std::int64_t>(bytes::get_le(b.data() + p + 8, 8));
  v.occurred_at = static_cast<std::int64_t>(bytes::get_le(b.data() + p + 16, 8));
  v.ref_seq = bytes::get_le(b.data() + p + 24, 8);
  p += kFixedContentSize;
  if (expected_seq && v.seq != expected_seq)
    return make_error(errc::sequence_mismatch, "record stored under " +
                                                   std::to_string(expected_seq) + " says seq " +
                                                   std::to_string(v.seq));
  std::string_view* fields[kStringCount] = {&v.tenant,     &v.source,    &v.type,
                                            &v.entity_kind, &v.entity_id, &v.idempotency_key,
                                            &v.native_id,   &v.status_from, &v.status_to};
  for (std::size_t i = 0; i < kStringCount; ++i) {
    if (p + 2 > b.size())
      return make_error(errc::truncated_record, std::string("record ends inside field ") +
                                                    kStringNames[i] + where());
    const auto n = bytes::get_le(b.data() + p, 2);
    p += 2;
    if (p + n > b.size())
      return make_error(errc::truncated_record, std::string("record ends inside field ") +
                                                    kStringNames[i] + where());
    *fields[i] = b.substr(p, n);
    p += n;
  }
  if (p + 4 > b.size())
    return make_error(errc::truncated_record, "record ends before its body length" + where());
  const auto body_len = bytes::get_le(b.data() + p, 4);
  p += 4;
  if (p + body_len != b.size())
    return make_error(errc::truncated_record, "record body is " + std::to_string(b.size() - p) +
                                                  " bytes, header says " +
                                                  std::to_string(body_len) + where());
  v.body = b.substr(p, body_len);
  return v;
}

}  // namespace hooklog
