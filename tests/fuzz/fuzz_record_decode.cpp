// Fuzz target: the log record decoder. Bytes from the log are untrusted (bit rot, a bad
// copy): decode must return a typed error, never read out of bounds.
// Bit 0 of the first byte: 0 = decode the rest as is (the checksum almost always fails),
// 1 = fix the xxh3 checksum first, so the length and string parsing behind it is reached.
// Oracle: whatever decodes re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool fix_checksum = data[0] & 1;
  // A copy of exactly the bytes, so ASan sees reads past the end.
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (fix_checksum && bytes.size() >= hooklog::format::kPrefixSize) hooklog::write_checksum(bytes);
  auto v = hooklog::decode(bytes);
  if (!v) return 0;

  const hooklog::record r = v->to_record();
  std::string again;
  FUZZ_CHECK(hooklog::encode(r, again).ok());
  hooklog::write_checksum(again);
  FUZZ_CHECK(again == bytes);
  return 0;
}
