#include "engine/merkle_store.hpp"

#include <array>
#include <cstring>
#include <string>

#include "engine/bytes.hpp"
#include "engine/errc.hpp"
#include "engine/event_log.hpp"
#include "engine/record_format.hpp"

namespace hooklog::merkle {
namespace {

// One byte 0x00: sorts before every node key, so node keys are appended after it.
constexpr std::string_view kSizeKey{"\0", 1};

// (last leaf of the subtree, 8 bytes BE) + level: keys grow in the order subtrees complete,
// so every node is written with MDB_APPEND.
std::string node_key(unsigned level, std::uint64_t index) {
  std::string k;
  k.reserve(9);
  bytes::put_be64(k, ((index + 1) << level) - 1);
  k.push_back(static_cast<char>(level));
  return k;
}

std::string_view as_view(const hash256& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// A seq listed in "gaps" (cluster mode: a stream message that holds no record).
bool is_gap(lmdb::txn& t, MDB_dbi gaps, std::string_view key) {
  if (gaps == 0) return false;
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  return mdb_get(t.handle(), gaps, &k, &v) == 0;
}

result<hash256> read_node(lmdb::txn& t, const lmdb::dbi& db, MDB_dbi records, MDB_dbi gaps,
                          unsigned level, std::uint64_t index) {
  if (level == 0) {  // a leaf: the record's own stored leaf hash (kGapLeaf for a gap)
    const std::string key = bytes::be64(index + 1);
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
    const int rc = mdb_get(t.handle(), records, &k, &v);
    if (rc == MDB_NOTFOUND && is_gap(t, gaps, key)) return kGapLeaf;
    if (rc != 0 || v.mv_size < format::kPrefixSize)
      return make_error(merkle_errc::missing_subtree,
                        "the Merkle tree's leaf " + std::to_string(index) + " (record " +
                            std::to_string(index + 1) + ") cannot be read");
    hash256 h;
    std::memcpy(h.data(), static_cast<const char*>(v.mv_data) + format::kOffsetLeafHash, 32);
    return h;
  }
  auto v = db.get(t, node_key(level, index));
  if (!v) return v.err();
  if (!*v || (*v)->size() != 32)
    return make_error(merkle_errc::missing_subtree,
                      "the Merkle tree lacks the subtree hash at level " + std::to_string(level) +
                          " index " + std::to_string(index));
  hash256 h;
  std::memcpy(h.data(), (*v)->data(), 32);
  return h;
}

}  // namespace

result<std::uint64_t> stored_size(lmdb::txn& t, const lmdb::dbi& db) {
  auto v = db.get(t, kSizeKey);
  if (!v) return v.err();
  if (!*v) return std::uint64_t{0};
  if ((*v)->size() != 8)
    return make_error(merkle_errc::missing_subtree, "the Merkle tree's size entry is damaged");
  return bytes::get_be64(**v);
}

result<void> append(lmdb::txn& t, const lmdb::dbi& db, MDB_dbi records, std::uint64_t first,
                    std::span<const hash256> leaves, MDB_dbi gaps) {
  if (leaves.empty()) return {};
  auto size = stored_size(t, db);
  if (!size) return size.err();
  if (*size != first)
    return make_error(merkle_errc::bad_range, "the Merkle tree holds " + std::to_string(*size) +
                                                  " leaves, the log appends leaf " +
                                                  std::to_string(first + 1));
  // Per level, the last left child made in this call: most siblings need no read.
  struct held {
    std::uint64_t index = UINT64_MAX;
    hash256 hash{};
  };
  std::array<held, 64> last{};
  std::uint64_t i = first;
  for (const hash256& leaf : leaves) {
    hash256 h = leaf;
    unsigned level = 0;
    for (std::uint64_t idx = i;; idx >>= 1) {
      if (!(idx & 1)) {  // a left child: its parent completes later
        last[level] = {idx, h};
        break;
      }
      hash256 left;
      if (last[level].index == idx - 1) {
        left = last[level].hash;
      } else {
        auto l = read_node(t, db, records, gaps, level, idx - 1);
        if (!l) return l.err();
        left = *l;
      }
      h = node_hash(left, h);
      ++level;
      if (auto p = db.put(t, node_key(level, idx >> 1), as_view(h), MDB_APPEND); !p) return p;
    }
    ++i;
  }
  return db.put(t, kSizeKey, bytes::be64(i));
}

subtree_source source(lmdb::txn& t, const lmdb::dbi& db, MDB_dbi records, MDB_dbi gaps) {
  return [&t, &db, records, gaps](unsigned level, std::uint64_t index) {
    return read_node(t, db, records, gaps, level, index);
  };
}

result<void> backfill(const lmdb::env& env, const lmdb::dbi& db, const lmdb::dbi& records,
                      std::uint64_t head, const std::function<result<void>()>& grow,
                      std::uint64_t batch, MDB_dbi gaps) {
  for (;;) {
    auto attempt = [&]() -> result<bool> {
      auto t = lmdb::txn::begin(env, false);
      if (!t) return t.err();
      auto size = stored_size(*t, db);
      if (!size) return size.err();
      if (*size >= head) return true;
      std::vector<hash256> leaves;
      const std::uint64_t end = std::min(head, *size + batch);
      leaves.reserve(end - *size);
      auto c = lmdb::cursor::open(*t, records);
      if (!c) return c.err();
      std::uint64_t seq = *size + 1;
      for (auto kv = c->seek(bytes::be64(seq)); seq <= end; ++seq) {
        if (!kv) return kv.err();
        if ((!*kv || bytes::get_be64((*kv)->first) != seq) && is_gap(*t, gaps, bytes::be64(seq))) {
          leaves.push_back(kGapLeaf);  // the cursor stays on the next stored record
          continue;
        }
        if (!*kv || bytes::get_be64((*kv)->first) != seq ||
            (*kv)->second.size() < format::kPrefixSize)
          return make_error(merkle_errc::missing_subtree,
                            "cannot build the Merkle tree: record " + std::to_string(seq) +
                                " is missing or damaged; run `hooklog verify`");
        hash256& h = leaves.emplace_back();
        std::memcpy(h.data(), (*kv)->second.data() + format::kOffsetLeafHash, 32);
        kv = c->next();
      }
      *c = lmdb::cursor();
      if (auto r = append(*t, db, records.handle(), *size, leaves, gaps); !r) return r.err();
      if (auto r = t->commit(); !r) return r.err();
      return end >= head;
    };
    auto r = attempt();
    if (r && *r) return {};
    if (r) continue;
    if (r.code() == make_error_code(errc::map_full)) {
      if (auto g = grow(); !g) return g;
      continue;
    }
    return r.err();
  }
}

namespace {

template <class F>
auto with_tree(const event_log& log, F&& f) -> decltype(f(std::declval<lmdb::txn&>(),
                                                          std::declval<const lmdb::dbi&>(),
                                                          MDB_dbi{}, MDB_dbi{}, std::uint64_t{})) {
  if (!log.has_merkle())
    return make_error(merkle_errc::missing_subtree,
                      "this log has no Merkle tree yet: open it once with `hooklog serve` to build it");
  auto lock = log.read_lock();
  auto t = lmdb::txn::begin(log.raw_env(), true);
  if (!t) return t.err();
  const lmdb::dbi& db = log.merkle_db();
  auto size = stored_size(*t, db);
  if (!size) return size.err();
  return f(*t, db, log.records_dbi(), log.gaps_dbi(), *size);
}

error too_big(std::uint64_t size, std::uint64_t built) {
  return make_error(merkle_errc::bad_range, "tree size " + std::to_string(size) +
                                                " is beyond the log's tree (" +
                                                std::to_string(built) + " records)");
}

}  // namespace

result<std::uint64_t> tree_size(const event_log& log) {
  return with_tree(log, [](lmdb::txn&, const lmdb::dbi&, MDB_dbi, MDB_dbi, std::uint64_t n) -> result<std::uint64_t> {
    return n;
  });
}

result<hash256> tree_root(const event_log& log, std::uint64_t size) {
  return with_tree(log, [&](lmdb::txn& t, const lmdb::dbi& db, MDB_dbi rec, MDB_dbi gaps, std::uint64_t n) -> result<hash256> {
    if (size > n) return too_big(size, n);
    return root(source(t, db, rec, gaps), size);
  });
}

result<std::vector<hash256>> frontier(const event_log& log, std::uint64_t size) {
  return with_tree(log,
                   [&](lmdb::txn& t, const lmdb::dbi& db, MDB_dbi rec, MDB_dbi gaps,
                       std::uint64_t n) -> result<std::vector<hash256>> {
                     if (size > n) return too_big(size, n);
                     const auto src = source(t, db, rec, gaps);
                     std::vector<hash256> out;
                     std::uint64_t start = 0;
                     for (int level = 63; level >= 0; --level) {
                       const std::uint64_t span = std::uint64_t{1} << level;
                       if ((size & span) == 0) continue;
                       auto h = src(static_cast<unsigned>(level), start >> level);
                       if (!h) return h.err();
                       out.push_back(*h);
                       start += span;
                     }
                     return out;
                   });
}

result<proof> prove_inclusion(const event_log& log, std::uint64_t seq, std::uint64_t size) {
  return with_tree(log, [&](lmdb::txn& t, const lmdb::dbi& db, MDB_dbi rec, MDB_dbi gaps, std::uint64_t n) -> result<proof> {
    if (size > n) return too_big(size, n);
    if (seq == 0 || seq > size)
      return make_error(merkle_errc::bad_range, "record " + std::to_string(seq) +
                                                    " is not in a tree of size " +
                                                    std::to_string(size));
    const auto src = source(t, db, rec, gaps);
    proof p;
    p.leaf_index = seq - 1;
    p.tree_size = size;
    auto leaf = src(0, seq - 1);
    if (!leaf) return leaf.err();
    p.leaf = *leaf;
    auto r = root(src, size);
    if (!r) return r.err();
    p.root = *r;
    auto path = inclusion_proof(src, seq - 1, size);
    if (!path) return path.err();
    p.path = std::move(*path);
    if (!verify_inclusion(p.leaf, p.leaf_index, size, p.path, p.root))
      return make_error(merkle_errc::damaged,
                        "Merkle tree damaged at the proof of record " + std::to_string(seq) +
                            " in the tree of size " + std::to_string(size) +
                            ": a stored subtree hash on it is not what the leaves give; "
                            "`hooklog verify` names the node");
    return p;
  });
}

result<std::vector<hash256>> prove_consistency(const event_log& log, std::uint64_t first,
                                               std::uint64_t second) {
  return with_tree(log, [&](lmdb::txn& t, const lmdb::dbi& db, MDB_dbi rec, MDB_dbi gaps,
                            std::uint64_t n) -> result<std::vector<hash256>> {
    if (second > n) return too_big(second, n);
    return consistency_proof(source(t, db, rec, gaps), first, second);
  });
}

result<tree_check> check_tree(const event_log& log) {
  return with_tree(log, [](lmdb::txn& t, const lmdb::dbi& db, MDB_dbi rec, MDB_dbi gaps,
                           std::uint64_t n) -> result<tree_check> {
    tree_check out;
    // Per level, the left child waiting for its right sibling (as append() holds them).
    std::array<hash256, 64> left{};
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
      auto leaf = read_node(t, db, rec, gaps, 0, seq - 1);  // the record's, or a gap's
      if (!leaf) return leaf.err();
      hash256 h = *leaf;
      ++out.leaves;
      unsigned level = 0;
      for (std::uint64_t idx = seq - 1;; idx >>= 1) {
        if (!(idx & 1)) {
          left[level] = h;
          break;
        }
        h = node_hash(left[level], h);
        ++level;
        auto v = db.get(t, node_key(level, idx >> 1));
        if (!v) return v.err();
        ++out.nodes;
        if (!*v || (*v)->size() != 32 || std::memcmp((*v)->data(), h.data(), 32) != 0) {
          const std::uint64_t first = (idx >> 1) << level;
          out.ok = false;
          out.problem = "Merkle tree damaged at level " + std::to_string(level) + " index " +
                        std::to_string(idx >> 1) + " (leaves " + std::to_string(first) + ".." +
                        std::to_string(first + (std::uint64_t{1} << level) - 1) + "): " +
                        (!*v ? std::string("the stored hash is missing")
                             : "stored " + bytes::to_hex((*v)->data(), (*v)->size()) +
                                   ", the leaves give " + to_hex(h));
          return out;
        }
      }
    }
    return out;
  });
}

}  // namespace hooklog::merkle
