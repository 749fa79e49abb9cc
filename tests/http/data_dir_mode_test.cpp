// The data directory is private (issue 12, item 9): `hooklog serve` creates its directories
// 0700 and its files 0600 whatever the umask, and tightens a looser layout left by an older
// build at open; the data directory itself keeps a mode it already had.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const std::vector<std::string> kDirs = {"log", "state"};
const std::vector<std::string> kFiles = {"log/data.mdb",   "log/lock.mdb",   "log/hooklog.lock",
                                         "state/data.mdb", "state/lock.mdb", "secret.key"};

}  // namespace

TEST_CASE("data directory: created 0700 with files 0600, a looser one is tightened at open",
          "[storage][modes]") {
  temp_dir dir;
  const std::string parent = dir.path().string() + "/new";
  const std::string data = parent + "/data";
  const mode_t old_umask = ::umask(022);  // the usual umask: 0755 / 0644 without the fix
  {
    hooklog_server s({"--no-deliver"}, data);
    REQUIRE(
        s.call("POST", "/v1/sources/standard/events",
               R"({"id":"e1","type":"order.updated","timestamp":"2024-02-10T00:00:00Z","data":{}})")
            .status == 202);
  }
  ::umask(old_umask);
  CHECK(mode_of(parent) == 0700);  // every directory serve created
  CHECK(mode_of(data) == 0700);
  for (const auto& d : kDirs) {
    INFO(d);
    CHECK(mode_of(data + "/" + d) == 0700);
  }
  for (const auto& f : kFiles) {
    INFO(f);
    CHECK(mode_of(data + "/" + f) == 0600);
  }

  // What an older build left: 0755 directories, 0644 files. The next start tightens what
  // hooklog owns inside; the data directory keeps the mode its operator gave it.
  std::filesystem::permissions(data, std::filesystem::perms(0755));
  for (const auto& d : kDirs)
    std::filesystem::permissions(data + "/" + d, std::filesystem::perms(0755));
  for (const auto& f : kFiles)
    if (f != "secret.key")
      std::filesystem::permissions(data + "/" + f, std::filesystem::perms(0644));
  { hooklog_server s({"--no-deliver"}, data); }
  CHECK(mode_of(data) == 0755);
  for (const auto& d : kDirs) {
    INFO(d);
    CHECK(mode_of(data + "/" + d) == 0700);
  }
  for (const auto& f : kFiles) {
    INFO(f);
    CHECK(mode_of(data + "/" + f) == 0600);
  }

  // An export written by `hooklog export --out` is private too.
  const std::string out = dir.path().string() + "/export.ndjson";
  auto e = run_hooklog({"export", "--data", data, "--out", out});
  INFO(e.out);
  CHECK(e.exit_code == 0);
  CHECK(mode_of(out) == 0600);
}
