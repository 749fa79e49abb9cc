// Timeline transitions held in memory across batches (projections/timeline_held.hpp,
// timelines.hpp "Held across batches"): what a crash loses is applied again at the next open, a
// reader whose transaction a write-out passed is told to read again, and readers racing the
// write-outs see every transition once.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "projections/key_codec.hpp"
#include "rebuild_log.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr std::int64_t kMin = 60'000'000;

// Opens f's runner holding timeline transitions (written past `held_max`; no write-out at a
// sync during a test; by default no bulk load, which would hold the first batches itself), and
// starts it.
void start_holding(fixture& f, std::size_t held_max, bool bulk_rebuild = false) {
  f.ropts.timelines_held_max = held_max;
  f.ropts.sync_interval = std::chrono::hours(1);
  f.ropts.bulk_rebuild = bulk_rebuild;
  f.open_runner();
  f.runner->start();
}

// Appends job J1's transition to status S<i>, a minute after S<i-1>; returns its seq.
std::uint64_t add_status(fixture& f, int i) {
  return f.append(event("t", "x", {}, "job", "J1", "", "S" + std::to_string(i),
                        1'707'500'000'000'000 + i * kMin));
}

// J1's timeline as read with `t`, which must find it.
projections::timeline j1_in(fixture& f, lmdb::txn& t) {
  auto tl = f.runner->timeline().get(t, "t", "job", "J1");
  REQUIRE(tl);
  REQUIRE(*tl);
  return std::move(**tl);
}

// A read of J1's timeline with `t` is told to read again.
void check_read_again(fixture& f, lmdb::txn& t) {
  auto tl = f.runner->timeline().get(t, "t", "job", "J1");
  REQUIRE_FALSE(tl);
  CHECK(tl.err().code == projections::proj_errc::read_again);
}

// J1's timeline as read_timeline() reads it now (reading again where it must).
projections::timeline j1_now(fixture& f) {
  auto tl = f.runner->read_timeline("t", "job", "J1");
  REQUIRE(tl);
  REQUIRE(*tl);
  return std::move(**tl);
}
}  // namespace

TEST_CASE(
    "timelines held across batches: a process killed while holding them loses nothing: "
    "the next open applies the held records again") {
  // Held: all of them (none written before the kill), or written whenever 50 are held.
  const std::size_t held_max = GENERATE(std::size_t{1'000'000}, std::size_t{50});
  INFO("held_max " << held_max);
  reference ref(150);  // the incremental state, every batch's transitions written
  auto& f = ref.f;
  const std::string state = (f.dir / "state-killed").string();
  // The child follows the log holding the transitions (no sync in the hour; with 1,000,000
  // none written), then dies.
  run_and_kill(
      ref, state,
      [&](projections::runner_options& o) {
        o.bulk_rebuild = false;
        o.timelines_held_max = held_max;
        o.sync_interval = std::chrono::hours(1);
      },
      [&](projections::projection_runner& r) {
        r.start();
        if (!r.wait_applied(ref.last, std::chrono::seconds(60))) return false;
        // (Its thread is idle once applied: no record left, no sync in the hour.)
        return held_max < 1000 || r.timeline().held_count() > 0;
      });

  // The other projections' checkpoints reached the log's end; timelines' stayed before its
  // first held transition, and tl_* hold nothing past it.
  auto cps = raw_checkpoints(state);
  REQUIRE(cps.count("stats") == 1);
  CHECK(projections::keys::get_u64_be(cps.at("stats")) == ref.last);
  const std::uint64_t whole =
      cps.count("timelines") ? projections::keys::get_u64_be(cps.at("timelines")) : 0;
  CHECK(whole <= ref.last);
  const std::size_t on_disk = raw_db(state, "tl_transitions").size();
  if (held_max > 1000) {
    CHECK(whole < ref.last);
    CHECK(on_disk == 0);
  } else {
    CHECK(on_disk > 0);  // written every 50: some before the kill
  }
  CHECK(on_disk <= ref.state.at("tl_transitions").size());

  f.ropts.state_dir = state;
  f.ropts.bulk_rebuild = false;
  f.open_runner();
  CHECK(f.runner->checkpoint("timelines") == whole);
  CHECK(f.runner->checkpoint("stats") == ref.last);
  REQUIRE(f.runner->catch_up());
  CHECK_FALSE(f.runner->last_error());
  CHECK(f.runner->applied_seq() == ref.last);
  CHECK(dump_state(*f.runner, ref.dbs) == ref.state);
}

TEST_CASE(
    "timelines held across batches: a read transaction begun before a write-out is told to "
    "read again, and read_timeline() does") {
  fixture f(/*batch=*/4);
  start_holding(f, 1'000'000);
  std::uint64_t last = 0;
  for (int i = 0; i < 40; ++i) last = add_status(f, i);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
  CHECK(f.runner->timeline().held_count() == 40);
  auto before = f.read();
  const auto held = j1_in(f, before);  // held, not written: the read merges them
  CHECK(held.transitions.size() == 40);
  CHECK(held.current_status == "S39");
  f.runner->stop();  // writes what is held (and so does a catch-up)
  CHECK(f.runner->timeline().held_count() == 0);
  check_read_again(f, before);
  before.abort();
  const auto fresh = j1_now(f);
  CHECK(fresh.transitions.size() == 40);
  CHECK(fresh.transitions.back().from == "S38");
}

TEST_CASE(
    "timelines held across batches: readers racing write-outs see each transition once, "
    "in order, never fewer than before") {
  // Batches of a few records, a write-out whenever 5 are held: thousands of write-outs while
  // two readers read the one entity's timeline (read_timeline: read again when passed).
  fixture f(/*batch=*/3);
  start_holding(f, 5);
  constexpr int kEvents = 1500;
  std::vector<std::uint64_t> seqs;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, reads{0};
  auto reader = [&] {
    std::size_t seen = 0;
    while (!done.load()) {
      auto tl = f.runner->read_timeline("t", "job", "J1");
      if (!tl) {
        ++failures;
        continue;
      }
      ++reads;
      if (!*tl) continue;  // before the first transition
      const auto& tr = (*tl)->transitions;
      bool ok = tr.size() >= seen;
      for (std::size_t i = 0; ok && i < tr.size(); ++i)
        ok = tr[i].to == "S" + std::to_string(i) && !tr[i].out_of_order &&
             (i == 0 ? tr[i].from.empty() : tr[i].from == tr[i - 1].to);
      if (!ok) ++failures;
      seen = tr.size();
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 0; i < kEvents; ++i) {
    seqs.push_back(add_status(f, i));
    if (i % 7 == 0) f.runner->wait_applied(seqs.back(), std::chrono::seconds(30));
  }
  REQUIRE(f.runner->wait_applied(seqs.back(), std::chrono::seconds(30)));
  done.store(true);
  r1.join();
  r2.join();
  CHECK(failures.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(f.runner->batch_count() > 100);
  const auto all = j1_now(f);
  REQUIRE(all.transitions.size() == kEvents);
  CHECK(all.transitions.back().seq == seqs.back());
}

TEST_CASE(
    "timelines held across batches: a failed batch keeps what the batches before held, and "
    "the write-out it rolled back is written by the next") {
  // Write-outs mid-batch whenever 5 are unwritten, so the failing batch writes what the batches
  // before held and is then rolled back; the state in the end equals one written batch by batch.
  fixture f(/*batch=*/10);
  f.ropts.timelines_staged_max = 5;
  f.ropts.retry_pause = std::chrono::milliseconds(10);
  start_holding(f, 1'000'000);
  auto append_part = [&](int from, int to) {  // one log commit: the next batch reads 10
    std::vector<record> part;
    for (int i = from; i < to; ++i)
      part.push_back(event("t", "x", {}, "job", "J" + std::to_string(i % 7), "",
                           "S" + std::to_string(i),
                           1'707'500'000'000'000 + (i % 5 == 0 ? i - 9 : i) * kMin));
    return f.append_all(std::move(part)).back();
  };
  REQUIRE(f.runner->wait_applied(append_part(0, 33), std::chrono::seconds(30)));
  f.runner->fail_next_batch_after(3);
  const std::uint64_t last = append_part(33, 80);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
  CHECK(f.runner->error_count() == 1);
  CHECK_FALSE(f.runner->last_error());
  // Reads merged what is held, as a reference runner that writes every batch reads from disk.
  projections::runner_options o = f.ropts;
  o.state_dir = (f.dir / "state-reference").string();
  o.timelines_held_max = 0;
  auto ref = projections::projection_runner::open(*f.log, o);
  REQUIRE(ref);
  REQUIRE((*ref)->catch_up());
  for (int e = 0; e < 7; ++e) {
    const std::string id = "J" + std::to_string(e);
    INFO(id);
    auto got = f.runner->read_timeline("t", "job", id);
    auto want = (*ref)->read_timeline("t", "job", id);
    REQUIRE(got);
    REQUIRE(want);
    REQUIRE(*got);
    REQUIRE(*want);
    CHECK(projections::to_json(**got) == projections::to_json(**want));
  }
  f.runner->stop();  // writes what is held
  const auto dbs = all_state_dbs(*f.runner);
  CHECK(dump_state(*f.runner, dbs) == dump_state(**ref, dbs));
}

// A rebuild of timelines drops tl_* and what is held. A reader whose transaction began before
// it must not join its old tl_* with what is held after (transitions from the middle went
// missing, the status was stale): the generation the reset wrote beside the checkpoint tells
// it to read again.
TEST_CASE(
    "timelines held across batches: a read transaction begun before a rebuild of "
    "timelines is told to read again") {
  const bool bulk = GENERATE(true, false);
  fixture f(/*batch=*/4);
  start_holding(f, 1'000'000, bulk);
  std::uint64_t last = 0;
  auto add = [&](int i) { last = add_status(f, i); };
  for (int i = 0; i < 10; ++i) add(i);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
  f.runner->stop();  // writes S0..S9 into tl_*
  f.runner->start();
  for (int i = 10; i < 20; ++i) add(i);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
  CHECK(f.runner->timeline().held_count() == 10);
  auto before = f.read();
  CHECK(j1_in(f, before).transitions.size() == 20);
  REQUIRE(f.runner->rebuild("timelines"));
  check_read_again(f, before);
  add(20);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
  check_read_again(f, before);
  before.abort();
  const auto fresh = j1_now(f);
  REQUIRE(fresh.transitions.size() == 21);
  for (std::size_t i = 0; i < 21; ++i) CHECK(fresh.transitions[i].seq == i + 1);
  CHECK(fresh.current_status == "S20");
  f.runner->stop();
}

// A bulk load writes tl_* itself and stores the checkpoint at its end. A reader whose
// transaction began before that (checkpoint 0, tl_* empty or partial) must not take the
// transitions held after the load for the whole timeline.
TEST_CASE(
    "timelines held across batches: a read transaction begun before a bulk load's end "
    "is told to read again") {
  fixture f(/*batch=*/4);
  std::uint64_t last = 0;
  auto add = [&](int i) { last = add_status(f, i); };
  for (int i = 0; i < 20; ++i) add(i);
  f.ropts.timelines_held_max = 1'000'000;
  f.ropts.sync_interval = std::chrono::hours(1);
  f.ropts.bulk_rebuild = true;
  f.open_runner();  // an empty state: the first catch-up is a bulk load
  auto during = f.read();
  REQUIRE(f.runner->catch_up());  // loads S0..S19, writes them at its end
  f.runner->start();              // its batches hold what follows (no write-out at a sync)
  add(20);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
  CHECK(f.runner->timeline().held_count() == 1);
  check_read_again(f, during);
  during.abort();
  const auto fresh = j1_now(f);
  CHECK(fresh.transitions.size() == 21);
  CHECK(fresh.current_status == "S20");
  f.runner->stop();
}
