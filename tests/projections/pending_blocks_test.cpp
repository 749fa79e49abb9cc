// pending layout 3: "pending_ix" holds one key per (endpoint, block of 64 event seqs) listing that
// block's items (projections/pending.hpp). The raw keys and values are read back and decoded here
// independently of pending's codec.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <tuple>

#include "proj_test_util.hpp"
#include "projections/key_codec.hpp"

using namespace hooklog;
using namespace hooklog::test;
using projections::pending_item;

namespace {
// One item of a raw block value: its seq (from the key's block and its offset) and fields.
struct raw_item {
  std::uint64_t seq = 0;
  bool parked = false;
  std::int64_t due = 0;
  std::uint32_t attempt = 0;
  std::string replay;
  bool operator==(const raw_item&) const = default;
};
// pending_ix as (endpoint, block) -> its items in stored order.
using raw_ix = std::map<std::pair<std::string, std::uint64_t>, std::vector<raw_item>>;

raw_ix read_ix(fixture& f) {
  raw_ix out;
  const auto dump = dump_state(*f.runner, {"pending_ix"});
  for (const auto& [k, v] : dump.at("pending_ix")) {
    const auto nul = k.find('\0');
    REQUIRE(nul != std::string::npos);
    REQUIRE(k.size() == nul + 9);
    const std::uint64_t block = projections::keys::get_u64_be(std::string_view(k).substr(nul + 1));
    auto& items = out[{k.substr(0, nul), block}];
    REQUIRE(!v.empty());  // no empty block is kept
    for (std::size_t at = 0; at < v.size();) {
      REQUIRE(at + 3 <= v.size());
      const auto offset = static_cast<unsigned char>(v[at]);
      REQUIRE(offset < 64);
      const auto n = projections::keys::get_le<std::uint16_t>(v, at + 1);
      REQUIRE(at + 3 + n <= v.size());
      const std::string_view item = std::string_view(v).substr(at + 3, n);
      REQUIRE(item.size() >= 13);
      items.push_back(
          {block * 64 + offset, item[0] != 0, projections::keys::get_le<std::int64_t>(item, 1),
           projections::keys::get_le<std::uint32_t>(item, 9), std::string(item.substr(13))});
      at += 3 + n;
    }
    for (std::size_t i = 1; i < items.size(); ++i) REQUIRE(items[i - 1].seq < items[i].seq);
  }
  return out;
}
std::vector<std::uint64_t> seqs_of(const std::vector<raw_item>& v) {
  std::vector<std::uint64_t> s;
  for (const auto& i : v) s.push_back(i.seq);
  return s;
}
std::vector<std::uint64_t> item_seqs(fixture& f, const std::string& ep, std::uint64_t after,
                                     std::size_t limit = 1000) {
  auto t = f.read();
  auto items = f.runner->queue().items_for(t, ep, after, limit);
  REQUIRE(items);
  std::vector<std::uint64_t> s;
  for (const auto& i : *items) {
    CHECK(i.endpoint_id == ep);
    s.push_back(i.event_seq);
  }
  return s;
}
std::optional<pending_item> find(fixture& f, const std::string& ep, std::uint64_t seq) {
  auto t = f.read();
  auto p = f.runner->queue().find(t, ep, seq);
  REQUIRE(p);
  return *p;
}
std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to, std::uint64_t step = 1) {
  std::vector<std::uint64_t> s;
  for (auto q = from; q <= to; q += step) s.push_back(q);
  return s;
}
}  // namespace

TEST_CASE(
    "pending layout 3: one pending_ix key per (endpoint, block of 64 seqs) lists its items "
    "in seq order, and settle, retry, park and replay rewrite the block") {
  fixture f(/*batch=*/20);
  f.append(create_endpoint("t", "ep-a", {"*"}));          // seq 1
  f.append(create_endpoint("t", "ep-b", {"order_new"}));  // seq 2
  // Seqs 3..152: ep-a gets every one, ep-b the odd ones (order_new); synced in batches of 20,
  // so later batches merge into blocks that earlier ones wrote.
  for (std::uint64_t s = 3; s <= 152; ++s) f.append(event("t", s % 2 ? "order_new" : "other"));
  f.sync();
  auto ix = read_ix(f);
  REQUIRE(ix.size() == 6);
  CHECK(seqs_of(ix.at({"ep-a", 0})) == range(3, 63));
  CHECK(seqs_of(ix.at({"ep-a", 1})) == range(64, 127));
  CHECK(seqs_of(ix.at({"ep-a", 2})) == range(128, 152));
  CHECK(seqs_of(ix.at({"ep-b", 0})) == range(3, 63, 2));
  CHECK(seqs_of(ix.at({"ep-b", 1})) == range(65, 127, 2));
  CHECK(seqs_of(ix.at({"ep-b", 2})) == range(129, 151, 2));
  CHECK(ix.at({"ep-a", 1})[0] == raw_item{64, false, ix.at({"ep-a", 1})[0].due, 1, ""});
  // items_for reads across blocks in seq order, from inside a block and at its bounds.
  CHECK(item_seqs(f, "ep-a", 0) == range(3, 152));
  CHECK(item_seqs(f, "ep-a", 100, 10) == range(101, 110));
  CHECK(item_seqs(f, "ep-a", 63, 2) == range(64, 65));
  CHECK(item_seqs(f, "ep-a", 127) == range(128, 152));
  CHECK(item_seqs(f, "ep-a", 152).empty());
  CHECK(item_seqs(f, "ep-b", 60, 3) == std::vector<std::uint64_t>{61, 63, 65});

  // In one block: a success removes its item, a failure re-queues it (attempt 2, its due time),
  // the last attempt moves it to the dead letters.
  const std::int64_t later = 9'000'000'000'000'000;
  f.append(attempt("t", "ep-a", 70, 1, true, std::nullopt));
  f.append(attempt("t", "ep-a", 71, 1, false, later));
  f.append(attempt("t", "ep-a", 72, 1, false, std::nullopt, true));
  // Every item of ep-b's block 2 delivered: its key goes.
  for (std::uint64_t s = 129; s <= 151; s += 2)
    f.append(attempt("t", "ep-b", s, 1, true, std::nullopt));
  f.sync();
  ix = read_ix(f);
  CHECK(ix.count({"ep-b", 2}) == 0);
  REQUIRE(ix.size() == 5);
  std::vector<std::uint64_t> a1 = range(64, 127);
  a1.erase(a1.begin() + 6, a1.begin() + 9);  // 70, 71, 72
  a1.insert(a1.begin() + 6, 71);
  CHECK(seqs_of(ix.at({"ep-a", 1})) == a1);
  CHECK(ix.at({"ep-a", 1})[6] == raw_item{71, false, later, 2, ""});
  CHECK_FALSE(find(f, "ep-a", 70));
  CHECK(find(f, "ep-a", 71)->attempt == 2);
  CHECK_FALSE(find(f, "ep-a", 72));
  {
    auto t = f.read();
    auto c = f.runner->queue().counts(t, "ep-a");
    REQUIRE(c);
    CHECK(c->queued == 148);
    CHECK(c->dead == 1);
    auto b = f.runner->queue().counts(t, "ep-b");
    REQUIRE(b);
    CHECK(b->queued == 31 + 32);
  }

  // Disable parks ep-b's items in their blocks; a replay schedules even seqs of ep-b's block 0
  // into it, in seq order, with its marker (63 is queued already: not scheduled again).
  f.append(endpoint_record(record_kind::endpoint_disabled, "t", "ep-b", {{"reason", "x"}}));
  record rp;
  rp.kind = record_kind::replay_progressed;
  rp.tenant = "t";
  rp.entity_kind = "replay";
  rp.entity_id = "rp_1";
  rp.body = json{
      {"replay_id", "rp_1"},
      {"endpoint_id", "ep-b"},
      {"scheduled", {4, 6, 63, 130}},
      {"scanned_to",
       130}}.dump();
  f.append(rp);
  f.sync();
  ix = read_ix(f);
  auto b0 = range(3, 63, 2);
  b0.insert(b0.begin() + 1, 4);
  b0.insert(b0.begin() + 3, 6);  // 3, 4, 5, 6, 7, 9, ...
  CHECK(seqs_of(ix.at({"ep-b", 0})) == b0);
  CHECK(seqs_of(ix.at({"ep-b", 2})) == std::vector<std::uint64_t>{130});
  for (const auto& [key, items] : ix)
    for (const auto& i : items) {
      INFO(key.first << " " << i.seq);
      CHECK(i.parked == (key.first == "ep-b"));
      CHECK(i.replay ==
            (key.first == "ep-b" && (i.seq == 4 || i.seq == 6 || i.seq == 130) ? "rp_1" : ""));
    }
  f.append(endpoint_record(record_kind::endpoint_enabled, "t", "ep-b", json::object()));
  f.sync();
  CHECK_FALSE(find(f, "ep-b", 5)->parked);
  CHECK(item_seqs(f, "ep-b", 0, 4) == std::vector<std::uint64_t>{3, 4, 5, 6});
  // Cancelling the replay takes its items out of the blocks; the block holding only one goes.
  record rc;
  rc.kind = record_kind::replay_cancelled;
  rc.tenant = "t";
  rc.entity_kind = "replay";
  rc.entity_id = "rp_1";
  rc.body = json{{"replay_id", "rp_1"}}.dump();
  f.append(rc);
  f.sync();
  ix = read_ix(f);
  CHECK(seqs_of(ix.at({"ep-b", 0})) == range(3, 63, 2));
  CHECK(ix.count({"ep-b", 2}) == 0);

  // The same state rebuilt: per batch of 1 and 7 records (merges into written blocks), staged
  // entries written out every 3 items, and as a bulk load (appends; with batch 7 one that writes
  // out mid-load into the blocks already written).
  const auto dbs = all_state_dbs(*f.runner);
  const auto live = dump_state(*f.runner, dbs);
  for (bool bulk : {false, true})
    for (std::size_t batch : {1, 7, 1000}) {
      INFO("bulk " << bulk << " batch " << batch);
      f.ropts.bulk_rebuild = bulk;
      f.ropts.batch_records = batch;
      f.ropts.pending_staged_max = batch == 7 ? 3 : projections::pending::kMaxStaged;
      // A bulk load holding 5 entries at most (written out mid-load), in parts of 512 bytes.
      f.ropts.rebuild_memory = batch == 7 ? 5 * projections::pending::kBulkEntryBytes : 512 << 20;
      f.ropts.write_out_part_bytes = batch == 7 ? 512 : 8 << 20;
      f.open_runner();
      REQUIRE(f.runner->rebuild("all"));
      CHECK(dump_state(*f.runner, dbs) == live);
    }
}

TEST_CASE("a pending state of layout 2 (one pending_ix key per item) is rebuilt at open") {
  fixture f;
  f.append(create_endpoint("t", "ep-a", {"*"}));
  for (int i = 0; i < 70; ++i) f.append(event("t", "order_new"));
  f.sync();
  const auto good = dump_state(*f.runner, all_state_dbs(*f.runner));
  REQUIRE(read_ix(f).size() == 2);
  // What an older build left: layout 2, one key per (endpoint, event).
  write_older_layout(f, "pending", 2, "pending_ix", [](lmdb::txn& t, lmdb::dbi& ix) {
    for (std::uint64_t s = 2; s <= 71; ++s) {
      std::string k = std::string("ep-a") + '\0', v(1, '\0');
      projections::keys::put_u64_be(k, s);
      projections::keys::put_le<std::int64_t>(v, 0);
      projections::keys::put_le<std::uint32_t>(v, 1);
      REQUIRE(ix.put(t, k, v));
    }
  });
  f.open_runner();
  f.sync();
  CHECK(dump_state(*f.runner, all_state_dbs(*f.runner)) == good);
  CHECK(item_seqs(f, "ep-a", 0) == range(2, 71));
}

TEST_CASE(
    "pending layout 3: a block of 64 replayed items (past LMDB's inline size) settles item "
    "by item") {
  // 64 items with a 20-byte replay id (as replay_manager makes them) are 2,304 bytes: LMDB keeps
  // such a value in an overflow page, which every settle rewrites.
  fixture f(/*batch=*/16);
  f.append(create_endpoint("t", "ep", {"none"}));                   // seq 1; no event matches
  for (int i = 0; i < 126; ++i) f.append(event("t", "order_new"));  // seqs 2..127
  const std::string rid = "rpl_0123456789abcdef";
  json seqs = json::array();
  for (std::uint64_t s = 64; s <= 127; ++s) seqs.push_back(s);  // block 1, every seq
  record rp;
  rp.kind = record_kind::replay_progressed;
  rp.tenant = "t";
  rp.entity_kind = "replay";
  rp.entity_id = rid;
  rp.body =
      json{{"replay_id", rid}, {"endpoint_id", "ep"}, {"scheduled", seqs}, {"scanned_to", 127}}
          .dump();
  f.append(rp);
  f.sync();
  auto ix = read_ix(f);
  REQUIRE(ix.at({"ep", 1}).size() == 64);
  {
    const auto dump = dump_state(*f.runner, {"pending_ix"});
    CHECK(dump.at("pending_ix").back().second.size() == 64 * (3 + 13 + rid.size()));
  }
  // Deliver them from the middle outwards, a few per batch.
  std::vector<std::uint64_t> left = range(64, 127);
  for (std::uint64_t s : {100, 64, 127, 65, 99, 101}) {
    f.append(attempt("t", "ep", s, 1, true, std::nullopt, false, 20'000, rid));
    left.erase(std::find(left.begin(), left.end(), s));
  }
  f.sync();
  CHECK(item_seqs(f, "ep", 0) == left);
  CHECK(find(f, "ep", 66)->replay_id == rid);
  for (std::uint64_t s : left)
    f.append(attempt("t", "ep", s, 1, true, std::nullopt, false, 20'000, rid));
  f.sync();
  CHECK(read_ix(f).empty());
  const auto dbs = all_state_dbs(*f.runner);
  const auto live = dump_state(*f.runner, dbs);
  f.open_runner();
  REQUIRE(f.runner->rebuild("all"));
  CHECK(dump_state(*f.runner, dbs) == live);
}
