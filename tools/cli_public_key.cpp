#include "tools/cli_public_key.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/base64.hpp"

namespace hooklog::cli {
namespace {

std::optional<public_key> from_base64(std::string_view text) {
  auto raw = base64_decode_canonical(text);
  if (!raw || raw->size() != 32) return std::nullopt;
  public_key k{};
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

}  // namespace

std::optional<public_key> key_from_answer(std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("public_key") || !j["public_key"].is_string()) return std::nullopt;
  return from_base64(j["public_key"].get<std::string>());
}

std::optional<public_key> public_key_arg(const std::string& given) {
  std::string text = given;
  if (std::ifstream in(given, std::ios::binary); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    if (auto k = key_from_answer(text)) return k;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return from_base64(text);
}

}  // namespace hooklog::cli
