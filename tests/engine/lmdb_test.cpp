// engine/lmdb.hpp: an env written through its map (MDB_WRITEMAP) keeps its whole map reserved on
// disk, grows a quarter at a time (at least 32 MiB, or 4 MiB where only that fits), and turns a
// file system that cannot hold a larger map into errc::storage_full, never a SIGBUS on a touched
// page.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "engine/lmdb.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::temp_dir;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr unsigned kWritemap = MDB_WRITEMAP | MDB_MAPASYNC | MDB_NOSYNC | MDB_NOTLS;

struct file_size {
  std::size_t length = 0, allocated = 0;
};
file_size stat_data(const std::string& dir) {
  struct stat st {};
  REQUIRE(::stat((dir + "/data.mdb").c_str(), &st) == 0);
  return {static_cast<std::size_t>(st.st_size), static_cast<std::size_t>(st.st_blocks) * 512};
}

// Puts 1 KiB values under increasing keys from `from` until the map is full or `count` are in;
// returns the number stored; `last` gets the outcome of the last put or commit.
int fill(lmdb::env& e, int from, int count, result<void>& last) {
  auto t = lmdb::txn::begin(e, false);
  REQUIRE(t);
  auto d = lmdb::dbi::open(*t, "d", MDB_CREATE);
  REQUIRE(d);
  const std::string value(1024, 'v');
  int stored = 0;
  for (int i = from; i < from + count; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%09d", i);
    last = d->put(*t, key, value);
    if (!last) return 0;  // the transaction aborts: nothing of it is stored
    ++stored;
  }
  last = t->commit();
  return last ? stored : 0;
}

}  // namespace

TEST_CASE("lmdb: a map written through is reserved on disk and grows a quarter at a time",
          "[lmdb]") {
  temp_dir dir;
  auto e = lmdb::env::open(dir.path(), kWritemap, 2 * kMiB, 4);
  REQUIRE(e);
  REQUIRE(e->writes_through_map());
  REQUIRE(e->reserve(e->map_size(), "test env"));
  CHECK(stat_data(dir.path()).length == 2 * kMiB);
  CHECK(stat_data(dir.path()).allocated >= 2 * kMiB);

  result<void> last;
  CHECK(fill(*e, 0, 100000, last) == 0);
  REQUIRE_FALSE(last);
  CHECK(last.code() == make_error_code(errc::map_full));

  // 2 MiB + max(a quarter, 32 MiB) = 34 MiB, every byte of it allocated before LMDB maps it.
  REQUIRE(e->grow(1024 * kMiB, "test env"));
  CHECK(e->map_size() == 34 * kMiB);
  CHECK(stat_data(dir.path()).length == 34 * kMiB);
  CHECK(stat_data(dir.path()).allocated >= 34 * kMiB);
  CHECK(fill(*e, 0, 3000, last) == 3000);
  // Past 128 MiB the step is a quarter of the map.
  while (e->map_size() < 128 * kMiB) REQUIRE(e->grow(1024 * kMiB, "test env"));
  CHECK(e->map_size() == 130 * kMiB);
  REQUIRE(e->grow(1024 * kMiB, "test env"));
  CHECK(e->map_size() == 130 * kMiB + 130 * kMiB / 4);
  // Never past the maximum.
  REQUIRE(e->grow(170 * kMiB, "test env"));
  CHECK(e->map_size() == 170 * kMiB);

  // A plain env still doubles and its file holds only written pages.
  temp_dir plain_dir;
  auto p = lmdb::env::open(plain_dir.path(), MDB_NOSYNC | MDB_NOTLS, 2 * kMiB, 4);
  REQUIRE(p);
  CHECK_FALSE(p->writes_through_map());
  REQUIRE(p->grow(64 * kMiB, "plain env"));
  CHECK(p->map_size() == 4 * kMiB);
  CHECK(stat_data(plain_dir.path()).length < kMiB);
}

namespace {

// In a child process whose files may not grow past `limit` bytes (EFBIG, as a full disk gives
// ENOSPC): a 2 MiB map written through is filled, grown once, and filled again. Returns the
// child's report (fill, grow, map, after lines); fails the test when the child did not exit 0
// (a SIGBUS would kill it).
std::string fill_and_grow_under_file_limit(const std::string& dir, std::size_t limit) {
  int pipe_fd[2];
  REQUIRE(::pipe(pipe_fd) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipe_fd[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
    std::string report;
    auto e = lmdb::env::open(dir, kWritemap, 2 * kMiB, 4);
    if (!e || !e->reserve(e->map_size(), "test env")) _exit(11);
    result<void> last;
    const int first = fill(*e, 0, 100000, last);  // fills the 2 MiB map: map_full
    report += "fill:" + std::to_string(first) + ":" + (last ? "ok" : last.err().message) + "\n";
    auto g = e->grow(1024 * kMiB, "test env");
    report += std::string("grow:") +
              (g ? "ok" : std::string(g.code().message()) + "|" + g.err().message) + "\n";
    report += "map:" + std::to_string(e->map_size()) + "\n";
    fill(*e, 500000, 3000, last);  // more than 2 MiB, less than 6
    report += std::string("after:") + (last ? "ok" : last.err().message) + "\n";
    (void)!::write(pipe_fd[1], report.data(), report.size());
    _exit(0);
  }
  ::close(pipe_fd[1]);
  std::string report;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) report.append(buf, n);
  ::close(pipe_fd[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO(report);
  REQUIRE(WIFEXITED(status));  // not killed by SIGBUS
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(report.find("fill:0:mdb_put failed: MDB_MAP_FULL") != std::string::npos);
  return report;
}

}  // namespace

TEST_CASE("lmdb: a file system that cannot hold a larger map is storage_full, not SIGBUS",
          "[lmdb]") {
  temp_dir dir;
  // 5 MiB: neither 2 + 32 nor 2 + 4 MiB fits; the error names the smaller map.
  const std::string report = fill_and_grow_under_file_limit(dir.path(), 5 * kMiB);
  INFO(report);
  CHECK(report.find("grow:" + make_error_code(errc::storage_full).message() +
                    "|test env: the file system refused the write: no room for its map of " +
                    std::to_string(6 * kMiB) + " bytes (posix_fallocate: File too large)") !=
        std::string::npos);
  CHECK(report.find("map:" + std::to_string(2 * kMiB) + "\n") != std::string::npos);
  // The map was not enlarged: more puts are map_full again, the process lives on.
  CHECK(report.find("after:mdb_put failed: MDB_MAP_FULL") != std::string::npos);
  CHECK(stat_data(dir.path()).length == 2 * kMiB);  // the refused reservation left no length
}

TEST_CASE("lmdb: a file system without room for the large step grows the map by the small one",
          "[lmdb]") {
  temp_dir dir;
  // 10 MiB: 2 + 32 MiB is refused, 2 + 4 MiB fits.
  const std::string report = fill_and_grow_under_file_limit(dir.path(), 10 * kMiB);
  INFO(report);
  CHECK(report.find("grow:ok\n") != std::string::npos);
  CHECK(report.find("map:" + std::to_string(6 * kMiB) + "\n") != std::string::npos);
  CHECK(report.find("after:ok\n") != std::string::npos);
  CHECK(stat_data(dir.path()).length == 6 * kMiB);
  CHECK(stat_data(dir.path()).allocated >= 6 * kMiB);
}
