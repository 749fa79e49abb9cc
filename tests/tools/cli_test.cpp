// The hooklog command line: verify, rebuild (and rebuild --check), and the data-directory lock.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "projections/state_store.hpp"
#include "support/hooklog_server.hpp"
#include "hooklog_build_paths.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

// n distinct events (jelp de-duplicates identical bodies: "n" makes each body its own).
void ingest_some(hooklog_server& s, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = s.call("POST", "/v1/sources/jelp/events?type=order_update:status_change",
                    R"({"folio":"F)" + std::to_string(i % 3) + R"(","n":)" + std::to_string(i) +
                        R"(,"status":"TRANSIT","timestamp":"2024-02-10T00:10:00Z","workspace":"jelp"})");
    REQUIRE(r.status == 202);
    REQUIRE(r.json["duplicate"] == false);
  }
}

}  // namespace

TEST_CASE("hooklog verify: exit 0 on a sound log, 1 naming the first bad record", "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  {
    hooklog_server s({}, data);
    ingest_some(s, 20);
    // While the server runs, verify (read-only) works too.
    auto live = run_hooklog({"verify", "--data", data});
    CHECK(live.exit_code == 0);
  }
  auto ok = run_hooklog({"verify", "--data", data});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("OK: 20 records verified") != std::string::npos);

  flip_byte(data, 7);  // one byte of record 7's body
  auto bad = run_hooklog({"verify", "--data", data});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("BAD: record 7: record checksum mismatch") != std::string::npos);
  auto range = run_hooklog({"verify", "--data", data, "--from", "1", "--to", "6"});
  CHECK(range.exit_code == 0);
  auto missing = run_hooklog({"verify", "--data", (dir.path() / "nothing").string()});
  CHECK(missing.exit_code == 2);
}

TEST_CASE("hooklog rebuild and the data-directory lock", "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  {
    hooklog_server s({}, data);
    ingest_some(s, 30);
    // A second server on the same directory refuses to start, naming why.
    child_process second(HOOKLOG_BINARY, {"serve", "--listen", "127.0.0.1:0", "--data", data});
    auto st = second.wait_exit(std::chrono::seconds(20));
    REQUIRE(st);
    CHECK(WEXITSTATUS(*st) == 1);
    // So does rebuild while the server runs.
    CHECK(run_hooklog({"rebuild", "--data", data}).exit_code == 1);
  }
  auto r = run_hooklog({"rebuild", "--data", data, "timelines"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("rebuilt timelines from 30 records") != std::string::npos);
  hooklog_server s({}, data);
  auto t = s.get("/v1/entities/order/F1/timeline");
  REQUIRE(t.status == 200);
  CHECK(t.json["transitions"].size() == 10);
}

TEST_CASE("hooklog rebuild --check: exit 0 when equal to a rebuild, 1 naming the difference",
          "[cli]") {
  temp_dir dir;
  const std::string data = (dir.path() / "data").string();
  {
    hooklog_server s({}, data);
    ingest_some(s, 30);
    // The server holds the data directory's lock.
    CHECK(run_hooklog({"rebuild", "--check", "--data", data}).exit_code == 1);
  }
  auto ok = run_hooklog({"rebuild", "--check", "--data", data});
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("projections equal a rebuild at seq 30") != std::string::npos);
  // A rebuild under a memory bound of 1 MiB (--rebuild-memory) builds the same state.
  auto small = run_hooklog({"rebuild", "--check", "--rebuild-memory", "1", "--data", data});
  INFO(small.out);
  CHECK(small.exit_code == 0);
  CHECK(small.out.find("projections equal a rebuild at seq 30") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "data" / "state.check"));

  // Change one value of the timelines' state, as a bug in the incremental path would.
  {
    auto st = projections::state_store::open({.dir = data + "/state"});
    REQUIRE(st);
    auto t = (*st)->begin_write();
    REQUIRE(t);
    auto d = (*st)->open_db(*t, "tl_transitions");
    REQUIRE(d);
    auto c = lmdb::cursor::open(*t, *d);
    REQUIRE(c);
    auto kv = c->first();
    REQUIRE((kv && *kv));
    const std::string key((*kv)->first);
    std::string value((*kv)->second);
    REQUIRE(!value.empty());
    *c = lmdb::cursor();
    value.back() ^= 1;
    REQUIRE(d->put(*t, key, value));
    REQUIRE(t->commit());
  }
  auto bad = run_hooklog({"rebuild", "--check", "--data", data});
  INFO(bad.out);
  CHECK(bad.exit_code == 1);
  const std::string named =
      "projection timelines differs from a rebuild at seq 30: database tl_transitions, key ";
  CHECK(bad.out.find(named) != std::string::npos);
  CHECK(bad.out.find(": values differ") != std::string::npos);
  // A rebuild repairs it.
  CHECK(run_hooklog({"rebuild", "--data", data, "timelines"}).exit_code == 0);
  CHECK(run_hooklog({"rebuild", "--check", "--data", data}).exit_code == 0);
}
