#include "http/page_cursor.hpp"

#include "engine/bytes.hpp"

namespace hooklog::http {
namespace {

constexpr std::string_view kCursorLabel = "hooklog-cursor/v1";
constexpr std::size_t kPadTo = 32;

std::string aad_of(std::string_view scope) {
  std::string aad(kCursorLabel);
  aad += '\0';
  aad += scope;
  return aad;
}

}  // namespace

std::string cursor_scope(const principal& who) {
  return who.admin ? std::string("*") : "tenant:" + who.tenant;
}

std::string seal_cursor(const secret_box& master, std::string_view scope,
                        std::string_view position_hex) {
  if (position_hex.empty()) return {};
  auto position = bytes::from_hex(position_hex);
  // Positions come from event_log::scan (to_hex of a key): always hex, never near 64 KiB.
  if (!position || position->size() > 0xFFFF) return {};
  std::string plain;
  plain.reserve((2 + position->size() + kPadTo - 1) / kPadTo * kPadTo);
  plain += static_cast<char>(position->size() >> 8);
  plain += static_cast<char>(position->size() & 0xFF);
  plain += *position;
  plain.resize((plain.size() + kPadTo - 1) / kPadTo * kPadTo, '\0');
  const std::string blob = master.derive(kCursorLabel).seal_bytes(plain, aad_of(scope));
  return bytes::to_hex(blob.data(), blob.size());
}

std::optional<std::string> open_cursor(const secret_box& master, std::string_view scope,
                                       std::string_view cursor) {
  if (cursor.empty()) return std::string();
  auto blob = bytes::from_hex(cursor);
  if (!blob) return std::nullopt;
  auto plain = master.derive(kCursorLabel).open_bytes(*blob, aad_of(scope));
  if (!plain || plain->size() < 2) return std::nullopt;
  const std::size_t n =
      (static_cast<unsigned char>((*plain)[0]) << 8) | static_cast<unsigned char>((*plain)[1]);
  if (n == 0 || 2 + n > plain->size()) return std::nullopt;
  return bytes::to_hex(plain->data() + 2, n);
}

}  // namespace hooklog::http
