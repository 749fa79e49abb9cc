// Data files cut short (a copy cut off; an env written without fsync that lost its tail in a
// power loss), and read-only tools beside a server whose map grows: each is named or worked
// around, never SIGBUS or a false BAD.
#include <sys/wait.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "hooklog_build_paths.hpp"
#include "support/eventually.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
namespace fs = std::filesystem;

namespace {

// Events first..first+n-1, each its own body (jelp de-duplicates identical ones).
void ingest_some(hooklog_server& s, int n, const std::string& pad = "", int first = 0) {
  std::string batch;
  for (int i = first; i < first + n; ++i)
    batch += R"({"folio":"F)" + std::to_string(i % 3) + R"(","n":)" + std::to_string(i) +
             R"(,"status":"S)" + std::to_string(i) +
             R"(","timestamp":"2024-02-10T00:10:00Z","workspace":"jelp","pad":")" + pad +
             "\"}\n";
  auto r = s.post_ndjson("/v1/sources/jelp/events:batch?type=order_update:status_change", batch);
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json["refused"] == 0);
}

std::string copy_of(const std::string& from, const temp_dir& dir, const std::string& name) {
  const std::string to = (dir.path() / name).string();
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

}  // namespace

TEST_CASE("cli: a data file cut short is named or rebuilt, never SIGBUS", "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  {
    hooklog_server s({"--no-deliver"}, data);
    ingest_some(s, 60, std::string(3000, 'p'));
    REQUIRE(eventually([&] { return s.get("/readyz").status == 200; }));
  }
  // The index env: derived, so verify (which does not need it) walks around it.
  const std::string a = copy_of(data, dir, "a");
  fs::resize_file(a + "/log/index/data.mdb", 16384);
  auto v = run_hooklog({"verify", "--data", a});
  INFO(v.out);
  CHECK(v.exit_code == 0);  // -1: killed by a signal (SIGBUS)
  CHECK(v.out.find("OK: 60 records verified") != std::string::npos);

  // The state env (written without fsync, so a power loss can cut its tail): the writer extends
  // it to its last page and LMDB refuses the zero pages (MDB_CORRUPTED) instead of a SIGBUS; a
  // state directory deleted is rebuilt from the log.
  const std::string b = copy_of(data, dir, "b");
  fs::resize_file(b + "/state/data.mdb", 20000);
  {
    child_process serve(HOOKLOG_BINARY, {"serve", "--listen", "127.0.0.1:0", "--data", b,
                                         "--admin-key", std::string(kAdminKey), "--no-deliver"});
    auto st = serve.wait_exit(std::chrono::seconds(30));
    REQUIRE(st);
    CHECK(WIFEXITED(*st));  // not killed by SIGBUS
    CHECK(WEXITSTATUS(*st) == 1);
  }
  fs::remove_all(b + "/state");
  {
    hooklog_server s({"--no-deliver"}, b);
    auto t = s.get("/v1/entities/order/F1/timeline");
    INFO(t.body);
    REQUIRE(t.status == 200);
    CHECK(t.json["transitions"].size() == 20);
  }

  // The log itself, read-only: refused at open, naming both sizes (exit 2), not SIGBUS (-1).
  const std::string c = copy_of(data, dir, "c");
  fs::resize_file(c + "/log/data.mdb", 65536);
  auto bad = run_hooklog({"verify", "--data", c});
  INFO(bad.out);
  CHECK(bad.exit_code == 2);
}

TEST_CASE("cli: verify --from past the head is a usage error, not an OK over nothing", "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  {
    hooklog_server s({"--no-deliver"}, data);
    ingest_some(s, 5);
  }
  auto r = run_hooklog({"verify", "--data", data, "--from", "100"});
  CHECK(r.exit_code == 2);  // it printed "OK: 0 records verified (100..5)", exit 0
  CHECK(r.out.find("OK") == std::string::npos);
}

TEST_CASE("cli: tail and verify read on while the server grows its map", "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  // A 64 MiB first map: 70 batches of 1 MiB grow it while tail follows.
  hooklog_server s({"--no-deliver"}, data);
  child_process tail(HOOKLOG_BINARY, {"tail", "--data", data, "--lines", "0"});
  for (int i = 0; i < 70; ++i) ingest_some(s, 250, std::string(4000, 'x'), i * 250);
  auto v = run_hooklog({"verify", "--data", data});
  INFO(v.out);
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("OK: 17500 records verified") != std::string::npos);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // tail polls the log
  CHECK(tail.running());  // it stopped with MDB_MAP_RESIZED
}

TEST_CASE("cli: a damaged page of the index env does not make a sound log BAD", "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  {
    hooklog_server s({"--no-deliver"}, data);
    auto post = [&](int i) {
      auto r = s.call("POST", "/v1/sources/standard/events",
                      R"({"type":"a.b","tenant":"t","data":{"n":)" + std::to_string(i) + "}}");
      REQUIRE(r.status == 202);
    };
    for (int i = 1; i <= 20; ++i) post(i);
    auto head = s.call("POST", "/v1/audit/heads");
    INFO(head.body);
    REQUIRE(head.status < 300);
    for (int i = 21; i <= 25; ++i) post(i);
  }
  // Each page in turn (which one holds the heads' index depends on the layout): the latest
  // head was looked up only through the index, and MDB_CORRUPTED made it "BAD".
  for (int page = 2; page <= 9; ++page) {
    const std::string c = copy_of(data, dir, "p" + std::to_string(page));
    {
      std::fstream f(c + "/log/index/data.mdb", std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(page * 4096);
      const std::string ff(4096, '\xff');
      f.write(ff.data(), static_cast<std::streamsize>(ff.size()));
    }
    auto v = run_hooklog({"verify", "--data", c});
    INFO("page " << page << ": " << v.out);
    CHECK(v.exit_code == 0);
    CHECK(v.out.find("the latest signed head (tree size 20) matches it") != std::string::npos);
  }
}
