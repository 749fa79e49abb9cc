#include "engine/event_log.hpp"

#include <cstring>

#include <catch2/catch.hpp>

#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"
#include "engine/time_util.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::append_one;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

std::vector<std::uint64_t> seqs_of(const event_log& log, const scan_query& q) {
  return test::scan_seqs(log, q);
}

}  // namespace

TEST_CASE("recorded_at never decreases, even after a restored future time", "[log]") {
  // One group: a record with its own (future) recorded time, then a plain one; then a plain
  // one after reopening. Each is at least its predecessor, and a recorded-time range scan
  // (a bisection over seqs) finds every record.
  temp_dir dir;
  const std::int64_t ahead = now_micros() + 3'600'000'000LL;
  {
    auto log = open_log(dir.path());
    std::vector<record> group{make_event("t1", "a.b", "A", 1000), make_event("t1", "a.b", "A", 2000)};
    group[0].recorded_at = ahead;
    for (const auto& o : log->append(group)) REQUIRE(o.ok());
  }
  auto log = open_log(dir.path());
  append_one(*log, make_event("t1", "a.b", "A", 3000));
  std::int64_t prev = 0;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    const auto r = log->get(seq)->value();
    INFO("seq " << seq);
    CHECK(r.recorded_at >= prev);
    prev = r.recorded_at;
  }
  CHECK(log->get(1)->value().recorded_at == ahead);
  scan_query q;
  q.recorded_from = ahead - 7'200'000'000LL;
  q.recorded_to = ahead + 1;
  CHECK(seqs_of(*log, q) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("appended records come back with sequence numbers, times and hashes", "[log]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  CHECK(log->head().seq == 0);
  const auto s1 = append_one(*log, make_event("t1", "job.created", "A", 1000));
  const auto s2 = append_one(*log, make_event("t1", "job.updated", "A", 2000));
  CHECK(s1 == 1);
  CHECK(s2 == 2);
  auto r = log->get(2);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  CHECK((*r)->type == "job.updated");
  CHECK((*r)->occurred_at == 2000);
  CHECK((*r)->recorded_at > 0);
  CHECK((*r)->chain_hash == log->head().chain_hash);
  auto missing = log->get(3);
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  auto rep = log->verify();
  REQUIRE(rep.ok());
  CHECK(rep->ok);
  CHECK(rep->checked == 2);
  CHECK(rep->head_hash == log->head().chain_hash);
}

TEST_CASE("an idempotency key maps to the first sequence number", "[log]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  auto a = make_event("t1", "job.created", "A", 1000);
  a.idempotency_key = "evt-1";
  std::vector<record> batch{a, a};  // the same key twice in one group
  auto out = log->append(batch);
  REQUIRE(out[0].ok());
  REQUIRE(out[1].ok());
  CHECK(out[0]->seq == 1);
  CHECK_FALSE(out[0]->duplicate);
  CHECK(out[1]->seq == 1);
  CHECK(out[1]->duplicate);
  std::vector<record> again{a};
  auto out2 = log->append(again);
  CHECK(out2[0]->seq == 1);
  CHECK(out2[0]->duplicate);
  // Another tenant's same key is a different event.
  auto b = a;
  b.tenant = "t2";
  CHECK(append_one(*log, b) == 2);
  CHECK(log->head().seq == 2);
  auto found = log->find_idempotent("t1", "standard", "evt-1");
  REQUIRE(found.ok());
  CHECK(*found == std::optional<std::uint64_t>(1));
  CHECK(log->verify()->ok);
}

TEST_CASE("a record whose entity is too long for an index key is refused, and the log goes on",
          "[log]") {
  // Before the limit, such a record was written, then its index put failed (MDB_BAD_VALSIZE)
  // and every later append and projection batch with it.
  temp_dir dir;
  auto log = open_log(dir.path());
  auto bad = make_event("t1", "job.created", std::string(250, 'i'), 1000);
  bad.entity_kind.assign(250, 'k');
  std::vector<record> batch{make_event("t1", "job.created", "A", 1000), bad,
                            make_event("t1", "job.created", "B", 1001)};
  auto out = log->append(batch);
  REQUIRE(out[0].ok());
  REQUIRE_FALSE(out[1].ok());
  CHECK(out[1].code() == make_error_code(errc::invalid_record));
  CHECK(out[1].err().message.find("502 bytes together") != std::string::npos);
  REQUIRE(out[2].ok());
  CHECK(out[0]->seq == 1);
  CHECK(out[2]->seq == 2);
  CHECK(append_one(*log, make_event("t1", "job.created", "C", 1002)) == 3);
  scan_query q;
  q.tenant = "t1";
  q.entity_kind = "order";
  q.entity_id = "C";
  CHECK(test::scan_seqs(*log, q) == std::vector<std::uint64_t>{3});
  CHECK(log->verify()->ok);
}

TEST_CASE("readers by time, type, tenant and entity", "[log]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  // 300 events: tenants t0..t2, types a.x/a.y/b.z, entities E0..E9, occurred times descending.
  std::vector<record> batch;
  for (int i = 0; i < 300; ++i) {
    const char* types[] = {"a.x", "a.y", "b.z"};
    batch.push_back(make_event("t" + std::to_string(i % 3), types[i % 3 == 0 ? 0 : (i % 2 ? 1 : 2)],
                               "E" + std::to_string(i % 10), 1'000'000 - i * 1000));
    if (batch.size() == 7) {
      log->append(batch);
      batch.clear();
    }
  }
  log->append(batch);
  REQUIRE(log->head().seq == 300);
  // A delivery attempt with an entity, to check kind filtering.
  record att;
  att.kind = record_kind::delivery_attempt;
  att.entity_kind = "endpoint";
  att.entity_id = "ep_1";
  att.ref_seq = 5;
  att.body = "{}";
  append_one(*log, att);

  scan_query events;
  events.kind = record_kind::event_received;

  SECTION("by type, exact and glob") {
    auto q = events;
    q.type = "a.x";
    auto got = seqs_of(*log, q);
    CHECK(got.size() == 100);
    CHECK(std::is_sorted(got.begin(), got.end()));
    q.type = "a.*";
    const auto a_all = seqs_of(*log, q);
    q.type = "b.z";
    const auto b = seqs_of(*log, q);
    CHECK(a_all.size() + b.size() == 300);
  }
  SECTION("by tenant") {
    auto q = events;
    q.tenant = "t1";
    auto got = seqs_of(*log, q);
    CHECK(got.size() == 100);
    for (auto s : got) CHECK(s % 3 == 2);  // seq = i + 1 and tenant = i % 3
  }
  SECTION("by entity, all kinds") {
    scan_query q;
    q.entity_kind = "order";
    q.entity_id = "E3";
    auto got = seqs_of(*log, q);
    REQUIRE(got.size() == 30);
    CHECK(got.front() == 4);
    q.entity_kind = "endpoint";
    q.entity_id = "ep_1";
    CHECK(seqs_of(*log, q) == std::vector<std::uint64_t>{301});
  }
  SECTION("by occurred time comes in occurred order") {
    auto q = events;
    q.occurred_from = 1'000'000 - 9 * 1000;
    q.occurred_to = 1'000'000 + 1;
    auto got = seqs_of(*log, q);
    CHECK(got == std::vector<std::uint64_t>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  }
  SECTION("by recorded time and sequence range") {
    scan_query q;
    q.from_seq = 295;
    CHECK(seqs_of(*log, q) == std::vector<std::uint64_t>{295, 296, 297, 298, 299, 300, 301});
    q = scan_query{};
    q.recorded_from = log->get(301)->value().recorded_at;
    auto got = seqs_of(*log, q);
    CHECK(got.back() == 301);
    q.recorded_from = log->get(301)->value().recorded_at + 1;
    CHECK(seqs_of(*log, q).empty());
  }
  SECTION("pagination resumes after the last position") {
    auto q = events;
    q.tenant = "t0";
    std::vector<std::uint64_t> all;
    for (int page = 0; page < 100; ++page) {
      std::string last;
      int n = 0;
      REQUIRE(log->scan(q, [&](const record_view& v, std::string_view pos) {
                     all.push_back(v.seq);
                     last = pos;
                     return ++n < 7;
                   })
                  .ok());
      if (n < 7) break;
      q.after = last;
    }
    CHECK(all.size() == 100);
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    CHECK(std::is_sorted(all.begin(), all.end()));
  }
  SECTION("by reference and by entity kind") {
    scan_query q;
    q.ref_seq = 5;
    CHECK(seqs_of(*log, q) == std::vector<std::uint64_t>{301});
    q.ref_seq = 6;
    CHECK(seqs_of(*log, q).empty());
    q = scan_query{};
    q.entity_kind = "endpoint";
    CHECK(seqs_of(*log, q) == std::vector<std::uint64_t>{301});
    q.entity_kind = "order";
    auto all_orders = seqs_of(*log, q);
    CHECK(all_orders.size() == 300);
    CHECK(all_orders.front() == 1);  // E0 first, then by seq within E0
    CHECK(all_orders[1] == 11);
  }
  SECTION("kind filter") {
    scan_query q;
    q.kind = record_kind::delivery_attempt;
    CHECK(seqs_of(*log, q) == std::vector<std::uint64_t>{301});
  }
}

TEST_CASE("the map grows by itself under a tiny initial map", "[log]") {
  temp_dir dir;
  auto log = open_log(dir.path(), false, 64 * 1024, 1ull << 30);
  const std::size_t before = log->map_size();
  std::vector<record> batch;
  for (int i = 0; i < 2000; ++i) {
    batch.push_back(make_event("t", "x", "e", i, std::string(1024, 'x')));
    if (batch.size() == 100) {
      auto out = log->append(batch);
      for (auto& o : out) REQUIRE(o.ok());
      batch.clear();
    }
  }
  CHECK(log->head().seq == 2000);
  CHECK(log->map_size() > before);
  CHECK(log->verify()->ok);
}

TEST_CASE("a map at its maximum refuses writes, keeps reads, loses nothing", "[log]") {
  temp_dir dir;
  std::uint64_t acked = 0;
  {
    auto log = open_log(dir.path(), false, 256 * 1024, 512 * 1024);
    bool full = false;
    for (int i = 0; i < 2000 && !full; ++i) {
      std::vector<record> b{make_event("t", "x", "e", i, std::string(1024, 'y'))};
      auto out = log->append(b);
      if (!out[0]) {
        CHECK(out[0].code() == make_error_code(errc::map_full));
        full = true;
      } else {
        acked = out[0]->seq;
      }
    }
    REQUIRE(full);
    CHECK(acked > 10);
    CHECK(log->head().seq == acked);
    CHECK(log->get(acked)->has_value());
    CHECK(log->verify()->ok);
  }
  // Given room, writes resume and nothing acknowledged is gone.
  auto log = open_log(dir.path(), false, 256 * 1024, 64ull << 20);
  CHECK(log->head().seq == acked);
  CHECK(append_one(*log, make_event("t", "x", "e", 1)) == acked + 1);
  CHECK(log->verify()->checked == acked + 1);
}

TEST_CASE("a second opener of the same data directory gets a clear error", "[log]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_options o;
  o.dir = dir.path();
  auto second = event_log::open(o);
  REQUIRE_FALSE(second.ok());
  CHECK(second.code() == make_error_code(errc::locked));
  CHECK(second.err().message.find(dir.path()) != std::string::npos);
  // A read-only opener (verify, export) is fine.
  o.read_only = true;
  auto ro = event_log::open(o);
  CHECK(ro.ok());
  // A read-only opener that owns state beside the log (serve --read-only) is refused...
  o.exclusive = true;
  auto ro_exclusive = event_log::open(o);
  REQUIRE_FALSE(ro_exclusive.ok());
  CHECK(ro_exclusive.code() == make_error_code(errc::locked));
  CHECK(ro_exclusive.err().message.find("in use by another hooklog process") != std::string::npos);
  // ...and, once it holds the lock, keeps a writer out.
  log.reset();
  auto holder = event_log::open(o);
  REQUIRE(holder.ok());
  o.read_only = false;
  o.exclusive = false;
  auto writer = event_log::open(o);
  REQUIRE_FALSE(writer.ok());
  CHECK(writer.code() == make_error_code(errc::locked));
}

TEST_CASE("bit rot is caught on read and named by verify", "[log][corruption]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  for (int i = 0; i < 20; ++i) append_one(*log, make_event("t", "x", "e", i));
  test::damage_record(*log, 12);
  auto r = log->get(12);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == make_error_code(errc::checksum_mismatch));
  CHECK(r.err().message.find("record 12") != std::string::npos);
  CHECK(log->get(11).ok());
  auto rep = log->verify();
  REQUIRE(rep.ok());
  CHECK_FALSE(rep->ok);
  CHECK(rep->first_bad_seq == 12);
  CHECK(rep->checked == 11);
  // The range before the damage is sound.
  CHECK(log->verify(1, 11)->ok);
}

TEST_CASE("tampering that fixes the checksum is caught by the hashes", "[log][corruption]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  for (int i = 0; i < 10; ++i) append_one(*log, make_event("t", "x", "e", i, "{\"amount\":100}"));
  const hash256 published_head = log->head().chain_hash;
  auto change_amount = [](std::string& b) { b[b.size() - 4] = '9'; };  // {"amount":900}

  SECTION("content changed, checksum recomputed: the leaf hash names it") {
    test::rewrite_record(*log, 5, [&](std::string& b) {
      change_amount(b);
      write_checksum(b);
    });
    REQUIRE(log->get(5).ok());  // the checksum alone no longer sees it
    auto rep = log->verify();
    CHECK(rep->first_bad_seq == 5);
    CHECK(rep->problem.find("leaf hash") != std::string::npos);
  }
  SECTION("content and leaf hash recomputed: the chain names it") {
    test::rewrite_record(*log, 5, [&](std::string& b) {
      change_amount(b);
      const hash256 leaf = compute_leaf_hash(b);
      std::memcpy(b.data() + format::kOffsetLeafHash, leaf.data(), 32);
      write_checksum(b);
    });
    auto rep = log->verify();
    CHECK(rep->first_bad_seq == 5);
    CHECK(rep->problem.find("chain hash") != std::string::npos);
  }
  SECTION("record resealed on its predecessor: the next record names it") {
    const hash256 prev = log->get(4)->value().chain_hash;
    test::rewrite_record(*log, 5, [&](std::string& b) {
      change_amount(b);
      seal(b, prev);
    });
    auto rep = log->verify();
    CHECK(rep->first_bad_seq == 6);
  }
  SECTION("the whole tail rewritten: the published head hash no longer matches") {
    hash256 prev = log->get(4)->value().chain_hash;
    for (std::uint64_t s = 5; s <= 10; ++s)
      test::rewrite_record(*log, s, [&](std::string& b) {
        if (s == 5) change_amount(b);
        prev = seal(b, prev);
      });
    auto rep = log->verify();
    CHECK(rep->ok);  // internally consistent...
    CHECK(rep->head_hash != published_head);  // ...but not the head that was published
  }
}
