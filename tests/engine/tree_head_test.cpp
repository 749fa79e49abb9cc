// Signed tree heads (engine/tree_head) and their publisher (engine/head_publisher).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "engine/head_publisher.hpp"
#include "engine/log_test_util.hpp"
#include "engine/log_writer.hpp"
#include "engine/merkle_store.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/record_codec.hpp"
#include "engine/tree_head.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::append_one;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

TEST_CASE("the signed text of a head is fixed and the signature covers every field", "[merkle][head]") {
  temp_dir dir;
  auto signer = head_signer::load("", dir.path());
  REQUIRE(signer.ok());
  struct stat st {};
  REQUIRE(::stat(((dir / "head.key").string()).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  tree_head h;
  h.tree_size = 5;
  h.root = merkle::leaf_hash("x");
  h.timestamp = 1700000000123456;
  CHECK(head_signed_text(h) == "hooklog-tree-head/1\n5\n" + merkle::to_hex(h.root) +
                                   "\n1700000000123456\n");
  REQUIRE(signer->sign(h).ok());
  CHECK(verify_head(h, signer->public_key()));
  auto j = head_to_json(h);
  CHECK(j["timestamp"] == "2023-11-14T22:13:20.123456Z");
  auto back = head_from_json(j);
  REQUIRE(back.ok());
  CHECK(verify_head(*back, signer->public_key()));

  tree_head t = h;
  t.tree_size = 6;
  CHECK_FALSE(verify_head(t, signer->public_key()));
  t = h;
  t.root[31] ^= 1;
  CHECK_FALSE(verify_head(t, signer->public_key()));
  t = h;
  t.timestamp += 1;
  CHECK_FALSE(verify_head(t, signer->public_key()));
  t = h;
  t.signature[0] ^= 1;
  CHECK_FALSE(verify_head(t, signer->public_key()));

  // The same key is loaded again; another data directory gets another key.
  auto again = head_signer::load("", dir.path());
  REQUIRE(again.ok());
  CHECK(again->public_key() == signer->public_key());
  CHECK(again->public_key_pem().rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);
  temp_dir other;
  CHECK_FALSE(verify_head(h, head_signer::load("", other.path())->public_key()));

  // A configured key file that is not a key is refused, naming the file.
  const std::string junk = (other / "junk.pem").string();
  std::ofstream(junk) << "not a key\n";
  auto bad = head_signer::load(junk, other.path());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == make_error_code(head_errc::bad_key));
  CHECK(bad.err().message.find(junk) != std::string::npos);

  auto malformed = head_from_json({{"tree_size", 1}, {"root_hash", "zz"}});
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.err().field == "/root_hash");
}

TEST_CASE("published heads are appended to the log and found again after a restart", "[merkle][head]") {
  temp_dir dir;
  tree_head first, second;
  {
    auto log = open_log(dir.path());
    log_writer w(*log);
    for (int i = 0; i < 10; ++i) append_one(*log, make_event("t", "x", "e", i));
    head_publisher p(*log, w, *head_signer::load("", dir.path()), std::chrono::milliseconds(0));
    REQUIRE(p.load().ok());
    CHECK_FALSE(p.latest().has_value());
    auto h = p.publish();
    REQUIRE(h.ok());
    first = *h;
    CHECK(first.tree_size == 10);
    CHECK(first.root == *merkle::tree_root(*log, 10));
    CHECK(log->committed_seq() == 11);  // the head's own record
    auto rec = log->get(11)->value();
    CHECK(rec.kind == record_kind::tree_head);
    CHECK(rec.entity_id == "00000000000000000010");
    CHECK(nlohmann::json::parse(rec.body) == head_to_json(first));
    append_one(*log, make_event("t", "x", "e", 99));
    second = *p.publish();
    CHECK(second.tree_size == 12);
    w.stop();
  }
  auto log = open_log(dir.path());
  log_writer w(*log);
  head_publisher p(*log, w, *head_signer::load("", dir.path()), std::chrono::milliseconds(0));
  REQUIRE(p.load().ok());
  REQUIRE(p.latest().has_value());
  CHECK(head_to_json(*p.latest()) == head_to_json(second));
  CHECK(verify_head(*p.latest(), p.signer().public_key()));
  auto c = merkle::prove_consistency(*log, first.tree_size, second.tree_size);
  CHECK(merkle::verify_consistency(first.tree_size, second.tree_size, first.root, second.root, *c));
  w.stop();
}

TEST_CASE("records sharing the heads' entity kind do not slow the latest head's lookup", "[merkle][head]") {
  // A log written before ingest refused the kind: events with entity ("tree_head", "z…") sort
  // after every head's zero-padded size in the entity index.
  temp_dir dir;
  auto log = open_log(dir.path());
  auto spam = [&](int n) {
    std::vector<record> batch;
    for (int i = 0; i < n; ++i) {
      record r = make_event("t", "x", "", i);
      r.entity_kind = "tree_head";
      r.entity_id = "z" + std::to_string(i);
      batch.push_back(std::move(r));
    }
    for (auto& o : log->append(batch)) REQUIRE(o.ok());
  };
  auto signer = *head_signer::load("", dir.path());
  // A head as written before the fourteenth pass (ref_seq 0), then the spam.
  tree_head old;
  old.tree_size = 0;
  old.root = merkle::empty_root();
  REQUIRE(signer.sign(old).ok());
  record legacy = head_record(old);
  legacy.ref_seq = 0;
  append_one(*log, std::move(legacy));
  spam(3000);
  std::uint64_t examined = 99;
  auto none = latest_marked_head(*log, &examined);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK(examined == 0);
  auto legacy_found = latest_head_in_log(*log);  // the one-off walk finds the old head
  REQUIRE(legacy_found.ok());
  REQUIRE(legacy_found->has_value());
  CHECK((*legacy_found)->second == 1);

  log_writer w(*log);
  head_publisher p(*log, w, signer, std::chrono::milliseconds(0));
  REQUIRE(p.load().ok());
  REQUIRE(p.latest().has_value());
  CHECK(p.latest()->tree_size == 0);
  auto h = p.publish();
  REQUIRE(h.ok());
  CHECK(h->tree_size == 3001);
  w.stop();
  spam(3000);  // more after the head
  auto found = latest_marked_head(*log, &examined);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->second == 3002);
  CHECK(head_to_json((*found)->first) == head_to_json(*h));
  CHECK(examined == 1);
  auto rec = log->get(3002)->value();
  CHECK(rec.ref_seq == kHeadRefSeq);
  CHECK(head_to_json(latest_head_in_log(*log).value()->first) == head_to_json(*h));
}

TEST_CASE("a record altered with the chain resealed no longer matches the signed head", "[merkle][head]") {
  temp_dir dir;
  tree_head head;
  const auto signer = *head_signer::load("", dir.path());
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 30; ++i) append_one(*log, make_event("t", "x", "e", i, "{\"amount\":100}"));
    head.tree_size = 30;
    head.root = *merkle::tree_root(*log, 30);
    head.timestamp = 1;
    REQUIRE(signer.sign(head).ok());
    // Rewrite record 3 and reseal the chain after it, then drop the tree so it is rebuilt.
    hash256 prev = log->get(2)->value().chain_hash;
    for (std::uint64_t s = 3; s <= 30; ++s)
      test::rewrite_record(*log, s, [&](std::string& b) {
        if (s == 3) b[b.size() - 4] = '9';
        prev = seal(b, prev);
      });
    auto t = lmdb::txn::begin(log->raw_env(), false);
    REQUIRE(log->merkle_db().drop(*t).ok());
    REQUIRE(t->commit().ok());
  }
  auto log = open_log(dir.path());
  REQUIRE(log->verify()->ok);
  tree_head claimed = head;
  claimed.root = *merkle::tree_root(*log, 30);
  CHECK(claimed.root != head.root);
  CHECK(verify_head(head, signer.public_key()));            // the head as published...
  CHECK_FALSE(verify_head(claimed, signer.public_key()));   // ...does not sign today's root
}
