#pragma once
// Encoding and decoding of log records (layout in record_format.hpp).
// decode() checks the version, the lengths and the xxh3 checksum on every
// call: corrupted bytes are a typed error, never silently returned data.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/errc.hpp"
#include "engine/record.hpp"

namespace hooklog {

// Serializes `r` into `out` (cleared first). The hash fields are taken from
// `r` as they are; use seal() to compute them.
result<void> encode(const record& r, std::string& out);
// The same bytes with the checksum left zero, for a record seal() completes next (seal()
// writes the checksum last: computing it here too would hash every record twice). Such
// bytes must not be stored or decoded before seal().
result<void> encode_unsealed(const record& r, std::string& out);

// Computes the leaf hash of the encoded bytes, the chain hash from `prev_chain`,
// writes both and then the checksum into `encoded`. Returns the new chain hash.
hash256 seal(std::string& encoded, const hash256& prev_chain);

// Recomputes the checksum of encoded bytes in place (seal() ends with it).
void write_checksum(std::string& encoded);

// Recomputes the leaf hash of encoded bytes (for verification).
hash256 compute_leaf_hash(std::string_view encoded);
hash256 compute_chain_hash(const hash256& prev_chain, const hash256& leaf);

// Decodes `bytes` (which must outlive the view). `expected_seq` is the key the
// bytes were stored under (0 = do not check).
result<record_view> decode(std::string_view bytes, std::uint64_t expected_seq = 0);

}  // namespace hooklog
