// ix_entity's newest keys held in memory (engine/entity_tail.hpp, log_index): the tail's own
// contract; queries by entity while the writer writes the tail out find every key once; a
// writer that leaves without closing loses only memory; a read-only open beside a writer that
// holds keys walks the records; a format-2 env is taken over and marked format 3.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/entity_tail.hpp"
#include "engine/event_log.hpp"
#include "engine/log_index.hpp"
#include "engine/log_test_util.hpp"
#include "support/logged_lines.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::scan_seqs;
using hooklog::test::temp_dir;

namespace {

// A bucketed ix_entity key as a group's key list holds it.
std::string bucketed(std::string_view entity, std::uint64_t seq) {
  std::string k;
  log_keys::append_bucket(k, log_keys::entity_bucket(seq, 20));
  k.append(entity);
  bytes::put_be64(k, seq);
  return k;
}

std::string rest(std::string_view entity, std::uint64_t seq) {
  std::string k(entity);
  bytes::put_be64(k, seq);
  return k;
}

std::unique_ptr<event_log> open_with_tail(const std::string& dir, std::size_t tail_keys,
                                          bool read_only = false,
                                          unsigned bucket_bits = log_keys::kEntityBucketBits) {
  log_options o;
  o.dir = dir;
  o.sync = false;
  o.read_only = read_only;
  o.initial_map_size = 1u << 20;
  o.index_entity_tail_keys = tail_keys;
  o.index_entity_bucket_bits = bucket_bits;
  auto l = event_log::open(o);
  if (!l) FAIL(l.err().message);
  return std::move(*l);
}

// Record i is about order "o<i % 7>".
record nth(int i) {
  return make_event("t", "a.x", "o" + std::to_string(i % 7), 1000 + i);
}

void append_range(event_log& log, int from, int to, int group) {
  for (int i = from; i < to; i += group) {
    std::vector<record> g;
    for (int j = i; j < std::min(to, i + group); ++j) g.push_back(nth(j));
    for (const auto& r : log.append(g)) REQUIRE(r);
  }
}

scan_query about(const std::string& id, bool desc = false) {
  scan_query q;
  q.entity_kind = "order";
  q.entity_id = id;
  q.descending = desc;
  return q;
}

// Record i has seq i + 1 in these logs: order "o<k>"'s seqs up to `n` records.
std::vector<std::uint64_t> seqs_of_order(int k, int n) {
  std::vector<std::uint64_t> out;
  for (int i = k; i < n; i += 7) out.push_back(static_cast<std::uint64_t>(i) + 1);
  return out;
}

// The tail's keys as strings (entity_tail::keys() into a key list).
std::vector<std::string> keys_of(const entity_tail& tail, std::string_view prefix, bool exact,
                                 std::uint64_t from = 0, std::uint64_t to = UINT64_MAX) {
  index_key_list out;
  tail.keys(prefix, exact, from, to, out);
  const auto& v = out.sorted();
  return std::vector<std::string>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("entity tail: keys by entity, in key order, by entity or by kind, within seqs",
          "[entity_tail]") {
  entity_tail tail;
  const std::string o1 = std::string("order\0o1\0", 9), o2 = std::string("order\0o2\0", 9),
                    p1 = std::string("parcel\0p1\0", 10);
  std::vector<std::string> keys = {bucketed(o1, 3), bucketed(o2, 4), bucketed(p1, 5),
                                   bucketed(o1, 6)};
  std::sort(keys.begin(), keys.end());  // as a group's sorted() list
  tail.add(std::vector<std::string_view>(keys.begin(), keys.end()));
  const std::string later = bucketed(o2, std::uint64_t{1} << 20);  // the next bucket
  tail.add({later});
  CHECK(tail.size() == 5);

  CHECK(keys_of(tail, o1, true) == std::vector<std::string>{rest(o1, 3), rest(o1, 6)});
  CHECK(keys_of(tail, o2, true) == std::vector<std::string>{rest(o2, 4), rest(o2, 1u << 20)});
  CHECK(keys_of(tail, std::string("order\0o3\0", 9), true).empty());
  CHECK(keys_of(tail, std::string("order\0", 6), false) ==
        std::vector<std::string>{rest(o1, 3), rest(o1, 6), rest(o2, 4), rest(o2, 1u << 20)});
  CHECK(keys_of(tail, std::string("parcel\0", 7), false) == std::vector<std::string>{rest(p1, 5)});
  CHECK(keys_of(tail, std::string("vehicle\0", 8), false).empty());
  // Only the seqs in [from, to].
  CHECK(keys_of(tail, o1, true, 4, 6) == std::vector<std::string>{rest(o1, 6)});
  CHECK(keys_of(tail, o1, true, 7, UINT64_MAX).empty());
  CHECK(keys_of(tail, std::string("order\0", 6), false, 4, 5) ==
        std::vector<std::string>{rest(o2, 4)});

  // Written out: every key back in its bucketed form.
  index_key_list out;
  tail.append_all(out, 20);
  const auto& all = out.sorted();
  keys.push_back(later);
  std::sort(keys.begin(), keys.end());
  CHECK(std::vector<std::string>(all.begin(), all.end()) == keys);

  tail.clear();
  CHECK(tail.size() == 0);
  CHECK(keys_of(tail, o1, true).empty());
}

TEST_CASE("entity tail: a query while the writer writes the tail out finds every key once",
          "[entity_tail][log_index]") {
  // The writer below writes the tail out every few groups, while the reader asks for one
  // order's records, ascending and descending: at most 25 keys held (written into the bucket
  // of 1,048,576 seqs that holds keys already), or a bucket's keys held and written when the
  // seqs reach the next bucket of 64 seqs (appended).
  const auto [tail_keys, bits] = GENERATE(std::pair<std::size_t, unsigned>{25, 20},
                                          std::pair<std::size_t, unsigned>{65536, 6});
  INFO("entity tail of " << tail_keys << " keys, buckets of " << bits << " bits");
  temp_dir dir;
  auto log = open_with_tail(dir.path(), tail_keys, false, bits);
  constexpr int kTotal = 3000;
  std::atomic<bool> done{false};
  std::uint64_t most_held = 0;  // seqs past entity_through, the most seen after a group
  std::thread writer([&] {
    for (int i = 0; i < kTotal; i += 3) {
      append_range(*log, i, i + 3, 3);
      most_held =
          std::max(most_held, log->index().indexed_through() - log->index().entity_through());
    }
    done = true;
  });
  int answers = 0, partial = 0;
  for (bool desc = false; !done.load() || answers < 10; desc = !desc, ++answers) {
    const auto got = scan_seqs(*log, about("o3", desc));
    auto want = seqs_of_order(3, kTotal);
    // What was committed when the query began: a prefix of the order's seqs, each once.
    want.resize(std::min(want.size(), got.size()));
    if (desc) std::reverse(want.begin(), want.end());
    REQUIRE(got == want);
    partial += want.size() < seqs_of_order(3, kTotal).size();
  }
  writer.join();
  CHECK(partial > 0);  // some answers were taken while the writer wrote
  CHECK(most_held >= 20);  // the answers merged keys held in memory
  CHECK(scan_seqs(*log, about("o3")) == seqs_of_order(3, kTotal));
  // A resumed page merges the two as well: pages of 5 from the start.
  scan_query q = about("o5");
  std::vector<std::uint64_t> paged;
  for (;;) {
    std::string last;
    std::size_t got = 0;
    REQUIRE(log->scan(q, [&](const record_view& v, std::string_view pos) {
      paged.push_back(v.seq);
      last = std::string(pos);
      return ++got < 5;
    }));
    if (got < 5) break;
    q.after = last;
  }
  CHECK(paged == seqs_of_order(5, kTotal));
}

TEST_CASE("entity tail: a writer that leaves without closing loses only memory",
          "[entity_tail][log_index]") {
  temp_dir dir;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // appends 500 records and leaves without a clean close
    log_options o;
    o.dir = dir.path();
    o.sync = false;
    o.index_entity_tail_keys = 105;
    auto l = event_log::open(o);
    if (!l) _exit(3);
    for (int i = 0; i < 500; i += 10) {
      std::vector<record> g;
      for (int j = i; j < i + 10; ++j) g.push_back(nth(j));
      for (const auto& r : (*l)->append(g))
        if (!r) _exit(4);
    }
    if ((*l)->index().entity_through() >= 500) _exit(5);  // some keys only in memory
    _exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  std::unique_ptr<event_log> log;
  const auto said = test::logged_lines([&] { log = open_with_tail(dir.path(), 105); });
  REQUIRE(said.size() == 1);
  CHECK(said[0]["msg"] == "the entity keys held in memory were taken from the records");
  CHECK(said[0]["after_seq"].get<std::uint64_t>() < 500);
  CHECK(said[0]["through_seq"] == 500);
  CHECK(log->index_rebuilt_because().empty());
  CHECK(log->index().entity_through() == 500);
  for (int k = 0; k < 7; ++k) {
    CHECK(scan_seqs(*log, about("o" + std::to_string(k))) == seqs_of_order(k, 500));
    auto desc = seqs_of_order(k, 500);
    std::reverse(desc.begin(), desc.end());
    CHECK(scan_seqs(*log, about("o" + std::to_string(k), true)) == desc);
  }
}

TEST_CASE(
    "entity tail: a read-only process beside a writer that holds keys walks the records "
    "for queries by entity",
    "[entity_tail][log_index]") {
  temp_dir dir;
  {
    // Held up to 64 keys: written at 70 and 140, seqs 141 to 200 held.
    auto w = open_with_tail(dir.path(), 64);
    append_range(*w, 0, 200, 10);
    REQUIRE(w->index().entity_through() == 140);
    // Another process (LMDB: one open of an env per process), as `hooklog export` would be.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      log_options o;
      o.dir = dir.path();
      o.read_only = true;
      auto r = event_log::open(o);
      if (!r) _exit(3);
      if (!(*r)->index().usable()) _exit(4);  // the other indexes are whole
      if (scan_seqs(**r, about("o2")) != seqs_of_order(2, 200)) _exit(5);
      // ix_entity lacks the writer's tail: the records are walked (all 200 examined).
      scan_stop stop;
      scan_query q = about("o2");
      q.examine_limit = 50;
      scan_seqs(**r, q, &stop);
      if (!stop.bounded) _exit(6);
      // Up to seq 140 ix_entity is whole: it answers (20 keys examined).
      q.to_seq = 140;
      stop = scan_stop{};
      if (scan_seqs(**r, q, &stop) != seqs_of_order(2, 140)) _exit(7);
      if (stop.bounded) _exit(8);
      _exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  // Closed: the tail written, the env whole for a reader: ix_entity answers (29 keys examined).
  auto r = open_with_tail(dir.path(), 1000, true);
  CHECK(r->index().usable());
  CHECK(scan_seqs(*r, about("o2")) == seqs_of_order(2, 200));
  scan_stop stop;
  scan_query q = about("o2");
  q.examine_limit = 50;
  CHECK(scan_seqs(*r, q, &stop) == seqs_of_order(2, 200));
  CHECK_FALSE(stop.bounded);
  scan_query kind;
  kind.entity_kind = "order";
  CHECK(scan_seqs(*r, kind).size() == 200);
}

TEST_CASE("entity tail: records without an entity move the written part on too",
          "[entity_tail][log_index]") {
  temp_dir dir;
  auto log = open_with_tail(dir.path(), 100);
  append_range(*log, 0, 10, 10);
  CHECK(log->index().entity_through() == 0);  // held
  for (int i = 10; i < 200; i += 10) {
    std::vector<record> g;
    for (int j = i; j < i + 10; ++j) {
      record r = nth(j);
      r.entity_kind.clear();
      r.entity_id.clear();
      g.push_back(std::move(r));
    }
    for (const auto& r : log->append(g)) REQUIRE(r);
  }
  // 100 seqs past entity_through: the held keys written (a crash reads at most that many again).
  CHECK(log->index().entity_through() >= 100);
  CHECK(scan_seqs(*log, about("o3")) == seqs_of_order(3, 10));
}

TEST_CASE("entity tail: keys of hooklog's own kinds are written with their group, never held",
          "[entity_tail][log_index]") {
  temp_dir dir;
  auto log = open_with_tail(dir.path(), 1000);
  std::vector<record> g;
  for (int i = 0; i < 20; ++i) {
    record r = nth(i);
    if (i % 2) {  // a delivery attempt's entity: its endpoint
      r.entity_kind = "endpoint";
      r.entity_id = "ep-" + std::to_string(i % 3);
    }
    g.push_back(std::move(r));
  }
  for (const auto& r : log->append(g)) REQUIRE(r);
  CHECK(log->index().entity_through() == 0);  // the orders' keys held
  // In ix_entity itself: the ten endpoint keys, no order key.
  std::size_t endpoint_keys = 0, other_keys = 0;
  {
    auto t = lmdb::txn::begin(log->index().env(), true);
    REQUIRE(t);
    auto c = lmdb::cursor::open(*t, log->index().ix(3));
    REQUIRE(c);
    for (auto kv = c->first(); kv && *kv; kv = c->next())
      ((*kv)->first.substr(log_keys::kBucketSize, 9) == std::string_view("endpoint\0", 9)
           ? endpoint_keys
           : other_keys)++;
  }
  CHECK(endpoint_keys == 10);
  CHECK(other_keys == 0);
  // Both answer: the endpoints' from ix_entity, the orders' from the tail.
  scan_query kind;
  kind.entity_kind = "endpoint";
  CHECK(scan_seqs(*log, kind).size() == 10);
  kind.entity_kind = "order";
  CHECK(scan_seqs(*log, kind).size() == 10);
}

TEST_CASE("entity tail: a format-2 index env is taken over and marked format 3",
          "[entity_tail][log_index]") {
  temp_dir dir;
  {
    auto w = open_with_tail(dir.path(), 0);  // every key written, as format 2 wrote them
    append_range(*w, 0, 70, 10);
  }
  // As format 2 left it: no entity_through.
  test::edit_index_meta(dir.path(), [](lmdb::txn& t, const lmdb::dbi& meta) {
    REQUIRE(meta.put(t, "format", "hooklog-index/2"));
    REQUIRE(meta.del(t, "entity_through"));
  });
  {
    auto r = open_with_tail(dir.path(), 1000, true);  // read as it is
    CHECK(r->index().usable());
    CHECK(scan_seqs(*r, about("o4")) == seqs_of_order(4, 70));
  }
  auto w = open_with_tail(dir.path(), 1000);
  CHECK(w->index_rebuilt_because().empty());
  CHECK(w->index().entity_through() == 70);
  append_range(*w, 70, 140, 10);
  CHECK(scan_seqs(*w, about("o4")) == seqs_of_order(4, 140));
  auto t = lmdb::txn::begin(w->index().env(), true);
  REQUIRE(t);
  auto meta = lmdb::dbi::open(*t, "meta", 0);
  REQUIRE(meta);
  auto f = meta->get(*t, "format");
  REQUIRE(f);
  REQUIRE(*f);
  CHECK(**f == "hooklog-index/3");
}

// A group that reaches a new bucket without an entity key in it writes the keys before it and
// holds nothing, entity_through at the new bucket's start: a clean close brings entity_through
// up to indexed_through (it stayed behind: every open read those records again, and a read-only
// open walked the log for entity queries).
TEST_CASE(
    "entity tail: a clean close leaves entity_through at indexed_through with nothing "
    "held",
    "[entity_tail]") {
  temp_dir dir;
  {
    auto w = open_with_tail(dir.path(), 1000, false, /*bucket_bits=*/2);
    std::vector<record> group{make_event("t", "x", "o1", 1), make_event("t", "x", "o1", 2),
                              make_event("t", "x", "o1", 3), make_event("t", "x", "", 4)};
    group.back().entity_kind.clear();
    w->append(group);  // seqs 1-3 in bucket 0, seq 4 (no entity) in bucket 1
    CHECK(w->index().indexed_through() == 4);
    CHECK(w->index().entity_through() == 3);
  }
  auto r = open_with_tail(dir.path(), 1000, /*read_only=*/true, 2);
  CHECK(r->index().entity_through() == 4);  // as the close left it in meta
  scan_query q;
  q.entity_kind = "order";
  q.entity_id = "o1";
  CHECK(scan_seqs(*r, q) == std::vector<std::uint64_t>{1, 2, 3});
}
