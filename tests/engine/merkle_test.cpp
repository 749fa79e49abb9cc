// The Merkle tree (engine/merkle_tree, engine/merkle_store) against RFC 9162 §2.1:
// hand-computed roots of small trees, and an independent verifier written here from the
// RFC's §2.1.3.2 and §2.1.4.2 (it shares no code with the implementation: its own
// SHA-256 through EVP, its own reference tree over a vector of leaves).
#include <openssl/evp.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "engine/bytes.hpp"
#include "engine/log_test_util.hpp"
#include "engine/merkle_store.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::make_event;
using hooklog::test::open_log;
using hooklog::test::temp_dir;

namespace {

using h256 = std::array<std::uint8_t, 32>;

// --- the independent side -------------------------------------------------------------

h256 sha(const std::string& bytes) {
  h256 out{};
  unsigned len = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}
std::string str(const h256& h) { return std::string(reinterpret_cast<const char*>(h.data()), 32); }
h256 leaf(const std::string& entry) { return sha(std::string(1, '\0') + entry); }
h256 node(const h256& l, const h256& r) { return sha(std::string(1, '\x01') + str(l) + str(r)); }

std::uint64_t k_of(std::uint64_t n) {  // largest power of two smaller than n
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// MTH over leaves[lo, hi) by the RFC's definition.
h256 mth(const std::vector<h256>& d, std::uint64_t lo, std::uint64_t hi) {
  if (hi - lo == 1) return d[lo];
  const std::uint64_t k = k_of(hi - lo);
  return node(mth(d, lo, lo + k), mth(d, lo + k, hi));
}

// RFC 9162 §2.1.3.2, step by step.
bool rfc_verify_inclusion(std::uint64_t leaf_index, std::uint64_t tree_size, const h256& entry,
                          const std::vector<h256>& path, const h256& root) {
  if (leaf_index >= tree_size) return false;
  std::uint64_t fn = leaf_index, sn = tree_size - 1;
  h256 r = entry;
  for (const h256& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = node(p, r);
      if ((fn & 1) == 0)
        do {
          fn >>= 1;
          sn >>= 1;
        } while ((fn & 1) == 0 && fn != 0);
    } else {
      r = node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

// RFC 9162 §2.1.4.2, step by step.
bool rfc_verify_consistency(std::uint64_t first, std::uint64_t second, const h256& first_hash,
                            const h256& second_hash, std::vector<h256> path) {
  if (first == second) return path.empty() && first_hash == second_hash;
  if (path.empty()) return false;
  if ((first & (first - 1)) == 0) path.insert(path.begin(), first_hash);
  std::uint64_t fn = first - 1, sn = second - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  h256 fr = path[0], sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const h256& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if ((fn & 1) == 0)
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == first_hash && sr == second_hash;
}

// A subtree_source over an in-memory vector, computed the reference way.
merkle::subtree_source vector_source(const std::vector<h256>& d) {
  return [&d](unsigned level, std::uint64_t index) -> result<hash256> {
    const std::uint64_t lo = index << level, hi = lo + (std::uint64_t{1} << level);
    return mth(d, lo, hi);
  };
}

std::vector<h256> log_leaves(const event_log& log) {
  std::vector<h256> out;
  auto n = log.for_each(1, UINT64_MAX, [&](const record_view& v) {
    h256 h;
    std::memcpy(h.data(), v.leaf_hash, 32);
    out.push_back(h);
    return true;
  });
  REQUIRE(n.ok());
  return out;
}

void append_events(event_log& log, int count, int batch = 7) {
  for (int i = 0; i < count;) {
    std::vector<record> v;
    for (int j = 0; j < batch && i < count; ++j, ++i)
      v.push_back(make_event("t" + std::to_string(i % 3), "order.created",
                             "e" + std::to_string(i), i + 1, "{\"i\":" + std::to_string(i) + "}"));
    for (auto& o : log.append(v)) REQUIRE(o.ok());
  }
}

}  // namespace

TEST_CASE("RFC 9162 hashing on small trees matches hand-computed values", "[merkle]") {
  std::vector<h256> d;
  for (const char* e : {"a", "b", "c", "d", "e", "f", "g", "h"}) d.push_back(leaf(e));
  // Written out from the RFC: leaf = SHA-256(0x00||entry), node = SHA-256(0x01||l||r),
  // split at the largest power of two smaller than n.
  const h256 l0 = sha(std::string("\x00" "a", 2)), l1 = sha(std::string("\x00" "b", 2)),
             l2 = sha(std::string("\x00" "c", 2)), l3 = sha(std::string("\x00" "d", 2)),
             l4 = sha(std::string("\x00" "e", 2)), l5 = sha(std::string("\x00" "f", 2)),
             l6 = sha(std::string("\x00" "g", 2)), l7 = sha(std::string("\x00" "h", 2));
  auto n = [](const h256& a, const h256& b) { return sha("\x01" + str(a) + str(b)); };
  const h256 n01 = n(l0, l1), n23 = n(l2, l3), n45 = n(l4, l5), n67 = n(l6, l7);
  const h256 n0123 = n(n01, n23);
  const std::vector<std::pair<std::uint64_t, h256>> expected = {
      {1, l0},
      {2, n01},
      {3, n(n01, l2)},
      {5, n(n0123, l4)},
      {7, n(n0123, n(n45, l6))},
      {8, n(n0123, n(n45, n67))},
  };
  CHECK(merkle::leaf_hash("a") == l0);
  CHECK(merkle::node_hash(l0, l1) == n01);
  CHECK(merkle::split_point(5) == 4);
  CHECK(merkle::split_point(8) == 4);
  CHECK(merkle::split_point(2) == 1);
  CHECK(merkle::to_hex(*merkle::root(vector_source(d), 0)) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // SHA-256("")
  const auto src = vector_source(d);
  for (const auto& [size, root] : expected) {
    INFO("tree size " << size);
    CHECK(*merkle::root(src, size) == root);
    CHECK(mth(d, 0, size) == root);
  }
  // Inclusion of leaf 4 ("e") in the 7-leaf tree: l5, l6... per PATH: [l5, l6, n0123].
  auto p = merkle::inclusion_proof(src, 4, 7);
  REQUIRE(p.ok());
  CHECK(*p == std::vector<hash256>{l5, l6, n0123});
  // Consistency 3 -> 7: [l2, l3, n01, n(n45, l6)] (RFC 9162 §2.1.5 example shape).
  auto c = merkle::consistency_proof(src, 3, 7);
  REQUIRE(c.ok());
  CHECK(*c == std::vector<hash256>{l2, l3, n01, n(n45, l6)});
  CHECK(rfc_verify_consistency(3, 7, n(n01, l2), n(n0123, n(n45, l6)), *c));
}

TEST_CASE("leaf_frontier: the root of every size equals the reference MTH", "[merkle]") {
  std::vector<h256> d;
  merkle::leaf_frontier f;
  CHECK(f.root() == merkle::empty_root());
  for (int i = 0; i < 70; ++i) {
    h256 leaf{};
    leaf[0] = static_cast<std::uint8_t>(i);
    leaf[1] = 0x5a;
    d.push_back(leaf);
    f.push(leaf);
    INFO("size " << d.size());
    REQUIRE(f.size() == d.size());
    CHECK(f.root() == mth(d, 0, d.size()));
    // Seeded with the subtrees of its size (largest first), it goes on the same.
    std::vector<hash256> subtrees;
    std::uint64_t start = 0;
    for (int level = 63; level >= 0; --level)
      if (d.size() & (std::uint64_t{1} << level)) {
        subtrees.push_back(mth(d, start, start + (std::uint64_t{1} << level)));
        start += std::uint64_t{1} << level;
      }
    merkle::leaf_frontier seeded(subtrees, d.size());
    CHECK(seeded.root() == f.root());
  }
}

TEST_CASE("every inclusion and consistency proof of a log verifies independently", "[merkle]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  const int kCount = 2500;
  append_events(*log, kCount);
  const std::vector<h256> d = log_leaves(*log);
  REQUIRE(d.size() == kCount);
  REQUIRE(*merkle::tree_size(*log) == kCount);

  for (std::uint64_t size : {1ull, 2ull, 3ull, 1024ull, 1025ull, 2500ull}) {
    const h256 root = mth(d, 0, size);
    REQUIRE(*merkle::tree_root(*log, size) == root);
    for (std::uint64_t seq = 1; seq <= size; ++seq) {
      auto p = merkle::prove_inclusion(*log, seq, size);
      REQUIRE(p.ok());
      if (!rfc_verify_inclusion(seq - 1, size, d[seq - 1], p->path, root) ||
          !merkle::verify_inclusion(d[seq - 1], seq - 1, size, p->path, root) || p->root != root)
        FAIL("inclusion proof of record " << seq << " in tree size " << size);
      // Against another index or size it does not verify.
      if (size > 2 && rfc_verify_inclusion(seq % size, size, d[seq - 1], p->path, root))
        FAIL("proof of record " << seq << " verified at a wrong index");
    }
  }
  const std::vector<std::uint64_t> sizes = {1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 100, 511, 1000, 1024, 2047, 2500};
  for (std::uint64_t a : sizes)
    for (std::uint64_t b : sizes) {
      if (a > b) continue;
      auto c = merkle::prove_consistency(*log, a, b);
      REQUIRE(c.ok());
      const h256 ra = mth(d, 0, a), rb = mth(d, 0, b);
      if (!rfc_verify_consistency(a, b, ra, rb, *c) || !merkle::verify_consistency(a, b, ra, rb, *c))
        FAIL("consistency " << a << " -> " << b);
      if (a < b && rfc_verify_consistency(a, b, ra, mth(d, 0, b - 1), *c))
        FAIL("consistency " << a << " -> " << b << " verified against a wrong root");
    }
  for (std::uint64_t a = 1; a <= 40; ++a)
    for (std::uint64_t b = a; b <= 40; ++b) {
      auto c = merkle::prove_consistency(*log, a, b);
      REQUIRE(c.ok());
      if (!rfc_verify_consistency(a, b, mth(d, 0, a), mth(d, 0, b), *c))
        FAIL("consistency " << a << " -> " << b << " (every pair up to 40)");
    }
  auto bad = merkle::prove_consistency(*log, 5, kCount + 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message == "tree size 2501 is beyond the log's tree (2500 records)");
  CHECK_FALSE(merkle::prove_inclusion(*log, 0, 10).ok());
  CHECK_FALSE(merkle::prove_inclusion(*log, 11, 10).ok());
}

TEST_CASE("a second log sharing a prefix then differing fails the consistency proof", "[merkle]") {
  temp_dir a_dir, b_dir;
  auto a = open_log(a_dir.path());
  auto b = open_log(b_dir.path());
  append_events(*a, 40);
  // Same first 20 records byte for byte (same times), then a different history.
  for (std::uint64_t s = 1; s <= 20; ++s) {
    std::vector<record> v{a->get(s)->value()};
    for (auto& o : b->append(v)) REQUIRE(o.ok());
  }
  for (int i = 0; i < 20; ++i) hooklog::test::append_one(*b, make_event("t0", "x", "other", i));
  REQUIRE(*merkle::tree_root(*a, 20) == *merkle::tree_root(*b, 20));
  const h256 old_root = *merkle::tree_root(*a, 20);
  const h256 a_root = *merkle::tree_root(*a, 40), b_root = *merkle::tree_root(*b, 40);
  CHECK(a_root != b_root);
  auto ca = merkle::prove_consistency(*a, 20, 40);
  auto cb = merkle::prove_consistency(*b, 20, 40);
  CHECK(rfc_verify_consistency(20, 40, old_root, a_root, *ca));
  CHECK(rfc_verify_consistency(20, 40, old_root, b_root, *cb));  // b extends the shared prefix
  // A head from a, checked against b's proof: b is not an extension of what a published.
  const h256 a_30 = *merkle::tree_root(*a, 30);
  auto cb30 = merkle::prove_consistency(*b, 30, 40);
  CHECK_FALSE(rfc_verify_consistency(30, 40, a_30, b_root, *cb30));
  CHECK_FALSE(merkle::verify_consistency(30, 40, a_30, b_root, *cb30));
}

TEST_CASE("a record altered with the chain resealed fails its proof and the old root", "[merkle]") {
  temp_dir dir;
  h256 published;
  std::uint64_t n = 0;
  {
    auto log = open_log(dir.path());
    append_events(*log, 50);
    n = log->head().seq;
    published = *merkle::tree_root(*log, n);
    // Rewrite record 17's body and reseal the whole chain from it.
    hash256 prev = log->get(16)->value().chain_hash;
    for (std::uint64_t s = 17; s <= n; ++s)
      test::rewrite_record(*log, s, [&](std::string& b) {
        if (s == 17) b[b.size() - 2] = '9';
        prev = seal(b, prev);
      });
    REQUIRE(log->verify()->ok);  // the chain alone is consistent again
    // Level 0 is the records' own leaf hashes, the levels above still hold what was published:
    // the proof would not verify, so none is given.
    CHECK(*merkle::tree_root(*log, n) == published);
    auto p = merkle::prove_inclusion(*log, 17, n);
    REQUIRE_FALSE(p.ok());
    CHECK(p.code() == make_error_code(merkle::merkle_errc::damaged));
    CHECK(p.err().message.rfind("Merkle tree damaged at the proof of record 17 in the tree of size " +
                                    std::to_string(n),
                                0) == 0);
    auto c = merkle::check_tree(*log);
    REQUIRE(c.ok());
    CHECK_FALSE(c->ok);
    CHECK(c->problem.rfind("Merkle tree damaged at level 1 index 8 (leaves 16..17)", 0) == 0);
  }
  {
    // Even a tree rebuilt from the altered records does not give the published root.
    auto log = open_log(dir.path());
    auto t = lmdb::txn::begin(log->raw_env(), false);
    REQUIRE(log->merkle_db().drop(*t).ok());
    REQUIRE(t->commit().ok());
  }
  auto log = open_log(dir.path());  // back-fills the tree at open
  REQUIRE(*merkle::tree_size(*log) == n);
  CHECK(*merkle::tree_root(*log, n) != published);
  CHECK(*merkle::tree_root(*log, 16) == mth(log_leaves(*log), 0, 16));
}

TEST_CASE("a flipped bit in a stored subtree hash is found, never proven", "[merkle]") {
  temp_dir dir;
  auto log = open_log(dir.path());
  append_events(*log, 40);
  const std::uint64_t n = log->head().seq;
  auto sound = merkle::check_tree(*log);
  REQUIRE(sound.ok());
  CHECK(sound->ok);
  CHECK(sound->leaves == n);
  CHECK(n == 40);
  CHECK(sound->nodes == 20 + 10 + 5 + 2 + 1);  // every complete subtree of level >= 1
  for (std::uint64_t s = 1; s <= n; ++s) REQUIRE(merkle::prove_inclusion(*log, s, n).ok());
  {
    // Level 2, index 1 (leaves 4..7): stored under (last leaf 7, level 2).
    auto t = lmdb::txn::begin(log->raw_env(), false);
    std::string key;
    bytes::put_be64(key, 7);
    key.push_back('\x02');
    auto v = log->merkle_db().get(*t, key);
    REQUIRE(v.ok());
    REQUIRE(v->has_value());
    std::string flipped((*v)->data(), (*v)->size());
    flipped[0] ^= 1;
    REQUIRE(log->merkle_db().put(*t, key, flipped).ok());
    REQUIRE(t->commit().ok());
  }
  auto c = merkle::check_tree(*log);
  REQUIRE(c.ok());
  CHECK_FALSE(c->ok);
  CHECK(c->problem.rfind("Merkle tree damaged at level 2 index 1 (leaves 4..7): stored ", 0) == 0);
  // The paths of records 1..4 hold that node: refused. Record 5's is under it (the proof
  // rebuilds it from leaves) and the root reads level 5: still a sound proof.
  CHECK(merkle::prove_inclusion(*log, 5, n).ok());
  for (std::uint64_t s : {1, 4}) {
    auto p = merkle::prove_inclusion(*log, s, n);
    INFO(s);
    REQUIRE_FALSE(p.ok());
    CHECK(p.code() == make_error_code(merkle::merkle_errc::damaged));
  }
  CHECK(merkle::prove_inclusion(*log, 3, 3).ok());  // a tree the node is not in
}

TEST_CASE("a log without a tree is back-filled at open", "[merkle]") {
  temp_dir dir;
  h256 root;
  {
    auto log = open_log(dir.path());
    append_events(*log, 300);
    root = *merkle::tree_root(*log, 300);
    auto t = lmdb::txn::begin(log->raw_env(), false);
    REQUIRE(log->merkle_db().drop(*t).ok());
    REQUIRE(t->commit().ok());
    CHECK(*merkle::tree_size(*log) == 0);
  }
  auto log = open_log(dir.path());
  CHECK(*merkle::tree_size(*log) == 300);
  CHECK(*merkle::tree_root(*log, 300) == root);
  append_events(*log, 5);
  CHECK(*merkle::tree_root(*log, 305) == mth(log_leaves(*log), 0, 305));
}
