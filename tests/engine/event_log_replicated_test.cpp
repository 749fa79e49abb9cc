// event_log::append_replicated (cluster mode): records with their stream seq, deterministic
// recorded_at, gaps for late repeats and unreadable messages, applied_seq across a reopen.
#include <catch2/catch.hpp>

#include "engine/event_log.hpp"
#include "engine/merkle_store.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::open_log;

namespace {

// A record as the publisher puts it on the stream: occurred_at filled (with its recorded time
// when the payload had none, jetstream_publisher.cpp).
record at(std::uint64_t seq, std::int64_t recorded, std::string key = "") {
  record r = make_event("t1", "order.paid", "o" + std::to_string(seq), recorded);
  r.seq = seq;
  r.recorded_at = recorded;
  r.idempotency_key = std::move(key);
  return r;
}

}  // namespace

TEST_CASE(
    "replicated append: stream seqs, raised recorded_at, gaps, and applied_seq after a reopen",
    "[log][replicated]") {
  test::temp_dir dir;
  {
    auto log = open_log(dir.path());
    std::vector<record> batch{at(1, 5000, "k1"), at(2, 4000), at(3, 6000, "k1")};
    record bad;
    bad.kind = kUnreadableMessage;
    bad.seq = 4;
    batch.push_back(bad);
    auto out = log->append_replicated(batch);
    REQUIRE(out.size() == 4);
    REQUIRE(out[0]);
    CHECK(out[0]->seq == 1);
    REQUIRE(out[1]);
    CHECK(out[1]->seq == 2);
    REQUIRE(out[2]);
    CHECK(out[2]->seq == 1);  // a late repeat of k1: the original
    CHECK(out[2]->duplicate);
    REQUIRE_FALSE(out[3]);
    CHECK(out[3].code() == make_error_code(errc::invalid_record));
    CHECK(log->head().seq == 2);
    CHECK(log->applied_seq() == 4);
    auto r2 = log->get(2);
    REQUIRE(r2);
    REQUIRE(*r2);
    CHECK((*r2)->recorded_at == 5000);  // raised to the previous record's
    CHECK((*r2)->occurred_at == 4000);  // the message's own, as every node has it
    CHECK(**log->gap_original(3) == 1);
    CHECK(**log->gap_original(4) == 0);
    CHECK_FALSE(*log->gap_original(2));
    // A seq already applied is refused, nothing stored.
    std::vector<record> again{at(4, 7000)};
    auto re = log->append_replicated(again);
    REQUIRE_FALSE(re[0]);
    CHECK(re[0].code() == make_error_code(errc::sequence_mismatch));
    CHECK(re[0].err().message == "replicated record 4 is not after the last applied seq 4");
  }
  // Reopened after a trailing gap: applied_seq is the gap, the next record follows it.
  auto log = open_log(dir.path());
  CHECK(log->applied_seq() == 4);
  CHECK(log->head().seq == 2);
  std::vector<record> next{at(5, 8000)};
  auto out = log->append_replicated(next);
  REQUIRE(out[0]);
  CHECK(out[0]->seq == 5);
  auto v = log->verify();
  REQUIRE(v);
  INFO(v->problem);
  CHECK(v->ok);
  CHECK(v->checked == 3);
  CHECK(v->head_hash == log->head().chain_hash);
  auto tail = log->verify(4, 5);  // a range that starts on a gap
  REQUIRE(tail);
  CHECK(tail->ok);
  CHECK(tail->checked == 1);
  // Recorded-time scans step over the gaps.
  scan_query q;
  q.recorded_from = 6000;
  std::vector<std::uint64_t> seqs;
  REQUIRE(log->scan(q, [&](const record_view& r, std::string_view) {
    seqs.push_back(r.seq);
    return true;
  }));
  CHECK(seqs == std::vector<std::uint64_t>{5});
}

TEST_CASE("replicated append: a missing seq that is not a recorded gap fails verify",
          "[log][replicated]") {
  test::temp_dir dir;
  auto log = open_log(dir.path());
  std::vector<record> batch{at(1, 1000), at(3, 2000)};  // seq 2 never applied, no gap
  REQUIRE(log->append_replicated(batch)[1]);
  auto v = log->verify();
  REQUIRE(v);
  CHECK_FALSE(v->ok);
  CHECK(v->first_bad_seq == 2);
  CHECK(v->problem == "record is missing (next stored is 3)");
}

namespace {

// The batch of the first test: a late repeat (seq 3) and an unreadable message (seq 4) leave gaps.
std::vector<record> gapped_batch() {
  std::vector<record> batch{at(1, 5000, "k1"), at(2, 4000), at(3, 6000, "k1")};
  record bad;
  bad.kind = kUnreadableMessage;
  bad.seq = 4;
  batch.push_back(bad);
  batch.push_back(at(5, 7000));
  return batch;
}

}  // namespace

TEST_CASE("replicated append: the Merkle tree has one leaf per seq, a gap's leaf is zero",
          "[log][replicated][merkle]") {
  test::temp_dir a, b;
  auto log = open_log(a.path());
  auto batch = gapped_batch();
  log->append_replicated(batch);
  REQUIRE(log->applied_seq() == 5);
  auto size = merkle::tree_size(*log);
  REQUIRE(size);
  CHECK(*size == 5);  // seqs 1..5, gaps included: seq s is leaf s-1
  auto root = merkle::tree_root(*log, 5);
  REQUIRE(root);
  // By hand: leaves l1, l2, 0, 0, l5; split at 4.
  const hash256 l1 = (*log->get(1))->leaf_hash, l2 = (*log->get(2))->leaf_hash,
                l5 = (*log->get(5))->leaf_hash;
  const hash256 zero{};
  const hash256 expect =
      merkle::node_hash(merkle::node_hash(merkle::node_hash(l1, l2), merkle::node_hash(zero, zero)), l5);
  CHECK(*root == expect);
  // The record after the gaps is proven at its own index.
  auto p = merkle::prove_inclusion(*log, 5, 5);
  REQUIRE(p);
  CHECK(p->leaf_index == 4);
  CHECK(merkle::verify_inclusion(l5, 4, 5, p->path, *root));

  // A second node that kept no tree while applying the same messages back-fills it at its next
  // open, gaps included, to the same root.
  {
    log_options o;
    o.dir = b.path();
    o.sync = false;
    o.merkle_tree = false;
    auto plain = event_log::open(o);
    REQUIRE(plain);
    auto same = gapped_batch();
    (*plain)->append_replicated(same);
  }
  auto other = open_log(b.path());
  auto other_root = merkle::tree_root(*other, 5);
  REQUIRE(other_root);
  CHECK(*other_root == *root);
  // Both go on in step after the trailing record.
  std::vector<record> next{at(6, 8000)}, next2{at(6, 8000)};
  REQUIRE(log->append_replicated(next)[0]);
  REQUIRE(other->append_replicated(next2)[0]);
  CHECK(*merkle::tree_root(*log, 6) == *merkle::tree_root(*other, 6));
}

TEST_CASE("replicated append: a message's occurred_at of 0 (1970-01-01T00:00:00Z) is kept",
          "[log][replicated]") {
  // The publisher fills an absent occurred_at before it publishes, so a 0 on the stream is the
  // payload's own time; every node keeps it, as a single node does.
  test::temp_dir dir;
  auto log = open_log(dir.path());
  std::vector<record> batch{at(1, 5000)};
  batch[0].occurred_at = 0;
  auto out = log->append_replicated(batch);
  REQUIRE(out[0]);
  auto r = log->get(1);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK((*r)->occurred_at == 0);
  CHECK((*r)->recorded_at == 5000);
}
