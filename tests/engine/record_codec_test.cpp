#include "engine/record_codec.hpp"

#include <catch2/catch.hpp>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "engine/record_format.hpp"

using namespace hooklog;

namespace {

record sample(record_kind k) {
  record r;
  r.seq = 42;
  r.kind = k;
  r.flags = record_flags::kTestMode;
  r.recorded_at = 1700000000123456;
  r.occurred_at = -5;  // before the epoch: still round-trips
  r.ref_seq = 7;
  r.tenant = "int_abc";
  r.source = "eudr";
  r.type = "dds.status_changed";
  r.entity_kind = "dds";
  r.entity_id = "DDS-2024-00042";
  r.idempotency_key = "key-1";
  r.native_id = "n-1";
  r.status_from = "DRAFT";
  r.status_to = "SUBMITTED";
  r.body = std::string("{\"a\":1}\0binary\xff", 15);
  return r;
}

}  // namespace

TEST_CASE("every record kind round-trips through encode and decode", "[codec]") {
  for (std::uint8_t k = 1; k <= kMaxRecordKind; ++k) {
    const record r = sample(static_cast<record_kind>(k));
    std::string bytes;
    REQUIRE(encode(r, bytes).ok());
    const hash256 chain = seal(bytes, hash256{});
    auto v = decode(bytes, 42);
    REQUIRE(v.ok());
    CHECK(v->kind == r.kind);
    CHECK(v->seq == 42);
    CHECK(v->flags == record_flags::kTestMode);
    CHECK(v->recorded_at == r.recorded_at);
    CHECK(v->occurred_at == -5);
    CHECK(v->ref_seq == 7);
    CHECK(v->tenant == "int_abc");
    CHECK(v->source == "eudr");
    CHECK(v->type == "dds.status_changed");
    CHECK(v->entity_kind == "dds");
    CHECK(v->entity_id == "DDS-2024-00042");
    CHECK(v->idempotency_key == "key-1");
    CHECK(v->native_id == "n-1");
    CHECK(v->status_from == "DRAFT");
    CHECK(v->status_to == "SUBMITTED");
    CHECK(v->body == r.body);
    CHECK(std::equal(chain.begin(), chain.end(), v->chain_hash));
    CHECK(kind_from_name(kind_name(r.kind)) == r.kind);
    const record back = v->to_record();
    CHECK(back.body == r.body);
    CHECK(back.chain_hash == chain);
  }
}

TEST_CASE("a flipped byte anywhere is caught by the checksum", "[codec]") {
  std::string bytes;
  REQUIRE(encode(sample(record_kind::event_received), bytes).ok());
  seal(bytes, hash256{});
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i >= format::kOffsetChecksum && i < format::kOffsetChainHash) continue;  // the sum itself
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    auto v = decode(bad, 42);
    REQUIRE_FALSE(v.ok());
    // Byte 0 is the version and bytes 4..8 the length: those are checked first.
    if (i == 0)
      CHECK(v.code() == make_error_code(errc::unsupported_version));
    else if (i >= 4 && i < 8)
      CHECK(v.code() == make_error_code(errc::truncated_record));
    else
      CHECK(v.code() == make_error_code(errc::checksum_mismatch));
  }
}

TEST_CASE("a flipped checksum byte is a checksum mismatch", "[codec]") {
  std::string bytes;
  REQUIRE(encode(sample(record_kind::delivery_attempt), bytes).ok());
  seal(bytes, hash256{});
  bytes[format::kOffsetChecksum + 3] ^= 1;
  CHECK(decode(bytes).code() == make_error_code(errc::checksum_mismatch));
}

TEST_CASE("the checksum is XXH3-64 of the record without its bytes 8 to 15 at every record size", "[codec]") {
  // FORMAT.md's definition, computed here with XXH3's streaming form over the two ranges: the
  // codec hashes short records as one copied piece, long ones streamed; both must give this.
  for (std::size_t body = 0; body <= 2'100; body += body < 1'100 ? 1 : 97) {
    record r = sample(record_kind::event_received);
    r.body.assign(body, 'x');
    for (std::size_t i = 0; i < body; ++i) r.body[i] = static_cast<char>('a' + (i * 7) % 26);
    std::string bytes;
    REQUIRE(encode(r, bytes).ok());
    seal(bytes, hash256{});
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, bytes.data(), format::kOffsetChecksum);
    XXH3_64bits_update(&state, bytes.data() + format::kOffsetChainHash,
                       bytes.size() - format::kOffsetChainHash);
    const std::uint64_t want = XXH3_64bits_digest(&state);
    std::uint64_t stored = 0;
    for (int b = 7; b >= 0; --b)
      stored = stored << 8 | static_cast<unsigned char>(bytes[format::kOffsetChecksum + b]);
    INFO("record of " << bytes.size() << " bytes");
    CHECK(stored == want);
    CHECK(decode(bytes).ok());
  }
}

TEST_CASE("truncated values are typed errors", "[codec]") {
  std::string bytes;
  REQUIRE(encode(sample(record_kind::event_received), bytes).ok());
  seal(bytes, hash256{});
  for (std::size_t n : {std::size_t{0}, std::size_t{10}, std::size_t{100}, bytes.size() - 1}) {
    auto v = decode(std::string_view(bytes).substr(0, n));
    REQUIRE_FALSE(v.ok());
    CHECK(v.code() == make_error_code(errc::truncated_record));
  }
}

TEST_CASE("a record under the wrong key is a sequence mismatch", "[codec]") {
  std::string bytes;
  REQUIRE(encode(sample(record_kind::event_received), bytes).ok());
  seal(bytes, hash256{});
  CHECK(decode(bytes, 43).code() == make_error_code(errc::sequence_mismatch));
}

TEST_CASE("fields too long to encode are refused", "[codec]") {
  record r = sample(record_kind::event_received);
  r.tenant.assign(70000, 't');
  std::string bytes;
  auto e = encode(r, bytes);
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == make_error_code(errc::invalid_record));
  CHECK(e.err().message.find("tenant") != std::string::npos);
}

TEST_CASE("a tenant, entity kind and id longer than an index key can hold are refused", "[codec]") {
  // Each field far under 65535, but together they are parts of LMDB keys of at most 511 bytes.
  record r = sample(record_kind::event_received);
  r.tenant = "t1";
  r.entity_kind.assign(200, 'k');
  r.entity_id.assign(format::kMaxEntityKeyBytes - 202, 'i');
  std::string bytes;
  CHECK(encode(r, bytes).ok());  // exactly the limit
  r.entity_id.push_back('i');
  auto e = encode(r, bytes);
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == make_error_code(errc::invalid_record));
  CHECK(e.err().message ==
        "record: the tenant, entity kind and entity id are 449 bytes together, more than the "
        "limit of 448 (they are index keys)");
  // The other keys of several fields: the idempotency index and the stats by type.
  record idem = sample(record_kind::event_received);
  idem.tenant.assign(200, 't');
  idem.source = "standard";
  idem.idempotency_key.assign(241, 'x');
  idem.entity_kind.clear();
  idem.entity_id.clear();
  auto ei = encode(idem, bytes);
  REQUIRE_FALSE(ei.ok());
  CHECK(ei.err().message ==
        "record: the tenant, source and idempotency key are 449 bytes together, more than the "
        "limit of 448 (they are index keys)");
  record type = idem;
  type.idempotency_key.clear();
  type.type.assign(249, 'y');
  auto et = encode(type, bytes);
  REQUIRE_FALSE(et.ok());
  CHECK(et.err().message ==
        "record: the tenant and type are 449 bytes together, more than the limit of 448 (they "
        "are index keys)");
  type.type.pop_back();
  CHECK(encode(type, bytes).ok());
}

TEST_CASE("encode_unsealed then seal gives encode's bytes, and unsealed bytes do not decode", "[codec]") {
  for (std::uint8_t k = 1; k <= kMaxRecordKind; ++k) {
    const record r = sample(static_cast<record_kind>(k));
    std::string full, unsealed;
    REQUIRE(encode(r, full).ok());
    REQUIRE(encode_unsealed(r, unsealed).ok());
    REQUIRE(unsealed.size() == full.size());
    // Only the checksum differs before sealing (zero, not computed).
    CHECK(unsealed.substr(0, format::kOffsetChecksum) == full.substr(0, format::kOffsetChecksum));
    CHECK(unsealed.substr(format::kOffsetChecksum, 8) == std::string(8, '\0'));
    CHECK(unsealed.substr(format::kOffsetChecksum + 8) == full.substr(format::kOffsetChecksum + 8));
    auto early = decode(unsealed, 42);
    REQUIRE_FALSE(early.ok());
    CHECK(early.code() == make_error_code(errc::checksum_mismatch));
    hash256 prev{};
    prev[3] = 9;
    const hash256 a = seal(full, prev);
    const hash256 b = seal(unsealed, prev);
    CHECK(a == b);
    CHECK(unsealed == full);
    CHECK(decode(unsealed, 42).ok());
  }
  record bad = sample(record_kind::event_received);
  bad.entity_id.assign(70000, 'e');
  std::string out;
  CHECK(encode_unsealed(bad, out).code() == make_error_code(errc::invalid_record));
}

TEST_CASE("the chain hash depends on the previous hash and the content", "[codec]") {
  std::string a, b;
  REQUIRE(encode(sample(record_kind::event_received), a).ok());
  b = a;
  hash256 prev{};
  prev[0] = 1;
  const hash256 h1 = seal(a, hash256{});
  const hash256 h2 = seal(b, prev);
  CHECK(h1 != h2);
  CHECK(compute_leaf_hash(a) == compute_leaf_hash(b));
}

TEST_CASE("event ids map to sequence numbers and back", "[codec]") {
  CHECK(event_id_for(1) == "evt_0000000000000001");
  CHECK(event_id_for(0xabcdef) == "evt_0000000000abcdef");
  CHECK(event_id_for(UINT64_MAX) == "evt_ffffffffffffffff");
  std::string out = "[";
  append_event_id(out, 0x1234);
  append_event_id(out, 0xfedcba9876543210u);
  CHECK(out == "[evt_0000000000001234evt_fedcba9876543210");
  CHECK(seq_from_event_id("evt_0000000000abcdef") == 0xabcdefu);
  CHECK_FALSE(seq_from_event_id("evt_000000000000000g"));
  CHECK_FALSE(seq_from_event_id("evt_0000000000000000"));
  CHECK_FALSE(seq_from_event_id("../../etc/passwd"));
}
