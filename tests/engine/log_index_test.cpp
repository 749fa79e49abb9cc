// The log's index env (engine/log_index.hpp): caught up after a killed writer, rebuilt when
// missing, damaged, bound to another log or left open across a reboot; a format-1 log (the
// indexes inside the log env) read as it is by read-only opens and migrated by a writer.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "engine/acking_writer.hpp"
#include "engine/log_index.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::temp_dir;
namespace fs = std::filesystem;

namespace {

// Record i: its own entity, idempotency key and ref; tenant, type by i.
record numbered(int i) {
  record r = test::make_event("t" + std::to_string(i % 3), "type." + std::to_string(i % 5),
                              "e" + std::to_string(i), 1000 + i);
  r.idempotency_key = "k" + std::to_string(i);
  r.ref_seq = static_cast<std::uint64_t>(i % 4) + 1;
  r.body = "{\"i\":" + std::to_string(i) + "}";
  return r;
}

log_options opts(const std::string& dir, std::string boot = "boot-1") {
  log_options o;
  o.dir = dir;
  o.sync = false;
  o.initial_map_size = 1u << 20;
  o.boot_id = std::move(boot);
  return o;
}

std::unique_ptr<event_log> open_ok(const log_options& o) {
  auto l = event_log::open(o);
  if (!l) FAIL(l.err().message);
  return std::move(*l);
}

std::vector<std::uint64_t> seqs(const event_log& log, scan_query q) {
  return test::scan_seqs(log, q);
}

// Every query the indexes answer finds each of `acked` (record i -> seq); with `exact`, and
// nothing else (a killed writer may have committed records it never acknowledged).
void check_all_found(const event_log& log, const std::map<int, std::uint64_t>& acked,
                     bool exact = true) {
  auto same = [&](std::vector<std::uint64_t> got, std::vector<std::uint64_t> want) {
    std::sort(want.begin(), want.end());
    if (exact) {
      REQUIRE(got == want);
      return;
    }
    std::sort(got.begin(), got.end());
    REQUIRE(std::includes(got.begin(), got.end(), want.begin(), want.end()));
  };
  for (const auto& [i, seq] : acked) {
    scan_query by_entity;
    by_entity.entity_kind = "order";
    by_entity.entity_id = "e" + std::to_string(i);
    REQUIRE(seqs(log, by_entity) == std::vector<std::uint64_t>{seq});
    auto idem =
        log.find_idempotent("t" + std::to_string(i % 3), "standard", "k" + std::to_string(i));
    REQUIRE(idem);
    REQUIRE(*idem == std::optional<std::uint64_t>{seq});
  }
  std::map<std::string, std::vector<std::uint64_t>> by_type, by_tenant;
  std::map<std::uint64_t, std::vector<std::uint64_t>> by_ref;
  std::vector<std::uint64_t> by_occurred;
  for (const auto& [i, seq] : acked) {
    by_type["type." + std::to_string(i % 5)].push_back(seq);
    by_tenant["t" + std::to_string(i % 3)].push_back(seq);
    by_ref[static_cast<std::uint64_t>(i % 4) + 1].push_back(seq);
  }
  for (auto& [type, want] : by_type) {
    scan_query q;
    q.kind = record_kind::event_received;
    q.type = type;
    same(seqs(log, q), want);
  }
  for (auto& [tenant, want] : by_tenant) {
    scan_query q;
    q.kind = record_kind::event_received;
    q.tenant = tenant;
    same(seqs(log, q), want);
  }
  for (auto& [ref, want] : by_ref) {
    scan_query q;
    q.ref_seq = ref;
    same(seqs(log, q), want);
  }
  scan_query occ;
  occ.kind = record_kind::event_received;
  occ.occurred_from = 0;
  std::vector<std::uint64_t> all;
  for (const auto& [i, seq] : acked) all.push_back(seq);
  same(seqs(log, occ), all);
}

std::map<int, std::uint64_t> append_numbered(event_log& log, int from, int to) {
  std::map<int, std::uint64_t> out;
  for (int i = from; i < to; i += 10) {
    std::vector<record> g;
    for (int j = i; j < std::min(to, i + 10); ++j) g.push_back(numbered(j));
    auto res = log.append(g);
    for (int j = i; j < std::min(to, i + 10); ++j) {
      REQUIRE(res[j - i]);
      REQUIRE_FALSE(res[j - i]->duplicate);
      out[j] = res[j - i]->seq;
    }
  }
  return out;
}

// A child appends `n` records and leaves without a clean close (no destructor runs).
void child_appends_and_exits(const std::string& dir, const std::string& boot, int n) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto l = event_log::open(opts(dir, boot));
    if (!l) _exit(3);
    for (int i = 0; i < n; ++i) {
      std::vector<record> g{numbered(i)};
      if (!(*l)->append(g)[0]) _exit(4);
    }
    _exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

std::string index_dir(const std::string& data) {
  return data + "/log/index";
}

}  // namespace

TEST_CASE("log index: every acknowledged record is found after the writer is SIGKILLed",
          "[log_index]") {
  temp_dir dir;
  log_options wo = opts(dir.path(), log_index::current_boot_id({}));
  wo.sync = true;  // the real durability path
  test::acking_writer child(wo, numbered);
  std::map<int, std::uint64_t> acked;
  auto drain = [&](int timeout_ms, std::size_t limit) {
    child.drain(timeout_ms, [&](std::uint64_t i, std::uint64_t seq) {
      acked[static_cast<int>(i)] = seq;
      return acked.size() < limit;
    });
  };
  drain(10000, 400);
  ::kill(child.pid(), SIGKILL);
  int status = 0;
  ::waitpid(child.pid(), &status, 0);
  drain(200, SIZE_MAX);  // what was in flight

  auto log = open_ok(opts(dir.path(), log_index::current_boot_id({})));
  CHECK(log->index_rebuilt_because().empty());  // same boot: caught up, not rebuilt
  CHECK(log->index().indexed_through() == log->applied_seq());
  // The entity keys the child held in memory (engine/entity_tail.hpp) taken from the records.
  CHECK(log->index().entity_through() == log->applied_seq());
  check_all_found(*log, acked, false);
  // A repeated idempotency key is still a duplicate of the original.
  const auto [i, seq] = *acked.begin();
  std::vector<record> again{numbered(i)};
  auto out = log->append(again);
  REQUIRE(out[0]);
  CHECK(out[0]->duplicate);
  CHECK(out[0]->seq == seq);
}

TEST_CASE("log index: an index env behind the log is caught up at open", "[log_index]") {
  temp_dir dir, saved;
  std::map<int, std::uint64_t> acked;
  {
    auto log = open_ok(opts(dir.path()));
    acked = append_numbered(*log, 0, 50);
  }
  fs::copy(index_dir(dir.path()), (saved / "index").string(), fs::copy_options::recursive);
  {
    auto log = open_ok(opts(dir.path()));
    auto more = append_numbered(*log, 50, 120);
    acked.insert(more.begin(), more.end());
  }
  fs::remove_all(index_dir(dir.path()));
  fs::copy((saved / "index").string(), index_dir(dir.path()), fs::copy_options::recursive);
  auto log = open_ok(opts(dir.path()));
  CHECK(log->index_rebuilt_because().empty());
  CHECK(log->index().indexed_through() == 120);
  check_all_found(*log, acked);
}

TEST_CASE("log index: an index env of another log is rebuilt", "[log_index]") {
  temp_dir a, b;
  { append_numbered(*open_ok(opts(a.path())), 0, 40); }
  std::map<int, std::uint64_t> acked;
  {
    auto log = open_ok(opts(b.path()));
    acked = append_numbered(*log, 100, 130);
  }
  SECTION("shorter log than the index") {
    fs::remove_all(index_dir(b.path()));
    fs::copy(index_dir(a.path()), index_dir(b.path()), fs::copy_options::recursive);
    auto log = open_ok(opts(b.path()));
    CHECK_THAT(log->index_rebuilt_because(),
               Catch::Contains("indexes up to seq 40") && Catch::Contains("log ends at 30"));
    check_all_found(*log, acked);
    auto gone = log->find_idempotent("t0", "standard", "k0");  // only in log a
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());
  }
  SECTION("same length, other records") {
    { append_numbered(*open_ok(opts(b.path())), 200, 210); }  // b: 40 records too
    for (int i = 130; i < 140; ++i) acked[i + 70] = static_cast<std::uint64_t>(i - 100 + 1);
    fs::remove_all(index_dir(b.path()));
    fs::copy(index_dir(a.path()), index_dir(b.path()), fs::copy_options::recursive);
    auto log = open_ok(opts(b.path()));
    CHECK_THAT(log->index_rebuilt_because(), Catch::Contains("built from another log"));
    check_all_found(*log, acked);
  }
}

TEST_CASE("log index: left open by a machine that rebooted, it is rebuilt", "[log_index]") {
  temp_dir dir;
  std::map<int, std::uint64_t> acked;
  for (int i = 0; i < 30; ++i) acked[i] = static_cast<std::uint64_t>(i + 1);
  SECTION("a process crash on the same boot keeps it") {
    child_appends_and_exits(dir.path(), "boot-A", 30);
    auto log = open_ok(opts(dir.path(), "boot-A"));
    CHECK(log->index_rebuilt_because().empty());
    check_all_found(*log, acked);
  }
  SECTION("another boot id rebuilds it") {
    child_appends_and_exits(dir.path(), "boot-A", 30);
    auto log = open_ok(opts(dir.path(), "boot-B"));
    CHECK_THAT(log->index_rebuilt_because(),
               Catch::Contains("machine restarted") && Catch::Contains("boot-A"));
    check_all_found(*log, acked);
  }
  SECTION("a clean close clears the flag") {
    { append_numbered(*open_ok(opts(dir.path(), "boot-A")), 0, 30); }
    auto log = open_ok(opts(dir.path(), "boot-B"));
    CHECK(log->index_rebuilt_because().empty());
    check_all_found(*log, acked);
  }
}

TEST_CASE("log index: a missing or damaged index env is rebuilt", "[log_index]") {
  temp_dir dir;
  std::map<int, std::uint64_t> acked;
  { acked = append_numbered(*open_ok(opts(dir.path())), 0, 60); }
  SECTION("missing") {
    fs::remove_all(index_dir(dir.path()));
    auto log = open_ok(opts(dir.path()));
    CHECK(log->index_rebuilt_because() == "it is missing");
    check_all_found(*log, acked);
  }
  SECTION("overwritten with garbage") {
    {
      std::ofstream f(index_dir(dir.path()) + "/data.mdb", std::ios::binary | std::ios::trunc);
      f << std::string(64 << 10, 'x');
    }
    auto log = open_ok(opts(dir.path()));
    CHECK_THAT(log->index_rebuilt_because(), Catch::Contains("cannot be opened"));
    check_all_found(*log, acked);
  }
  SECTION("read-only without it: the records answer, nothing is created") {
    fs::remove_all(index_dir(dir.path()));
    log_options o = opts(dir.path());
    o.read_only = true;
    auto log = open_ok(o);
    CHECK_FALSE(log->index().usable());
    check_all_found(*log, acked);
    CHECK_FALSE(fs::exists(index_dir(dir.path())));
  }
  SECTION("read-only beside it: it is used") {
    log_options o = opts(dir.path());
    o.read_only = true;
    auto log = open_ok(o);
    CHECK(log->index().separate());
    check_all_found(*log, acked);
  }
}

namespace {

// Rewrites a format-2 log into the format-1 layout: the index databases copied into the log
// env, meta/format "hooklog-log/1", no index env.
void make_format_1(const std::string& data) {
  const char* names[] = {"idem", "ix_occurred", "ix_type", "ix_tenant", "ix_entity", "ix_ref"};
  {
    auto src = lmdb::env::open(index_dir(data), MDB_RDONLY, 1u << 20, 16);
    REQUIRE(src);
    auto dst = lmdb::env::open(data + "/log", 0, 1u << 20, 16);
    REQUIRE(dst);
    auto st = lmdb::txn::begin(*src, true);
    auto dt = lmdb::txn::begin(*dst, false);
    REQUIRE(st);
    REQUIRE(dt);
    for (const char* n : names) {
      auto s = lmdb::dbi::open(*st, n, 0);
      auto d = lmdb::dbi::open(*dt, n, MDB_CREATE);
      REQUIRE(s);
      REQUIRE(d);
      auto c = lmdb::cursor::open(*st, *s);
      REQUIRE(c);
      // Format 1 had no bucket in front of ix_entity's keys (log_keys.hpp).
      const std::size_t strip = std::string_view(n) == "ix_entity" ? log_keys::kBucketSize : 0;
      for (auto kv = c->first(); kv && *kv; kv = c->next())
        REQUIRE(d->put(*dt, (*kv)->first.substr(strip), (*kv)->second));
    }
    auto meta = lmdb::dbi::open(*dt, "meta", 0);
    REQUIRE(meta);
    REQUIRE(meta->put(*dt, "format", "hooklog-log/1"));
    REQUIRE(dt->commit());
  }
  fs::remove_all(index_dir(data));
}

}  // namespace

TEST_CASE("log index: a format-1 log is read as it is and migrated by a writer", "[log_index]") {
  temp_dir dir;
  std::map<int, std::uint64_t> acked;
  { acked = append_numbered(*open_ok(opts(dir.path())), 0, 80); }
  make_format_1(dir.path());
  {
    log_options o = opts(dir.path());
    o.read_only = true;
    auto log = open_ok(o);
    CHECK(log->index().where() == log_index::state::legacy);
    check_all_found(*log, acked);
  }
  {
    auto log = open_ok(opts(dir.path()));
    CHECK(log->index().separate());
    CHECK(log->index_rebuilt_because() == "it is missing");
    check_all_found(*log, acked);
    auto more = append_numbered(*log, 80, 100);
    acked.insert(more.begin(), more.end());
    check_all_found(*log, acked);
  }
  // The old databases are empty and the format says 2: an older build refuses the log.
  auto e = lmdb::env::open((dir / "log").string(), MDB_RDONLY, 1u << 20, 16);
  REQUIRE(e);
  auto t = lmdb::txn::begin(*e, true);
  REQUIRE(t);
  for (const char* n : {"idem", "ix_occurred", "ix_type", "ix_tenant", "ix_entity", "ix_ref"}) {
    auto h = lmdb::dbi::open(*t, n, 0);
    REQUIRE(h);
    auto count = h->count(*t);
    REQUIRE(count);
    CHECK(*count == 0);
  }
  auto meta = lmdb::dbi::open(*t, "meta", 0);
  REQUIRE(meta);
  auto f = meta->get(*t, "format");
  REQUIRE(f);
  REQUIRE(*f);
  CHECK(**f == "hooklog-log/2");
}

TEST_CASE("log index: an index map that fills after the log's commit leaves no acknowledged "
          "record out of an answer",
          "[log_index]") {
  // Long entity ids and idempotency keys in shuffled order fill the index env (random-keyed
  // trees, half-full pages) before the log env (records appended in seq order), both capped
  // at 2 MiB: a group's index entries then fail after its records were committed and
  // acknowledged. Until a catch-up succeeds the queries walk the records.
  temp_dir dir;
  log_options o = opts(dir.path());
  o.max_map_size = 2u << 20;
  auto log = open_ok(o);
  auto long_id = [](int i) {
    const auto h = std::to_string(static_cast<std::uint32_t>(i) * 2654435761u);
    return h + std::string(300, 'x') + std::to_string(i);
  };
  std::map<int, std::uint64_t> acked;
  bool left_behind = false;
  int i = 0;
  for (; i < 100000; i += 20) {
    std::vector<record> g;
    for (int j = i; j < i + 20; ++j) {
      record r = test::make_event("t", "type.a", long_id(j), 1000 + j, "{}");
      r.idempotency_key = "k" + long_id(j);
      g.push_back(std::move(r));
    }
    auto res = log->append(g);
    if (!res[0]) {
      CHECK(res[0].code() == make_error_code(errc::map_full));
      break;
    }
    for (int j = 0; j < 20; ++j) acked[i + j] = res[j]->seq;
    if (log->index().indexed_through() < log->applied_seq()) {
      left_behind = true;  // acknowledged, not indexed
      break;
    }
  }
  INFO(acked.size() << " records acknowledged, the last group at " << i);
  REQUIRE(left_behind);
  CHECK_FALSE(log->index().usable());
  for (const auto& [k, seq] : acked) {
    scan_query by_entity;
    by_entity.entity_kind = "order";
    by_entity.entity_id = long_id(k);
    REQUIRE(seqs(*log, by_entity) == std::vector<std::uint64_t>{seq});
    auto idem = log->find_idempotent("t", "standard", "k" + long_id(k));
    REQUIRE(idem);
    REQUIRE(*idem == std::optional<std::uint64_t>{seq});
  }
  scan_query by_type;
  by_type.kind = record_kind::event_received;
  by_type.type = "type.a";
  CHECK(seqs(*log, by_type).size() == acked.size());
  // The next group is refused whole (the index cannot catch up), nothing of it stored.
  std::vector<record> more{test::make_event("t", "type.a", "late", 1, "{}")};
  auto late = log->append(more);
  REQUIRE_FALSE(late[0]);
  CHECK(late[0].code() == make_error_code(errc::map_full));
  CHECK(log->applied_seq() == acked.rbegin()->second);
  // A larger map: the index catches up at the writer's open, and answers from the indexes.
  log.reset();
  o.max_map_size = 64u << 20;
  log = open_ok(o);
  CHECK(log->index().usable());
  CHECK(log->index().indexed_through() == log->applied_seq());
  CHECK(seqs(*log, by_type).size() == acked.size());
}

TEST_CASE(
    "log index: a query started between an early answer and the group's index write "
    "waits for it and finds the answered records",
    "[log_index]") {
  // append_then answers right after the log's commit, before the index env holds the group
  // (event_log.hpp). A query another thread starts then must not answer from the index env as
  // it is; one made from inside the answer (the writer's thread) walks the records.
  temp_dir dir;
  auto log = open_ok(opts(dir.path()));
  auto acked = append_numbered(*log, 0, 20);
  std::vector<record> group;
  for (int i = 20; i < 30; ++i) group.push_back(numbered(i));
  auto entity_of = [](int i) {
    scan_query q;
    q.entity_kind = "order";
    q.entity_id = "e" + std::to_string(i);
    return q;
  };
  auto key_of = [&](int i) {
    auto f = log->find_idempotent("t" + std::to_string(i % 3), "standard", "k" + std::to_string(i));
    if (!f) throw std::runtime_error(f.err().message);
    return *f;
  };
  scan_query type0;
  type0.kind = record_kind::event_received;
  type0.type = "type.0";
  std::future<std::vector<std::uint64_t>> by_entity, by_type;
  std::future<std::optional<std::uint64_t>> by_key;
  int answers = 0;
  log->append_then(group, [&](std::vector<result<append_outcome>>& out) {
    ++answers;
    REQUIRE(out.size() == 10);
    for (int i = 0; i < 10; ++i) {
      REQUIRE(out[i]);
      acked[20 + i] = out[i]->seq;
    }
    // Durable and published, not indexed yet.
    CHECK(log->committed_seq() == acked[29]);
    CHECK(log->index().indexed_through() == acked[19]);
    by_entity = std::async(std::launch::async, [&] { return seqs(*log, entity_of(25)); });
    by_type = std::async(std::launch::async, [&] { return seqs(*log, type0); });
    by_key = std::async(std::launch::async, [&] { return key_of(27); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Still waiting for the index write, which comes after this callback.
    CHECK(by_entity.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
    CHECK(by_type.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
    CHECK(by_key.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
    // This thread's own queries walk the records: the group is there.
    CHECK(seqs(*log, entity_of(23)) == std::vector<std::uint64_t>{acked[23]});
    CHECK(key_of(24) == std::optional<std::uint64_t>{acked[24]});
    CHECK(seqs(*log, type0) == std::vector<std::uint64_t>{acked[0], acked[5], acked[10], acked[15],
                                                          acked[20], acked[25]});
  });
  CHECK(answers == 1);
  CHECK(by_entity.get() == std::vector<std::uint64_t>{acked[25]});
  CHECK(by_key.get() == std::optional<std::uint64_t>{acked[27]});
  CHECK(by_type.get() ==
        std::vector<std::uint64_t>{acked[0], acked[5], acked[10], acked[15], acked[20], acked[25]});
  CHECK(log->index().indexed_through() == acked[29]);
  CHECK(log->index().usable());
  check_all_found(*log, acked);
}

TEST_CASE(
    "log index: an exception from an early answer leaves no reader waiting, and the next "
    "append catches the index up",
    "[log_index]") {
  temp_dir dir;
  auto log = open_ok(opts(dir.path()));
  auto acked = append_numbered(*log, 0, 10);
  std::vector<record> group{numbered(10), numbered(11)};
  std::vector<std::uint64_t> got;
  CHECK_THROWS_WITH(log->append_then(group,
                                     [&](std::vector<result<append_outcome>>& out) {
                                       for (auto& o : out) got.push_back(o->seq);
                                       throw std::runtime_error("the answer failed");
                                     }),
                    "the answer failed");
  REQUIRE(got.size() == 2);
  acked[10] = got[0];
  acked[11] = got[1];
  // The records are durable; the group's index write never ran: readers walk the records.
  CHECK(log->committed_seq() == got[1]);
  CHECK(log->index().indexed_through() == acked[9]);
  CHECK_FALSE(log->index().usable());
  scan_query q;
  q.entity_kind = "order";
  q.entity_id = "e11";
  auto other = std::async(std::launch::async, [&] { return seqs(*log, q); });
  REQUIRE(other.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(other.get() == std::vector<std::uint64_t>{got[1]});
  // The next append catches the index env up first.
  auto more = append_numbered(*log, 12, 14);
  acked.insert(more.begin(), more.end());
  CHECK(log->index().usable());
  CHECK(log->index().indexed_through() == log->applied_seq());
  check_all_found(*log, acked);
}

TEST_CASE("log index: a group that fails before the log's commit is answered once, at the end",
          "[log_index]") {
  // A read-only log refuses the group: append_then still answers, once, with the error.
  temp_dir dir;
  {
    auto w = open_ok(opts(dir.path()));
    append_numbered(*w, 0, 3);
  }
  log_options ro = opts(dir.path());
  ro.read_only = true;
  auto log = open_ok(ro);
  std::vector<record> group{numbered(3), numbered(4)};
  int answers = 0;
  log->append_then(group, [&](std::vector<result<append_outcome>>& out) {
    ++answers;
    REQUIRE(out.size() == 2);
    CHECK(out[0].code() == make_error_code(errc::read_only));
    CHECK(out[1].code() == make_error_code(errc::read_only));
  });
  CHECK(answers == 1);
  CHECK(log->committed_seq() == 3);
  scan_query q;
  q.entity_kind = "order";
  q.entity_id = "e2";
  CHECK(seqs(*log, q) == std::vector<std::uint64_t>{3});
}

TEST_CASE("log index: a group's keys in one buffer come out as the sorted keys, one per record",
          "[log_index]") {
  // Records out of every index's order: types, tenants, entities and refs repeat and go back,
  // occurred times go back once; the keys must be each database's std::string keys, sorted.
  index_keys keys;
  std::array<std::vector<std::string>, 5> expected;
  // Entity keys in buckets of 8 seqs, then (after clear()) without a bucket, as a format-1 log's.
  for (const unsigned bits : {3u, 0u}) {
    for (auto& k : keys) k.clear();
    for (auto& e : expected) e.clear();
    for (int i = 0; i < 40; ++i) {
      record r = numbered(i);
      r.seq = static_cast<std::uint64_t>(100 + i);
      r.occurred_at = i == 17 ? -5 : 1000 + i;  // one before the epoch, out of seq order
      if (i % 7 == 0) r.entity_kind.clear();  // no entity key
      if (i % 6 == 0) r.ref_seq = 0;           // no ref key
      collect_index_keys(r, bits, keys);
      expected[0].push_back(log_keys::occurred_key(r.occurred_at, r.seq));
      expected[1].push_back(log_keys::prefix_key(r.type, r.seq));
      expected[2].push_back(log_keys::prefix_key(r.tenant, r.seq));
      if (!r.entity_kind.empty()) {
        std::string k;
        if (bits != 0) k = std::string{'\0', '\0', '\0', static_cast<char>(r.seq >> bits)};
        expected[3].push_back(k + log_keys::entity_prefix(r.entity_kind, r.entity_id) +
                              bytes::be64(r.seq));
      }
      if (r.ref_seq) expected[4].push_back(bytes::be64(r.ref_seq) + bytes::be64(r.seq));
    }
    for (std::size_t d = 0; d < 5; ++d) {
      std::sort(expected[d].begin(), expected[d].end());
      REQUIRE(keys[d].size() == expected[d].size());
      const auto& got = keys[d].sorted();
      REQUIRE(got.size() == expected[d].size());
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(std::string(got[i]) == expected[d][i]);
    }
  }
  CHECK(keys[3].size() == 40 - 6);  // i = 0, 7, ..., 35 have no entity
  CHECK(keys[4].size() == 40 - 7);  // i = 0, 6, ..., 36 have no ref
  // Already in order: the same views, in the order added.
  index_key_list in_order;
  for (std::uint64_t s = 1; s <= 5; ++s) {
    log_keys::append_prefix_key(in_order.buffer(), "type.a", s);
    in_order.end_key();
  }
  const auto& v = in_order.sorted();
  REQUIRE(v.size() == 5);
  for (std::uint64_t s = 1; s <= 5; ++s) CHECK(std::string(v[s - 1]) == log_keys::prefix_key("type.a", s));
}

// Pages of one query read through the index, then (a failed index write: the index env not
// usable) through the records in seq order, then through the index again: each page goes on
// from the one before, whichever walk made its position (it used to seek an entity position
// among the records' seq keys: an empty last page, records missing without an error).
TEST_CASE("log index: paging goes on across the index env becoming unusable and usable again",
          "[log_index]") {
  temp_dir dir;
  auto log = open_ok(opts(dir.path()));
  auto event_of = [](int i) {
    record r = test::make_event("t", "type.a", "o1", 1000 + i);
    r.idempotency_key = "p" + std::to_string(i);
    return r;
  };
  std::vector<record> first;
  for (int i = 0; i < 6; ++i) first.push_back(event_of(i));
  log->append(first);
  scan_query q;
  q.entity_kind = "order";
  q.entity_id = "o1";
  q.examine_limit = 2;
  std::vector<std::uint64_t> got;
  auto page = [&]() -> scan_stop {
    scan_stop stop;
    auto n = log->scan(
        q,
        [&](const record_view& v, std::string_view) {
          got.push_back(v.seq);
          return true;
        },
        &stop);
    REQUIRE(n);
    q.after = stop.resume;
    return stop;
  };
  REQUIRE(page().bounded);  // through the index: 1, 2
  CHECK(got == std::vector<std::uint64_t>{1, 2});
  std::vector<record> second{event_of(6)};
  CHECK_THROWS(log->append_then(second, [](std::vector<result<append_outcome>>&) {
    throw std::runtime_error("the answer failed");
  }));
  REQUIRE_FALSE(log->index().usable());
  REQUIRE(page().bounded);  // through the records, from the index's position: 3, 4
  CHECK(got == std::vector<std::uint64_t>{1, 2, 3, 4});
  std::vector<record> third{event_of(7)};
  log->append(third);  // catches the index env up
  REQUIRE(log->index().usable());
  for (int i = 0; i < 10 && !q.after.empty(); ++i) page();  // through the index again
  CHECK(got == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
}
