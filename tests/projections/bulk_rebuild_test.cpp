// A rebuild from empty (bulk load, runner.hpp): timelines and pending stage their writes across
// batches, spill sorted runs past the memory bound, and write each database once in key order.
// The state must equal the incremental one byte for byte (overwrites and deletes included:
// retries, dead letters, deliveries, disabled endpoints, replays, late timeline arrivals), and a
// load that fails or is killed midway must leave a state that a later open rebuilds correctly,
// with no run file left behind.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include <catch2/catch.hpp>
#include <filesystem>

#include "projections/key_codec.hpp"
#include "projections/state_store.hpp"
#include "rebuild_log.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

std::size_t files_in(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return 0;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    ++n;
  return n;
}

}  // namespace

TEST_CASE("bulk rebuild: sorted runs spilled past a tiny bound give the incremental state") {
  reference ref(300);
  auto& f = ref.f;
  for (const auto& name : ref.dbs) {
    INFO(name);
    CHECK(!ref.state.at(name).empty());
  }
  const std::string runs = (f.dir / "state/rebuild-runs").string();
  struct variant {
    std::size_t batch, memory;
  };
  // 1 byte: every batch spills a run and pending writes its entries out at every item; 64 KiB:
  // runs of several batches; 1 GiB: everything in memory; one batch of the whole log.
  for (auto v :
       {variant{97, 1}, variant{97, 64 << 10}, variant{97, 1u << 30}, variant{1'000'000, 1}}) {
    for (const char* name : {"all", "timelines", "pending"}) {
      INFO("batch " << v.batch << ", memory " << v.memory << ", rebuild " << name);
      f.ropts.batch_records = v.batch;
      f.ropts.rebuild_memory = v.memory;
      f.open_runner();
      REQUIRE(f.runner->rebuild(name));
      CHECK(f.runner->applied_seq() == ref.last);
      CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
      CHECK(files_in(runs) == 0);
    }
  }

  // Midway through a load with a tiny bound, the runs are on disk and the checkpoints in the
  // store still say 0 (marked as a bulk load); applied_seq() does not count the staged records.
  f.ropts.batch_records = 97;
  f.ropts.rebuild_memory = 1;
  const std::string state2 = (f.dir / "state-fresh").string();
  f.ropts.state_dir = state2;
  f.open_runner();
  auto n = f.runner->catch_up(UINT64_MAX, 10);
  REQUIRE(n);
  CHECK(*n == 970);
  // timelines: one run per batch that staged a transition
  CHECK(files_in(state2 + "/rebuild-runs") >= 5);
  CHECK(files_in(state2 + "/rebuild-runs") <= 10);
  CHECK(f.runner->applied_seq() == 0);
  CHECK(f.runner->checkpoint("timelines") == 970);
  REQUIRE(f.runner->catch_up());
  CHECK(f.runner->applied_seq() == ref.last);
  CHECK(files_in(state2 + "/rebuild-runs") == 0);
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
}

TEST_CASE("bulk rebuild: a batch that fails midway restarts the load and removes its runs") {
  reference ref(150);
  auto& f = ref.f;
  f.ropts.batch_records = 97;
  f.ropts.rebuild_memory = 1;
  f.ropts.state_dir = (f.dir / "state-fresh").string();
  const std::string runs = f.ropts.state_dir + "/rebuild-runs";
  f.open_runner();
  REQUIRE(f.runner->catch_up(UINT64_MAX, 5));
  CHECK(files_in(runs) >= 2);
  f.runner->fail_next_batch_after(40);
  auto failed = f.runner->catch_up(UINT64_MAX, 1);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.err().message == "injected batch failure (test hook)");
  CHECK(files_in(runs) == 0);  // the staged writes were dropped with their files
  CHECK(f.runner->applied_seq() == 0);
  // The next batch starts the load again from seq 1.
  auto again = f.runner->catch_up(UINT64_MAX, 1);
  REQUIRE(again);
  CHECK(*again == 97);
  CHECK(f.runner->checkpoint("pending") == 97);
  CHECK(f.runner->checkpoint("subscriptions") == 97);
  REQUIRE(f.runner->catch_up());
  CHECK_FALSE(f.runner->last_error());
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
  CHECK(files_in(runs) == 0);
}

TEST_CASE("bulk rebuild: a load killed midway is dropped and rebuilt at the next open") {
  reference ref(150);
  auto& f = ref.f;
  const std::string state = (f.dir / "state-killed").string();
  const std::string runs = state + "/rebuild-runs";
  // The child dies after 5 committed batches of a bulk load.
  run_and_kill(
      ref, state, [](projections::runner_options& o) { o.rebuild_memory = 1; },
      [](projections::projection_runner& r) {
        auto n = r.catch_up(UINT64_MAX, 5);
        return n && *n == 485;
      });

  // What the crash left: runs on disk, partial pending databases, checkpoints of 0 for the loads
  // (none written) beside their marks; stats (not a bulk load) committed its batches.
  CHECK(files_in(runs) >= 2);
  auto cps = raw_checkpoints(state);
  CHECK(cps.count("timelines.bulk") == 1);
  CHECK(cps.count("pending.bulk") == 1);
  for (const char* name : {"timelines", "pending"})  // 0 (written by the reset at open) or none
    CHECK((cps.count(name) == 0 || projections::keys::get_u64_be(cps.at(name)) == 0));
  REQUIRE(cps.count("stats") == 1);
  CHECK(projections::keys::get_u64_be(cps.at("stats")) == 485);

  f.ropts.state_dir = state;
  f.ropts.batch_records = 97;
  f.ropts.rebuild_memory = 1;
  f.open_runner();
  CHECK(files_in(runs) == 0);  // removed at open
  CHECK(f.runner->checkpoint("pending") == 0);
  CHECK(f.runner->checkpoint("subscriptions") == 0);  // pending's dependency, reset with it
  CHECK(f.runner->checkpoint("stats") == 485);
  REQUIRE(f.runner->catch_up());
  CHECK(f.runner->applied_seq() == ref.last);
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
  CHECK(files_in(runs) == 0);
}

namespace {
std::size_t last_txnid(projections::projection_runner& r) {
  MDB_envinfo info{};
  mdb_env_info(r.store().env().handle(), &info);
  return info.me_last_txnid;
}
}  // namespace

TEST_CASE("bulk rebuild: each load is written in a transaction of its own, and a crash between two "
          "leaves the written one and rebuilds the other") {
  reference ref(150);
  auto& f = ref.f;
  f.ropts.state_dir = (f.dir / "state-split").string();
  f.ropts.batch_records = 97;
  f.open_runner();
  // Every batch but the last: one transaction each (the loads' marks, per-batch databases).
  const std::uint64_t batches = (ref.last + 96) / 97;
  REQUIRE(f.runner->catch_up(UINT64_MAX, batches - 1));
  CHECK(f.runner->applied_seq() == 0);
  const std::size_t before = last_txnid(*f.runner);
  REQUIRE(f.runner->catch_up(UINT64_MAX, 1));  // the last batch: it ends the loads
  // The batch, then timelines' write-out, then pending's: LMDB reuses the first write-out's
  // pages in the second (PERFORMANCE.md, rebuild eighth pass).
  CHECK(last_txnid(*f.runner) - before == 3);
  CHECK(f.runner->applied_seq() == ref.last);
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
  f.runner.reset();

  // What a crash after timelines' write-out and before pending's leaves: timelines at the end,
  // pending at 0 with its mark. The next open resets pending and its dependency only.
  {
    auto s = projections::state_store::open({.dir = f.ropts.state_dir});
    REQUIRE(s);
    auto t = (*s)->begin_write();
    REQUIRE(t);
    auto d = (*s)->open_db(*t, "checkpoints");
    REQUIRE(d);
    std::string zero;
    projections::keys::put_u64_be(zero, 0);
    REQUIRE(d->put(*t, "pending", zero));
    REQUIRE(d->put(*t, "pending.bulk", ""));
    REQUIRE(t->commit());
  }
  f.open_runner();
  CHECK(f.runner->checkpoint("timelines") == ref.last);
  CHECK(f.runner->checkpoint("pending") == 0);
  CHECK(f.runner->checkpoint("subscriptions") == 0);
  REQUIRE(f.runner->catch_up());
  CHECK(f.runner->applied_seq() == ref.last);
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
}

TEST_CASE("bulk rebuild: a write-out in parts of 1 KiB gives the incremental state, and one stopped "
          "between two parts is rebuilt") {
  constexpr std::size_t kPart = 1024;
  reference ref(150);
  auto& f = ref.f;
  f.ropts.batch_records = 97;
  f.ropts.write_out_part_bytes = kPart;
  // The parts of a write-out as bulk_writer counts them: every key put once, in key order (key,
  // value and 10 bytes of node). Timelines puts per entity (one bucket here) its tl_latest entry,
  // its tl_buckets key (empty value), then its tl_transitions keys.
  auto parts_of = [&](const std::string& db) {
    std::size_t parts = 0, bytes = 0;
    const std::map<std::string, std::string> latest(ref.state.at("tl_latest").begin(),
                                                    ref.state.at("tl_latest").end());
    std::string group;
    auto add = [&](std::size_t n) {
      if ((bytes += n + 10) >= kPart) ++parts, bytes = 0;
    };
    for (const auto& [k, v] : ref.state.at(db)) {
      if (db == "tl_transitions" && k.compare(0, k.size() - 16, group) != 0) {
        group = k.substr(0, k.size() - 16);
        const std::string entity = group.substr(4);
        add(entity.size() + latest.at(entity).size());
        add(entity.size() + 4);
      }
      add(k.size() + v.size());
    }
    return parts;
  };
  const std::size_t tl_parts = parts_of("tl_transitions");
  REQUIRE(tl_parts >= 10);
  const std::uint64_t batches = (ref.last + 96) / 97;

  SECTION("in parts") {
    f.ropts.state_dir = (f.dir / "state-parts").string();
    f.open_runner();
    REQUIRE(f.runner->catch_up(UINT64_MAX, batches - 1));
    const std::size_t before = last_txnid(*f.runner);
    REQUIRE(f.runner->catch_up(UINT64_MAX, 1));
    // The batch; timelines' parts and its last; pending's (at least one: its staged pending_ix
    // entries are a subset of the final ones, so at most as many parts) and its last.
    const std::size_t txns = last_txnid(*f.runner) - before;
    CHECK(txns >= 1 + tl_parts + 1 + 1 + 1);
    CHECK(txns <= 1 + tl_parts + 1 + parts_of("pending_ix") + 1);
    CHECK(f.runner->applied_seq() == ref.last);
    CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
  }
  for (const std::size_t stop : {std::size_t{3}, tl_parts + 1}) {
    DYNAMIC_SECTION("stopped after part " << stop) {
      const bool in_timelines = stop <= tl_parts;
      f.ropts.state_dir = (f.dir / "state-stopped").string();
      f.open_runner();
      REQUIRE(f.runner->catch_up(UINT64_MAX, batches - 1));
      f.runner->fail_write_out_after_parts(stop);
      CHECK_FALSE(f.runner->catch_up(UINT64_MAX, 1));
      f.runner.reset();
      // What it left: the parts committed, the unfinished loads' marks with no checkpoint.
      auto cps = raw_checkpoints(f.ropts.state_dir);
      CHECK(cps.count("timelines.bulk") == (in_timelines ? 1u : 0u));
      CHECK(cps.count("pending.bulk") == 1);
      const std::size_t tl_keys = raw_db(f.ropts.state_dir, "tl_transitions").size();
      if (in_timelines) {
        CHECK(tl_keys > 0);
        CHECK(tl_keys < ref.state.at("tl_transitions").size());
      } else {
        CHECK(tl_keys == ref.state.at("tl_transitions").size());
        REQUIRE(cps.count("timelines") == 1);
        CHECK(projections::keys::get_u64_be(cps.at("timelines")) == ref.last);
      }
      f.open_runner();
      CHECK(f.runner->checkpoint("pending") == 0);
      CHECK(f.runner->checkpoint("subscriptions") == 0);
      CHECK(f.runner->checkpoint("timelines") == (in_timelines ? 0 : ref.last));
      REQUIRE(f.runner->catch_up());
      CHECK(f.runner->applied_seq() == ref.last);
      CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
    }
  }
}

TEST_CASE("bulk rebuild: pending_ix of endpoint ids that prefix each other is appended in key "
          "order") {
  // The write-out into the empty database appends without comparing keys: "a\0block" must sort
  // before "ab\0block" and "a-b\0block" for every block, as the endpoints' byte order says.
  fixture f(/*batch=*/7);
  const std::vector<std::string> eps = {"ab", "a", "b", "a-b", "aa"};
  for (const auto& ep : eps) f.append(create_endpoint("t1", ep, {"*"}));
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 70; ++i) seqs.push_back(f.append(event("t1", "order_new")));
  REQUIRE(f.runner->rebuild("all"));
  const auto dbs = all_state_dbs(*f.runner);
  const auto bulk = dump_state(*f.runner, dbs);
  // pending_ix: a key per (endpoint, block of 64 seqs): seqs 6..75 are two blocks; each
  // endpoint's items are its own, in event order.
  const auto& ix = bulk.at("pending_ix");
  REQUIRE(seqs.front() == 6);
  REQUIRE(ix.size() == eps.size() * 2);
  {
    auto t = f.read();
    for (const auto& ep : eps) {
      INFO(ep);
      auto items = f.runner->queue().items_for(t, ep, 0, 1000);
      REQUIRE(items);
      REQUIRE(items->size() == seqs.size());
      for (std::size_t i = 0; i < seqs.size(); ++i) {
        CHECK((*items)[i].endpoint_id == ep);
        CHECK((*items)[i].event_seq == seqs[i]);
      }
    }
  }
  // The same state as the per-batch path.
  f.ropts.bulk_rebuild = false;
  f.ropts.state_dir = (f.dir / "state-incremental").string();
  f.open_runner();
  f.sync();
  CHECK(dump_state(*f.runner, dbs) == bulk);
}

TEST_CASE(
    "bulk rebuild: rebuilding another projection while a load is under way restarts the "
    "load instead of losing what it staged") {
  reference ref(60);
  auto& f = ref.f;
  f.ropts.state_dir = (f.dir / "state-fresh").string();  // a fresh state: timelines and
  f.open_runner();                                       // pending load in bulk
  REQUIRE(f.runner->catch_up(UINT64_MAX, 2));            // two batches staged, not written
  // stats loads batch by batch; its rebuild reloads every projection, which drops the loads'
  // staged writes: those loads (and subscriptions, pending's dependency) start again from 0.
  REQUIRE(f.runner->rebuild("stats"));
  CHECK_FALSE(f.runner->last_error());
  CHECK(f.runner->applied_seq() == ref.last);
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
}
