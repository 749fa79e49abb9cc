#pragma once
// Helpers shared by the source tests: the registry loaded from data/sources, file reading.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "engine/source.hpp"
#include "hooklog_build_paths.hpp"

namespace hooklog::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline const source_registry& sources() {
  static const source_registry reg = [] {
    auto r = source_registry::load_dir(std::string(HOOKLOG_DATA_DIR) + "/sources");
    if (!r) throw std::runtime_error(r.err().what());
    return std::move(r.value());
  }();
  return reg;
}

inline std::string sample_path(const std::string& source, const std::string& file) {
  return std::string(HOOKLOG_DATA_DIR) + "/samples/" + source + "/" + file + ".json";
}

// Sample files are named after their type, with ':' written as "--".
inline std::string file_for_type(std::string type) {
  for (std::size_t p; (p = type.find(':')) != std::string::npos;) type.replace(p, 1, "--");
  return type;
}

// Normalizes with the repository's sources and requires success (the tenant, when given, is
// forced as a tenant key would).
inline normalized_event accepted(std::string_view source, std::string_view body,
                                 std::string_view hint = {}, std::string_view tenant = {}) {
  auto ev = sources().normalize({source, body, hint, {}, tenant});
  INFO(body);
  REQUIRE(ev.ok());
  return *ev;
}

}  // namespace hooklog::test
