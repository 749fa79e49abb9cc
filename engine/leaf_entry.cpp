#include "engine/leaf_entry.hpp"

#include <cstring>

#include "engine/bytes.hpp"
#include "engine/errc.hpp"
#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"

namespace hooklog {

result<std::string> leaf_entry_of(const record& r) {
  std::string encoded;
  if (auto e = encode(r, encoded); !e) return e.err();
  std::string entry = encoded.substr(0, 4);
  entry.append(encoded, format::kPrefixSize, std::string::npos);
  return entry;
}

result<record> record_from_leaf_entry(std::string_view entry) {
  if (entry.size() < 4 + format::kFixedContentSize)
    return make_error(errc::truncated_record, "the entry is " + std::to_string(entry.size()) +
                                                  " bytes, shorter than any record");
  std::string b(format::kPrefixSize, '\0');
  std::memcpy(b.data(), entry.data(), 4);
  const std::size_t content = entry.size() - 4;
  const std::uint32_t stated = static_cast<std::uint32_t>(content);
  if (stated != content) return make_error(errc::truncated_record, "the entry is too large");
  for (int i = 0; i < 4; ++i) b[format::kOffsetContentLength + i] = static_cast<char>(stated >> (8 * i));
  b.append(entry.substr(4));
  write_checksum(b);
  auto v = decode(b, 0);
  if (!v) return v.err();
  return v->to_record();
}

}  // namespace hooklog
