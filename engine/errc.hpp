#pragma once
// Error codes of the engine's log layer (LMDB, record codec, writer).
// "Not found" is not an error: lookups return std::optional.
#include <string>
#include <system_error>

#include "engine/result.hpp"

namespace hooklog {

enum class errc {
  success = 0,
  lmdb_failure,         // an LMDB call failed; the message names the call and its code
  map_full,             // the map reached its configured maximum size
  locked,               // another process holds the data directory
  io_failure,           // a file-system call failed
  checksum_mismatch,    // a record's xxh3 does not match its bytes
  chain_mismatch,       // a record's chain hash does not follow from its predecessor
  leaf_mismatch,        // a record's leaf hash does not match its content
  truncated_record,     // a record is shorter than its header says
  unsupported_version,  // a record was written by an unknown format version
  sequence_mismatch,    // a record's stored sequence number differs from its key
  invalid_record,       // a record cannot be encoded (a field too long, a bad kind)
  writer_stopped,       // the writer was stopped before the group was committed
  read_only,            // a write on a log opened read-only
  storage_full,         // the file system refused a write: ENOSPC, EDQUOT, EFBIG, or EIO from a
                        // write or fsync (LMDB reports a short write on a full disk as EIO);
                        // the transaction was aborted, nothing of it is stored
};

const std::error_category& engine_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), engine_category()};
}
inline error make_error(errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

}  // namespace hooklog

template <>
struct std::is_error_code_enum<hooklog::errc> : std::true_type {};
