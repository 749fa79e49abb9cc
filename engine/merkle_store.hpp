#pragma once
// The Merkle tree of the log, stored beside it: the LMDB database "merkle" in the log's
// environment holds the hash of every complete (perfect) subtree of level >= 1, keyed by
// (its last leaf index: 8 bytes big-endian, level: 1 byte) -> 32-byte hash, plus the key 0x00
// (8 bytes big-endian: how many leaves the tree holds). Level 0 is the records' own stored leaf
// hashes. A perfect subtree never changes once complete, and keys grow in the order subtrees
// complete: appending leaf i appends one hash per level where i completes a subtree (one
// MDB_APPEND put per leaf on average, siblings mostly from memory), and any root or proof reads
// O(log n) hashes (engine/merkle_tree.hpp). Layout: docs/FORMAT.md.
//
// The tree's leaves are the records' stored leaf hashes in seq order (seq s = leaf s-1):
// event_log::append calls append() inside its write transaction, so the tree and the log
// commit together. A log written before the tree existed is back-filled by backfill().
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "engine/lmdb.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/record.hpp"

namespace hooklog {

class event_log;

namespace merkle {

inline constexpr const char* kDbName = "merkle";
// The leaf of a seq that holds no record (a cluster-mode gap): 32 zero bytes, which no
// SHA-256 leaf hash is known to equal.
inline constexpr hash256 kGapLeaf{};

// Adds leaves [first, first + leaves.size()) inside `t`. The stored size must equal
// `first` (else merkle_errc::bad_range: the tree is out of step with the log).
// `gaps` (0 = none): the log's "gaps" database; a seq listed there has no record and its leaf
// is kGapLeaf (cluster mode, docs/FORMAT.md), so leaf s-1 stays seq s on every node.
result<void> append(lmdb::txn& t, const lmdb::dbi& db, MDB_dbi records, std::uint64_t first,
                    std::span<const hash256> leaves, MDB_dbi gaps = 0);

// The number of leaves the tree holds (0 when empty or never built).
result<std::uint64_t> stored_size(lmdb::txn& t, const lmdb::dbi& db);

// A subtree_source reading inside `t` (which must outlive it).
subtree_source source(lmdb::txn& t, const lmdb::dbi& db, MDB_dbi records, MDB_dbi gaps = 0);

// Brings the tree up to `head` leaves from the records database, in transactions of at most
// `batch` leaves. `grow` is called when the map is full (then the batch is retried).
result<void> backfill(const lmdb::env& env, const lmdb::dbi& db, const lmdb::dbi& records,
                      std::uint64_t head, const std::function<result<void>()>& grow,
                      std::uint64_t batch = 65536, MDB_dbi gaps = 0);

// Reads against a log (a read transaction under the log's read lock). Sizes are tree
// sizes (seqs 1..n); each fails with bad_range when a size exceeds the built tree.
struct proof {
  std::uint64_t leaf_index = 0;  // seq - 1
  std::uint64_t tree_size = 0;
  hash256 leaf{};
  hash256 root{};
  std::vector<hash256> path;
};
result<std::uint64_t> tree_size(const event_log& log);
result<hash256> tree_root(const event_log& log, std::uint64_t size);
// The stored roots of the perfect subtrees of a tree of `size` leaves, largest first (what a
// leaf_frontier of that size holds; their fold is tree_root(log, size)).
result<std::vector<hash256>> frontier(const event_log& log, std::uint64_t size);
// The proof is checked (verify_inclusion against the root the stored tree gives) before it is
// returned: a damaged stored node fails with merkle_errc::damaged ("Merkle tree damaged at …"),
// never a proof that does not verify.
result<proof> prove_inclusion(const event_log& log, std::uint64_t seq, std::uint64_t size);
result<std::vector<hash256>> prove_consistency(const event_log& log, std::uint64_t first,
                                               std::uint64_t second);

// Rebuilds the tree from the records' stored leaf hashes in seq order (streaming: O(log n)
// memory, one read transaction) up to the stored size and compares every stored subtree hash.
struct tree_check {
  std::uint64_t leaves = 0;  // leaves rebuilt
  std::uint64_t nodes = 0;   // stored subtree hashes compared
  bool ok = true;
  std::string problem;       // the first bad node: "level L index I (leaves A..B): ..."
};
result<tree_check> check_tree(const event_log& log);

}  // namespace merkle
}  // namespace hooklog
