#pragma once
// temp_dir: a fresh directory under $TMPDIR (or /tmp), removed recursively on destruction. The
// one class of the name in tests/ (support/process.hpp includes it): two definitions of one name
// in one test executable broke the one-definition rule (a destructor of the other class ran on
// the object, abort at the end of a case). Header-only, so the test executables that link no
// support/*.cpp (test_engine, test_projections) use it too. Not thread-safe.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

namespace hooklog::test {

class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    const std::filesystem::path root = base && *base ? base : "/tmp";
    std::random_device rd;
    for (int i = 0; i < 100; ++i) {
      auto p = root / ("hooklog-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
      std::error_code ec;
      if (std::filesystem::create_directory(p, ec)) {
        path_ = p;
        return;
      }
    }
    throw std::runtime_error("cannot create a temporary directory");
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace hooklog::test
