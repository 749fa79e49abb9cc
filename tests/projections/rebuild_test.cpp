// The rule that matters: rebuilding any projection from the log gives byte for
// byte the state the incremental path built; and a catch-up interrupted at any
// point resumes from its checkpoint without double counting.
#include <catch2/catch.hpp>

#include "rebuild_log.hpp"

using namespace hooklog;
using namespace hooklog::test;

TEST_CASE("rebuilding any projection gives byte for byte the incremental state") {
  fixture f(/*batch=*/97);  // small batches: many batch boundaries on the incremental path
  f.runner->start();
  const auto last = build_log(f, /*follow=*/true);
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(60)));
  CHECK(f.runner->lag() == 0);
  REQUIRE_FALSE(f.runner->last_error());
  // Timelines hold their newest transitions in memory across batches (timelines.hpp); a
  // synchronous catch-up writes them, so the state on disk is whole.
  REQUIRE(f.runner->catch_up());
  CHECK(f.runner->timeline().held_count() == 0);
  const auto dbs = all_state_dbs(*f.runner);
  const auto incremental = dump_state(*f.runner, dbs);
  check_due_order(f);
  // Items that share a due key (several endpoints of one event) and keys of one item both occur.
  {
    auto t = f.read();
    auto d = f.runner->queue().due_items(t, INT64_MAX, SIZE_MAX);
    REQUIRE(d);
    std::size_t shared = 0;
    for (std::size_t i = 1; i < d->size(); ++i)
      shared += (*d)[i].due_us == (*d)[i - 1].due_us && (*d)[i].event_seq == (*d)[i - 1].event_seq;
    CHECK(shared > 0);
    CHECK(incremental.at("pending_due").size() == d->size() - shared);  // one key per (due, event)
  }

  // Sanity: the log exercised every projection.
  for (const auto& name : dbs) {
    INFO(name);
    CHECK(!incremental.at(name).empty());
  }
  std::uint64_t kinds = 0;
  REQUIRE(f.log->for_each(1, last, [&](const record_view& r) {
    kinds |= 1ull << static_cast<int>(r.kind);
    return true;
  }));
  for (int k = 1; k <= kMaxRecordKind; ++k) {
    INFO(k);
    CHECK((kinds & (1ull << k)) != 0);
  }

  // One rebuild with the runner thread following, the rest synchronous.
  REQUIRE(f.runner->rebuild("pending"));
  CHECK(dump_state(*f.runner, dbs) == incremental);
  f.runner->stop();
  for (const char* name : {"subscriptions", "timelines", "stats", "pending", "all"}) {
    INFO("rebuild " << name);
    REQUIRE(f.runner->rebuild(name));
    CHECK(f.runner->checkpoint("pending") == last);
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
  auto bad = f.runner->rebuild("nope");
  CHECK_FALSE(bad.ok());

  // A rebuild in one big batch gives the same bytes too.
  f.ropts.batch_records = 1'000'000;
  f.open_runner();
  REQUIRE(f.runner->rebuild("all"));
  CHECK(dump_state(*f.runner, dbs) == incremental);

  // And one whose staged pending_ix entries are written out mid-batch every 3 items.
  f.ropts.pending_staged_max = 3;
  f.open_runner();
  REQUIRE(f.runner->rebuild("all"));
  CHECK(dump_state(*f.runner, dbs) == incremental);

  // And one whose staged timeline transitions are written out mid-batch every 3 (and every 1).
  for (std::size_t max : {3, 1}) {
    INFO("timelines_staged_max " << max);
    f.ropts.timelines_staged_max = max;
    f.open_runner();
    REQUIRE(f.runner->rebuild("all"));
    CHECK(dump_state(*f.runner, dbs) == incremental);
  }
}

TEST_CASE("a catch-up killed midway resumes from its checkpoint without double counting") {
  fixture f(/*batch=*/50);
  const auto last = build_log(f, /*follow=*/false, 150);
  const auto dbs = all_state_dbs(*f.runner);

  // Reference: a fresh state env caught up in one go.
  projections::runner_options ref_opts = f.ropts;
  ref_opts.state_dir = (f.dir / "state-ref").string();
  ref_opts.batch_records = 1'000'000;
  auto ref = projections::projection_runner::open(*f.log, ref_opts);
  REQUIRE(ref);
  REQUIRE((*ref)->catch_up());
  const auto expected = dump_state(**ref, dbs);
  ref->reset();

  // Three batches, then the runner goes away between commits. The state dir was empty: a bulk
  // load, whose progress counts once its staged state is written (here by the destructor).
  auto n = f.runner->catch_up(UINT64_MAX, 3);
  REQUIRE(n);
  CHECK(*n == 150);
  CHECK(f.runner->applied_seq() == 0);
  CHECK(f.runner->checkpoint("timelines") == 150);
  f.open_runner();
  CHECK(f.runner->applied_seq() == 150);
  CHECK(f.runner->lag() == last - 150);

  // A batch that fails halfway is rolled back, memory included, and retried.
  f.runner->fail_next_batch_after(20);
  auto failed = f.runner->catch_up(UINT64_MAX, 1);
  CHECK_FALSE(failed.ok());
  CHECK(f.runner->applied_seq() == 150);
  CHECK(f.runner->last_error());

  REQUIRE(f.runner->catch_up());
  CHECK(f.runner->applied_seq() == last);
  CHECK(dump_state(*f.runner, dbs) == expected);
}

TEST_CASE("first_difference compares two states byte for byte and names the first difference") {
  fixture f(/*batch=*/40);
  const auto last = build_log(f, /*follow=*/false, 60);
  REQUIRE(f.runner->catch_up());
  projections::runner_options ref_opts = f.ropts;
  ref_opts.state_dir = (f.dir / "state-ref").string();
  auto ref = projections::projection_runner::open(*f.log, ref_opts);
  REQUIRE(ref);
  REQUIRE((*ref)->catch_up());
  REQUIRE((*ref)->applied_seq() == last);

  projections::compare_totals n;
  auto same = projections::first_difference(*f.runner, **ref, &n, "live", "rebuilt");
  REQUIRE(same);
  CHECK_FALSE(*same);
  CHECK(n.databases == all_state_dbs(*f.runner).size());
  CHECK(n.keys > 1000);

  // A changed value, a missing key and an extra key are each named with their owner.
  auto edit = [&](const std::string& db, auto change) {
    auto t = (*ref)->store().begin_write();
    REQUIRE(t);
    auto d = (*ref)->store().db(db);
    REQUIRE(d);
    auto c = lmdb::cursor::open(*t, *d);
    REQUIRE(c);
    auto kv = c->first();
    REQUIRE((kv && *kv));
    const std::string key((*kv)->first), value((*kv)->second);
    *c = lmdb::cursor();
    change(*t, *d, key, value);
    REQUIRE(t->commit());
    return key;
  };
  auto key =
      edit("stats_type", [](lmdb::txn& t, lmdb::dbi& d, const std::string& k, std::string v) {
        v.back() ^= 1;
        REQUIRE(d.put(t, k, v));
      });
  auto diff = projections::first_difference(*f.runner, **ref, nullptr, "live", "rebuilt");
  REQUIRE(diff);
  REQUIRE(*diff);
  CHECK((*diff)->projection == "stats");
  CHECK((*diff)->database == "stats_type");
  CHECK((*diff)->key == key);
  CHECK((*diff)->what == "values differ");

  key = edit("pending_ix", [](lmdb::txn& t, lmdb::dbi& d, const std::string& k,
                              const std::string&) { REQUIRE(d.del(t, k)); });
  diff = projections::first_difference(*f.runner, **ref, nullptr, "live", "rebuilt");
  REQUIRE((diff && *diff));
  CHECK((*diff)->projection == "pending");
  CHECK((*diff)->database == "pending_ix");
  CHECK((*diff)->key == key);
  CHECK((*diff)->what == "only in live");
  CHECK(projections::printable_key(std::string("ep\0\x01", 4)) == "ep\\x00\\x01");

  edit("sub_endpoints", [](lmdb::txn& t, lmdb::dbi& d, const std::string&, const std::string&) {
    REQUIRE(d.put(t, std::string(1, '\0'), "x"));
  });
  diff = projections::first_difference(*f.runner, **ref, nullptr, "live", "rebuilt");
  REQUIRE((diff && *diff));
  CHECK((*diff)->projection == "subscriptions");
  CHECK((*diff)->key == std::string(1, '\0'));
  CHECK((*diff)->what == "only in rebuilt");
}

TEST_CASE("the runner follows commits, gives read-your-writes and reports lag") {
  fixture f;
  f.runner->start();
  auto s = f.append(create_endpoint("t", "ep", {"*"}));
  REQUIRE(f.runner->wait_applied(s, std::chrono::seconds(5)));
  {
    auto t = f.read();
    CHECK(f.runner->subs().get(t, "ep")->has_value());
  }
  // Idle for a while, then a commit is seen promptly.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  auto start = std::chrono::steady_clock::now();
  auto e = f.append(event("t", "order_new"));
  REQUIRE(f.runner->wait_applied(e, std::chrono::seconds(5)));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::milliseconds(50));
  CHECK(f.runner->lag() == 0);
  CHECK_FALSE(f.runner->wait_applied(e + 1, std::chrono::milliseconds(20)));
  f.runner->stop();
  // Stopped: new commits are not applied until catch_up()/start().
  auto e2 = f.append(event("t", "order_new"));
  CHECK(f.runner->lag() == 1);
  f.runner->start();
  REQUIRE(f.runner->wait_applied(e2, std::chrono::seconds(5)));
  // State survives a restart.
  f.open_runner();
  CHECK(f.runner->applied_seq() == e2);
  auto t = f.read();
  auto c = f.runner->queue().counts(t, "ep");
  REQUIRE(c);
  CHECK(c->queued == 2);
}
