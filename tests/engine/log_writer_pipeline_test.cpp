// The pipelined append (event_log::append_staged / index_staged, used by log_writer): the log
// env's commit of a group overlaps the index env's commit of the one before. Idempotency keys
// of groups not yet indexed are found in memory; a group is published (head, applied, queries)
// only after its index entries; an index env left behind is caught up before the next group.
#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <thread>

#include "engine/log_test_util.hpp"
#include "engine/log_writer.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

record keyed(const std::string& key, int i) {
  record r = make_event("t", "type.a", "e" + std::to_string(i), 1000 + i);
  r.idempotency_key = key;
  return r;
}

std::vector<std::uint64_t> seqs(const event_log& log, scan_query q) {
  std::vector<std::uint64_t> out;
  auto n = log.scan(q, [&](const record_view& v, std::string_view) {
    out.push_back(v.seq);
    return true;
  });
  if (!n) throw std::runtime_error(n.err().message);
  return out;
}

std::optional<std::uint64_t> idem(const event_log& log, const std::string& key) {
  auto f = log.find_idempotent("t", "standard", key);
  if (!f) throw std::runtime_error(f.err().message);
  return *f;
}

}  // namespace

TEST_CASE("staged append: a repeated key answers the first seq, within a group and across "
          "groups not yet indexed",
          "[writer][staged]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  event_log::staged_group a, b, c;

  std::vector<record> ga{keyed("k1", 1), keyed("k2", 2), keyed("k1", 3)};
  auto oa = log->append_staged(ga, a);
  REQUIRE(oa.size() == 3);
  CHECK(oa[0]->seq == 1);
  CHECK_FALSE(oa[0]->duplicate);
  CHECK(oa[1]->seq == 2);
  CHECK_FALSE(oa[1]->duplicate);
  CHECK(oa[2]->seq == 1);  // the group's own earlier key
  CHECK(oa[2]->duplicate);
  // Durable, not yet published: nobody sees the group before its index entries.
  CHECK(log->head().seq == 0);
  CHECK(log->applied_seq() == 0);
  CHECK(log->committed_seq() == 0);
  CHECK(log->index().indexed_through() == 0);

  std::vector<record> gb{keyed("k2", 4), keyed("k3", 5)};
  auto ob = log->append_staged(gb, b);  // group a is not indexed: its keys are in memory
  REQUIRE(ob.size() == 2);
  CHECK(ob[0]->seq == 2);
  CHECK(ob[0]->duplicate);
  CHECK(ob[1]->seq == 3);
  CHECK_FALSE(ob[1]->duplicate);

  log->index_staged(a);
  CHECK(log->head().seq == 2);
  CHECK(log->applied_seq() == 2);
  CHECK(log->index().indexed_through() == 2);
  CHECK(idem(*log, "k1") == std::optional<std::uint64_t>{1});
  CHECK(idem(*log, "k3") == std::nullopt);  // group b: committed, not yet indexed

  std::vector<record> gc{keyed("k3", 6), keyed("k1", 7), keyed("k4", 8)};
  auto oc = log->append_staged(gc, c);  // k3 from memory (b), k1 from the index env (a)
  REQUIRE(oc.size() == 3);
  CHECK(oc[0]->seq == 3);
  CHECK(oc[0]->duplicate);
  CHECK(oc[1]->seq == 1);
  CHECK(oc[1]->duplicate);
  CHECK(oc[2]->seq == 4);
  CHECK_FALSE(oc[2]->duplicate);

  log->index_staged(b);
  CHECK(log->head().seq == 3);
  log->index_staged(c);
  CHECK(log->head().seq == 4);
  CHECK(log->index().indexed_through() == 4);
  CHECK(idem(*log, "k3") == std::optional<std::uint64_t>{3});
  CHECK(idem(*log, "k4") == std::optional<std::uint64_t>{4});
  scan_query by_type;
  by_type.type = "type.a";
  CHECK(seqs(*log, by_type) == std::vector<std::uint64_t>{1, 2, 3, 4});
  // The unstaged append after them: the same keys, the same answers.
  std::vector<record> gd{keyed("k4", 9), keyed("k5", 10)};
  auto od = log->append(gd);
  CHECK(od[0]->seq == 4);
  CHECK(od[0]->duplicate);
  CHECK(od[1]->seq == 5);
  CHECK(log->verify()->ok);
}

TEST_CASE("pipelined writer: an answered event is in every query, and a repeat of its key "
          "answers its seq",
          "[writer][staged]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  log_writer writer(*log);
  constexpr int kThreads = 8, kPerThread = 150;
  std::mutex m;
  std::map<std::string, std::uint64_t> first;  // key -> seq
  std::vector<std::pair<std::string, std::uint64_t>> last(kThreads);  // per thread
  std::vector<std::string> problems;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        const std::string key = "k" + std::to_string(n);
        auto o = writer.append(keyed(key, n));
        std::string bad;
        if (!o || o->duplicate) {
          bad = key + ": not stored";
        } else {
          // Right after the answer: the head, the indexes and the key all have it.
          scan_query by_entity;
          by_entity.entity_kind = "order";
          by_entity.entity_id = "e" + std::to_string(n);
          scan_query by_type;
          by_type.type = "type.a";
          by_type.from_seq = by_type.to_seq = o->seq;
          if (log->head().seq < o->seq) bad = key + ": beyond the head";
          if (seqs(*log, by_entity) != std::vector<std::uint64_t>{o->seq})
            bad = key + ": not found by entity";
          if (seqs(*log, by_type) != std::vector<std::uint64_t>{o->seq})
            bad = key + ": not found by type";
          if (idem(*log, key) != std::optional<std::uint64_t>{o->seq})
            bad = key + ": key not found";
          // A repeat of the key another thread was last answered for (maybe not yet indexed).
          std::pair<std::string, std::uint64_t> other;
          {
            std::lock_guard g(m);
            other = last[(t + 1) % kThreads];
          }
          if (!other.first.empty()) {
            auto r = writer.append(keyed(other.first, n));
            if (!r || !r->duplicate || r->seq != other.second)
              bad = other.first + ": the repeat did not answer the first seq";
          }
        }
        std::lock_guard g(m);
        if (!bad.empty()) problems.push_back(bad);
        if (o && !o->duplicate) {
          first.emplace(key, o->seq);
          last[t] = {key, o->seq};
        }
      }
    });
  for (auto& p : producers) p.join();
  writer.stop();
  INFO((problems.empty() ? std::string() : problems.front()));
  CHECK(problems.empty());
  CHECK(first.size() == kThreads * kPerThread);
  // Every stored event exactly once: the repeats were answered, never stored.
  CHECK(log->head().seq == kThreads * kPerThread);
  CHECK(log->index().indexed_through() == kThreads * kPerThread);
  CHECK(log->verify()->ok);
}

TEST_CASE("staged append: an index map that fills leaves no acknowledged record out of an "
          "answer, and the next group waits for the catch-up",
          "[writer][staged]") {
  // As "log index: an index map that fills after the log's commit ..." (log_index_test.cpp),
  // through append_staged / index_staged.
  temp_dir dir;
  log_options o;
  o.dir = dir.path();
  o.sync = false;
  o.initial_map_size = 1u << 20;
  o.max_map_size = 2u << 20;
  o.boot_id = "boot-1";
  auto opened = event_log::open(o);
  REQUIRE(opened);
  auto log = std::move(*opened);
  auto long_id = [](int i) {
    const auto h = std::to_string(static_cast<std::uint32_t>(i) * 2654435761u);
    return h + std::string(300, 'x') + std::to_string(i);
  };
  std::map<int, std::uint64_t> acked;
  bool left_behind = false;
  for (int i = 0; i < 100000; i += 20) {
    std::vector<record> g;
    for (int j = i; j < i + 20; ++j) {
      record r = make_event("t", "type.a", long_id(j), 1000 + j, "{}");
      r.idempotency_key = "k" + long_id(j);
      g.push_back(std::move(r));
    }
    event_log::staged_group s;
    auto res = log->append_staged(g, s);
    if (!res[0]) {
      CHECK(res[0].code() == make_error_code(errc::map_full));
      break;
    }
    log->index_staged(s);
    for (int j = 0; j < 20; ++j) acked[i + j] = res[j]->seq;
    if (log->index().indexed_through() < log->applied_seq()) {
      left_behind = true;  // acknowledged (published), not indexed
      break;
    }
  }
  REQUIRE(left_behind);
  CHECK_FALSE(log->index().usable());
  for (const auto& [k, seq] : acked) {
    scan_query by_entity;
    by_entity.entity_kind = "order";
    by_entity.entity_id = long_id(k);
    REQUIRE(seqs(*log, by_entity) == std::vector<std::uint64_t>{seq});
    REQUIRE(idem(*log, "k" + long_id(k)) == std::optional<std::uint64_t>{seq});
  }
  // The next group is refused whole (the index cannot catch up), nothing of it stored.
  std::vector<record> more{make_event("t", "type.a", "late", 1, "{}")};
  event_log::staged_group s;
  auto late = log->append_staged(more, s);
  REQUIRE_FALSE(late[0]);
  CHECK(late[0].code() == make_error_code(errc::map_full));
  CHECK_FALSE(s.committed);
  CHECK(log->applied_seq() == acked.rbegin()->second);
  log.reset();
  o.max_map_size = 64u << 20;
  opened = event_log::open(o);
  REQUIRE(opened);
  log = std::move(*opened);
  CHECK(log->index().usable());
  CHECK(log->index().indexed_through() == acked.rbegin()->second);
}
