// Audit bundles (engine/audit_bundle): a made bundle verifies; one byte changed anywhere is
// refused with a message naming what failed.
#include <catch2/catch.hpp>

#include "engine/audit_bundle.hpp"
#include "engine/log_test_util.hpp"
#include "engine/merkle_store.hpp"
#include "engine/tree_head.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::append_one;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

struct fixture {
  temp_dir dir;
  std::unique_ptr<event_log> log = open_log(dir.path());
  head_signer signer = *head_signer::load("", dir.path());
  tree_head head;

  fixture() {
    for (int i = 0; i < 40; ++i)
      append_one(*log, make_event(i % 2 ? "acme" : "other", i % 3 ? "order.paid" : "order.created",
                                  "o" + std::to_string(i % 5), 1000 + i,
                                  "{\"n\":" + std::to_string(i) + ",\"note\":\"a\\nb\"}"));
    head.tree_size = log->head().seq;
    head.root = *merkle::tree_root(*log, head.tree_size);
    head.timestamp = 1767225600000000;
    REQUIRE(signer.sign(head).ok());
  }
  std::string bundle(scan_query q) {
    auto b = make_bundle(*log, q, head, signer.public_key());
    REQUIRE(b.ok());
    return b->dump() + "\n";
  }
};

}  // namespace

TEST_CASE("an audit bundle verifies and names what a changed byte broke", "[merkle][bundle]") {
  fixture f;
  scan_query q;
  q.tenant = "acme";
  q.entity_kind = "order";
  q.entity_id = "o1";
  const std::string b = f.bundle(q);
  auto ok = verify_bundle(b);
  REQUIRE(ok.ok());
  CHECK(ok->events == 4);  // acme's o1: seqs 2, 12, 22, 32
  CHECK(ok->head.tree_size == 40);
  CHECK(verify_bundle(b, f.signer.public_key()).ok());

  // Every single byte changed (two different ways) is refused.
  std::size_t refused = 0;
  for (std::size_t i = 0; i < b.size(); ++i)
    for (unsigned char x : {0x01, 0x20}) {
      std::string t = b;
      t[i] = static_cast<char>(t[i] ^ x);
      if (t == b) continue;
      auto r = verify_bundle(t);
      if (r.ok()) FAIL("a bundle with byte " << i << " changed (^" << int(x) << ") verified");
      ++refused;
    }
  CHECK(refused == 2 * b.size());

  // The messages name what failed.
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = b;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    auto r = verify_bundle(t);
    REQUIRE_FALSE(r.ok());
    return r.err().message;
  };
  CHECK(with("\"tree_size\":40", "\"tree_size\":41") ==
        "head: the signature does not verify with the public key (tree size 41)");
  CHECK(with("{\\\"n\\\":11,", "{\\\"n\\\":13,") ==
        "event 1 (" + event_id_for(12) + "): field \"body\" does not match the entry");
  const std::string path0 = nlohmann::json::parse(b)["events"][2]["path"][0];
  std::string flipped = path0;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  CHECK(with(path0, flipped) == "event 2 (" + event_id_for(22) +
                                    "): the inclusion proof does not lead to the head's root hash");
  CHECK(with("\"format\":\"hooklog-audit-bundle/1\"", "\"format\":\"hooklog-audit-bundle/2\"") ==
        "format: not \"hooklog-audit-bundle/1\"");
  CHECK(with("{\"events\"", "{ \"events\"") ==
        "the bundle is not in its canonical form (compact JSON, sorted keys, one final newline): it "
        "was edited");
  CHECK(with("{\"events\"", "[\"events\"").rfind("the bundle is not valid JSON (byte", 0) == 0);
  // A number written as another type of the same value is an edit too (nlohmann's == takes
  // 12 and 12.0 for equal; a float could stand for another integer past 2^53).
  CHECK(with("\"seq\":12,", "\"seq\":12.0,") ==
        "event 1 (" + event_id_for(12) + "): field \"seq\" does not match the entry");
  CHECK(with("\"seq\":12,", "\"seq\":1.2e1,") ==
        "event 1 (" + event_id_for(12) + "): field \"seq\" does not match the entry");
  // Another key: pinned, it refuses the bundle's own.
  temp_dir other;
  auto pinned = verify_bundle(b, head_signer::load("", other.path())->public_key());
  REQUIRE_FALSE(pinned.ok());
  CHECK(pinned.err().message == "public_key: not the key given with --public-key");
}

TEST_CASE("a bundle leaves out events newer than its head", "[merkle][bundle]") {
  fixture f;
  append_one(*f.log, make_event("acme", "order.paid", "o1", 5000));
  bundle_stats st;
  scan_query q;
  q.tenant = "acme";
  auto b = make_bundle(*f.log, q, f.head, f.signer.public_key(), &st);
  REQUIRE(b.ok());
  CHECK(st.events == 20);
  CHECK(st.left_out == 1);
  CHECK(verify_bundle(b->dump() + "\n")->events == 20);
}
