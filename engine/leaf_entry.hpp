#pragma once
// The Merkle leaf entry of a record: the bytes its RFC 6962 leaf hash covers,
//   entry = record bytes [0,4) (version, kind, flags) || content (record_format.hpp),
//   leaf hash = SHA-256(0x00 || entry).
// Audit bundles and inclusion proofs carry the entry (base64) so a verifier recomputes the
// leaf hash itself and reads the event's fields and original body out of the same bytes.
#include <string>
#include <string_view>

#include "engine/record.hpp"
#include "engine/result.hpp"

namespace hooklog {

// The entry of `r` as the log stores it (hash fields are not part of it).
result<std::string> leaf_entry_of(const record& r);
// Decodes an entry back into its record (no seq check; hashes left zero). Errors name the
// problem (codec errc: truncated, unsupported version, ...).
result<record> record_from_leaf_entry(std::string_view entry);

}  // namespace hooklog
