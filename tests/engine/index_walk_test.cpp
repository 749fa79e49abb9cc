// The entity index in seq buckets (engine/index_walk.hpp, log_keys.hpp): queries by entity and
// by entity kind answer what a walk of the records answers, in the same order, in pages and
// in bounded steps, across many buckets; an index env of format 1 is rebuilt.
#include <algorithm>
#include <set>
#include <tuple>

#include <catch2/catch.hpp>

#include "engine/event_log.hpp"
#include "engine/log_test_util.hpp"
#include "support/logged_lines.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::temp_dir;

namespace {

constexpr int kRecords = 300;
constexpr unsigned kBits = 3;  // 8 seqs a bucket: about 38 buckets

std::unique_ptr<event_log> open_bucketed(const std::string& dir, bool read_only = false,
                                         std::size_t tail_keys = log_index::kEntityTailKeys) {
  log_options o;
  o.dir = dir;
  o.sync = false;
  o.read_only = read_only;
  o.initial_map_size = 1u << 20;
  o.index_entity_bucket_bits = kBits;
  o.index_entity_tail_keys = tail_keys;
  auto l = event_log::open(o);
  if (!l) FAIL(l.err().message);
  return std::move(*l);
}

// Orders o0..o6 and parcels p0..p2 in a fixed pseudo-random order, every 11th record without an
// entity; batches of 1 to 9 records.
void fill(event_log& log) {
  std::uint32_t x = 12345;
  std::vector<record> batch;
  std::size_t batch_size = 1;
  for (int i = 0; i < kRecords; ++i) {
    x = x * 1103515245u + 12345u;
    const unsigned pick = (x >> 16) % 10;
    record r = make_event("t", "a.x", pick < 7 ? "o" + std::to_string(pick)
                                               : "p" + std::to_string(pick - 7),
                          1000 + i);
    if (pick >= 7) r.entity_kind = "parcel";
    if (i % 11 == 0) r.entity_kind.clear(), r.entity_id.clear();
    batch.push_back(std::move(r));
    if (batch.size() == batch_size) {
      log.append(batch);
      batch.clear();
      batch_size = 1 + (x >> 8) % 9;
    }
  }
  log.append(batch);
  REQUIRE(log.head().seq == kRecords);
}

struct hit {
  std::uint64_t seq;
  std::string id, position;
};

std::vector<hit> scan_all(const event_log& log, const scan_query& q) {
  std::vector<hit> out;
  auto n = log.scan(q, [&](const record_view& v, std::string_view pos) {
    out.push_back({v.seq, std::string(v.entity_id), std::string(pos)});
    return true;
  });
  REQUIRE(n.ok());
  return out;
}

std::vector<std::uint64_t> seqs_of(const std::vector<hit>& h) {
  std::vector<std::uint64_t> s;
  for (const auto& x : h) s.push_back(x.seq);
  return s;
}

// What the records answer, in the entity index's order: entity id, then seq (one entity: seq).
std::vector<std::uint64_t> expected(const event_log& log, scan_query q) {
  const bool desc = q.descending;
  q.descending = false;
  q.seq_order = true;
  auto h = scan_all(log, q);
  std::stable_sort(h.begin(), h.end(), [](const hit& a, const hit& b) {
    return std::tie(a.id, a.seq) < std::tie(b.id, b.seq);
  });
  if (desc) std::reverse(h.begin(), h.end());
  return seqs_of(h);
}

// Pages of `page` matches, each scan resuming after the last position of the one before.
std::vector<std::uint64_t> paged(const event_log& log, scan_query q, std::size_t page) {
  std::vector<std::uint64_t> out;
  for (int calls = 0;; ++calls) {
    REQUIRE(calls <= kRecords);
    std::size_t got = 0;
    std::string last;
    auto n = log.scan(q, [&](const record_view& v, std::string_view pos) {
      out.push_back(v.seq);
      last = std::string(pos);
      return ++got < page;
    });
    REQUIRE(n.ok());
    if (got < page) return out;
    q.after = last;
  }
}

// Scans bounded to `limit` examined keys, following their resume positions.
std::vector<std::uint64_t> bounded(const event_log& log, scan_query q, std::uint64_t limit) {
  std::vector<std::uint64_t> out;
  q.examine_limit = limit;
  for (int calls = 0;; ++calls) {
    REQUIRE(calls <= kRecords);
    scan_stop stop;
    const auto got = test::scan_seqs(log, q, &stop);
    out.insert(out.end(), got.begin(), got.end());
    if (!stop.bounded) return out;
    q.after = stop.resume;
  }
}

std::set<std::uint32_t> buckets_held(const event_log& log) {
  std::set<std::uint32_t> b;
  auto t = lmdb::txn::begin(log.index().env(), true);
  REQUIRE(t);
  auto c = lmdb::cursor::open(*t, log.index().ix(3));
  REQUIRE(c);
  for (auto kv = c->first(); kv && *kv; kv = c->next()) b.insert(log_keys::get_bucket((*kv)->first));
  return b;
}

}  // namespace

TEST_CASE("entity index in seq buckets: every query by entity answers what the records answer",
          "[log][scan][index_walk]") {
  // ix_entity's keys all written with their groups (0); held in memory and written when the
  // seqs reach a new bucket (the default: each bucket's keys appended in one run); or held at
  // most 5 at a time (written into a bucket that holds keys already, then the rest of it).
  const std::size_t tail_keys =
      GENERATE(std::size_t{0}, std::size_t{5}, log_index::kEntityTailKeys);
  INFO("entity tail of " << tail_keys << " keys");
  temp_dir dir;
  auto log = open_bucketed(dir.path(), false, tail_keys);
  fill(*log);
  REQUIRE(log->index().entity_bucket_bits() == kBits);
  REQUIRE(log->index().indexed_through() == kRecords);
  // The keys are in their seqs' buckets: about kRecords / 8 of them.
  const auto held = buckets_held(*log);
  CHECK(held.size() >= 30);
  CHECK(*held.begin() == 0);
  constexpr std::uint64_t kNewestBucketStart = (kRecords >> kBits) << kBits;  // 296
  if (tail_keys == 0) {
    CHECK(log->index().entity_through() == kRecords);
    CHECK(*held.rbegin() == kRecords >> kBits);
  } else if (tail_keys == 5) {
    CHECK(log->index().entity_through() >= kNewestBucketStart - 1);
  } else {
    // Every bucket before the newest written; the newest bucket's keys in memory.
    CHECK(log->index().entity_through() == kNewestBucketStart - 1);
    CHECK(*held.rbegin() == (kRecords >> kBits) - 1);
  }

  std::vector<scan_query> queries;
  for (const char* id : {"o0", "o3", "o6", "p1", "nobody"}) {
    scan_query q;
    q.entity_kind = id[0] == 'p' ? "parcel" : "order";
    q.entity_id = id;
    queries.push_back(q);
  }
  for (const char* kind : {"order", "parcel", "none"}) {
    scan_query q;
    q.entity_kind = kind;
    queries.push_back(q);
  }
  const std::size_t unranged = queries.size();
  for (std::size_t i = 0; i < unranged; ++i) {
    // The same within seqs [50, 170], [9, 9], and up to a seq far past the log's end.
    auto q = queries[i];
    q.from_seq = 50;
    q.to_seq = 170;
    queries.push_back(q);
    q.from_seq = q.to_seq = 9;
    queries.push_back(q);
    q.from_seq = 1;
    q.to_seq = std::uint64_t{1} << (32 + kBits);
    queries.push_back(q);
  }
  std::size_t nonempty = 0;
  for (auto q : queries) {
    for (bool desc : {false, true}) {
      q.descending = desc;
      INFO(q.entity_kind << " " << q.entity_id << " [" << q.from_seq << ", " << q.to_seq << "] "
                         << (desc ? "descending" : "ascending"));
      const auto want = expected(*log, q);
      nonempty += !want.empty();
      const auto all = scan_all(*log, q);
      CHECK(seqs_of(all) == want);
      for (std::size_t page : {1, 4, 25})
        CHECK(paged(*log, q, page) == want);
      for (std::uint64_t limit : {1, 5, 1000})
        CHECK(bounded(*log, q, limit) == want);
      // A position is the key without its bucket: kind \0 id \0 seq (hex).
      for (const auto& h : all) {
        const std::string kind_id = q.entity_kind + '\0' + h.id + '\0';
        CHECK(h.position == bytes::to_hex(kind_id.data(), kind_id.size()) +
                                bytes::to_hex(bytes::be64(h.seq).data(), 8));
      }
    }
  }
  CHECK(nonempty >= 20);
}

TEST_CASE("entity index in seq buckets: an index env of format 1 is rebuilt, and not used "
          "read-only",
          "[log][log_index][index_walk]") {
  temp_dir dir;
  scan_query q;
  q.entity_kind = "order";
  q.entity_id = "o2";
  std::vector<std::uint64_t> want;
  {
    auto log = open_bucketed(dir.path());
    fill(*log);
    want = expected(*log, q);
    REQUIRE(want.size() > 10);
  }
  // As an earlier build left it: format 1 (its ix_entity keys had no bucket).
  test::edit_index_meta(dir.path(), [](lmdb::txn& t, const lmdb::dbi& meta) {
    REQUIRE(meta.put(t, "format", "hooklog-index/1"));
  });
  {
    auto log = open_bucketed(dir.path(), true);
    CHECK_FALSE(log->index().usable());
    CHECK(seqs_of(scan_all(*log, q)) == want);  // the records answer
  }
  // The rebuild is said in the operator log, before and after.
  std::unique_ptr<event_log> log;
  const auto said = test::logged_lines([&] { log = open_bucketed(dir.path()); });
  REQUIRE(said.size() == 2);
  CHECK(said[0]["event"] == "storage.index");
  CHECK(said[0]["msg"] == "rebuilding the log's index from its records");
  CHECK(said[0]["reason"] == "it has format hooklog-index/1");
  CHECK(said[0]["records"] == kRecords);
  CHECK(said[1]["msg"] == "the log's index is rebuilt");
  CHECK(said[1]["seconds"].get<double>() >= 0);
  CHECK(log->index_rebuilt_because() == "it has format hooklog-index/1");
  CHECK(log->index().usable());
  CHECK(buckets_held(*log).size() >= 30);
  CHECK(seqs_of(scan_all(*log, q)) == want);
}

TEST_CASE("entity index buckets: a seq's bucket, capped at the last one", "[index_walk]") {
  CHECK(log_keys::entity_bucket(0, 20) == 0);
  CHECK(log_keys::entity_bucket((5u << 20) - 1, 20) == 4);
  CHECK(log_keys::entity_bucket(5u << 20, 20) == 5);
  CHECK(log_keys::entity_bucket(std::uint64_t{1} << 52, 20) == UINT32_MAX);  // not wrapped to 0
  CHECK(log_keys::entity_bucket(UINT64_MAX, 3) == UINT32_MAX);
  CHECK(log_keys::entity_bucket(UINT64_MAX, 32) == UINT32_MAX);
  std::string k;
  log_keys::append_bucket(k, 0x01020304u);
  CHECK(k == std::string("\x01\x02\x03\x04"));
  CHECK(log_keys::get_bucket(k) == 0x01020304u);
}
