#include "engine/errc.hpp"

namespace hooklog {
namespace {

class engine_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.engine"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::success: return "success";
      case errc::lmdb_failure: return "LMDB call failed";
      case errc::map_full: return "the log reached its maximum size";
      case errc::locked: return "the data directory is in use by another process";
      case errc::io_failure: return "file system call failed";
      case errc::checksum_mismatch: return "record checksum mismatch";
      case errc::chain_mismatch: return "record chain hash mismatch";
      case errc::leaf_mismatch: return "record leaf hash mismatch";
      case errc::truncated_record: return "record is truncated";
      case errc::unsupported_version: return "record format version is not supported";
      case errc::sequence_mismatch: return "record sequence number differs from its key";
      case errc::invalid_record: return "record cannot be encoded";
      case errc::writer_stopped: return "the log writer is stopped";
      case errc::read_only: return "the log is open read-only";
      case errc::storage_full:
        return "the file system refused a write (full)";
    }
    return "unknown engine error";
  }
};

}  // namespace

const std::error_category& engine_category() noexcept {
  static const engine_category_impl instance;
  return instance;
}

}  // namespace hooklog
