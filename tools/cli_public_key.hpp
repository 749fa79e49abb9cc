#pragma once
// The head public key as the CLI takes it (--public-key of `proof verify`, `proof consistency`,
// `export --proof`) and as GET /v1/audit/public-key answers it. Pure functions; never throw.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hooklog::cli {

using public_key = std::array<std::uint8_t, 32>;

// GET /v1/audit/public-key's answer: its "public_key" (base64 of 32 bytes); nullopt when the
// answer is not that (a hostile or broken server is a failed check, not a crash).
std::optional<public_key> key_from_answer(std::string_view body);

// --public-key: base64 of the 32 raw bytes, or a file holding that or the served JSON;
// nullopt when it is none of these.
std::optional<public_key> public_key_arg(const std::string& given);

}  // namespace hooklog::cli
