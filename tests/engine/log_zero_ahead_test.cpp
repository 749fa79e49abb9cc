#include "engine/log_zero_ahead.hpp"

#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include "engine/log_test_util.hpp"
#include "engine/log_writer.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

std::size_t file_size(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::size_t>(st.st_size);
}

// Whether every byte of `path` from `from` to its end is zero.
bool zeros_from(const std::string& path, std::size_t from) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return rest.find_first_not_of('\0') == std::string::npos;
}

}  // namespace

TEST_CASE("log writer: a synced log's file holds zeros ahead of its last page, and reads the same",
          "[writer][zero_ahead]") {
  temp_dir dir;
  const std::string file = (dir / "log/data.mdb").string();
  std::size_t used = 0;
  {
    auto log = open_log(dir.path(), true, 64u << 20);
    {
      log_writer writer(*log);
      for (int i = 0; i < 50; ++i) {
        auto o = writer.append(make_event("t", "type.a", "e" + std::to_string(i), 1000 + i));
        REQUIRE(o);
        CHECK(o->seq == static_cast<std::uint64_t>(i + 1));
      }
    }  // the writer stopped: nothing writes the file below
    used = log->used_bytes();
    const std::size_t size = file_size(file);
    CHECK(size >= used + zero_ahead::ahead_for(used) / 2);
    CHECK(size <= used + zero_ahead::ahead_for(used) + (1u << 20));
    CHECK(zeros_from(file, used));
  }
  // The zeros are past the last page: a reopen reads the same 50 records, the chain verifies.
  auto log = open_log(dir.path(), true, 64u << 20);
  CHECK(log->head().seq == 50);
  CHECK(log->used_bytes() == used);
  auto v = log->verify();
  REQUIRE(v);
  CHECK(v->ok);
  log_writer writer(*log);
  auto o = writer.append(make_event("t", "type.a", "e50", 2000));
  REQUIRE(o);
  CHECK(o->seq == 51);
}

TEST_CASE("zero_ahead: never past the map, once per step, nothing for an unsynced log",
          "[writer][zero_ahead]") {
  temp_dir dir;
  const std::string file = (dir / "log/data.mdb").string();
  auto log = open_log(dir.path(), true, 1u << 20);  // a 1 MiB map
  zero_ahead ahead;
  REQUIRE(ahead.keep_ahead(log->raw_env(), log->used_bytes()));
  CHECK(file_size(file) == (1u << 20));
  CHECK(ahead.written_to() == (1u << 20));
  CHECK(zeros_from(file, log->used_bytes()));
  // At the map's end: nothing more until the map grows.
  REQUIRE(ahead.keep_ahead(log->raw_env(), log->used_bytes()));
  CHECK(file_size(file) == (1u << 20));

  temp_dir unsynced;
  const std::string file2 = (unsynced / "log/data.mdb").string();
  auto log2 = open_log(unsynced.path(), false, 64u << 20);
  const std::size_t before = file_size(file2);
  {
    log_writer writer(*log2);
    REQUIRE(writer.append(make_event("t", "type.a", "e", 1000)));
  }
  CHECK(file_size(file2) < before + zero_ahead::kMinAhead / 2);  // the writer left it alone
}

TEST_CASE("zero_ahead: a refused write leaves the file as long as it was, and waits a step",
          "[writer][zero_ahead]") {
  temp_dir dir;
  const std::string file = (dir / "log/data.mdb").string();
  auto log = open_log(dir.path(), true, 64u << 20);
  const std::size_t size = file_size(file);
  // RLIMIT_FSIZE makes a write past the limit fail with EFBIG (SIGXFSZ ignored).
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  rlimit lim = old;
  lim.rlim_cur = size + (64u << 10);  // less than a step (1 MiB for a fresh log)
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  zero_ahead ahead;
  auto r = ahead.keep_ahead(log->raw_env(), log->used_bytes());
  auto again = ahead.keep_ahead(log->raw_env(), log->used_bytes());  // no new try yet
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
  ::signal(SIGXFSZ, old_handler);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == make_error_code(errc::storage_full));
  CHECK(again);
  CHECK(file_size(file) == size);
  // The log still takes records (past the file's end, as before).
  log_writer writer(*log);
  auto o = writer.append(make_event("t", "type.a", "e", 1000));
  REQUIRE(o);
  CHECK(o->seq == 1);
}
