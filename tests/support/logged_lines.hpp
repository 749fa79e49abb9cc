#pragma once
// The operator log's lines (engine/logger.hpp) written while `fn` runs, parsed: the log is
// pointed at a temporary file in JSON for the call and back at stderr in text after it, however
// `fn` ends. Test-only; not thread safe (the log's settings are global).
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/logger.hpp"

namespace hooklog::test {

inline std::vector<nlohmann::json> logged_lines(const std::function<void()>& fn) {
  std::FILE* lines = std::tmpfile();
  if (!lines) throw std::runtime_error("no temporary file for the log's lines");
  struct restore {  // the default settings again, however the scope ends
    std::FILE* f;
    ~restore() {
      logging::configure(logging::level::info, logging::format::text);
      std::fclose(f);
    }
  } r{lines};
  logging::configure(logging::level::info, logging::format::json, lines);
  fn();
  logging::configure(logging::level::info, logging::format::text);
  std::rewind(lines);
  std::vector<nlohmann::json> said;
  for (char buf[4096]; std::fgets(buf, sizeof buf, lines);)
    said.push_back(nlohmann::json::parse(buf));
  return said;
}

}  // namespace hooklog::test
