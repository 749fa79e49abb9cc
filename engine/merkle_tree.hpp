#pragma once
// RFC 9162 §2.1 Merkle tree hashing and proofs over a log's leaf hashes.
//
//   leaf hash  = SHA-256(0x00 || entry)          (each record stores it: record_format.hpp)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH(D[n])  splits at k, the largest power of two smaller than n.
//
// Hashes of ranges come from a `subtree_source`: the hash of the perfect subtree at
// (level, index), i.e. of leaves [index << level, (index + 1) << level). Every range the
// RFC's recursion visits is either such a perfect subtree or splits into one perfect
// left half and a smaller right remainder, so root(n), an inclusion proof and a
// consistency proof cost O(log n) source reads.
//
// Leaf indexes are 0-based: the record with seq s is leaf s - 1; tree size n covers
// seqs 1..n. Errors: merkle_errc (bad sizes / indexes) or the source's own error.
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "engine/record.hpp"
#include "engine/result.hpp"

namespace hooklog::merkle {

enum class merkle_errc {
  success = 0,
  bad_range,        // an index or size outside the tree (the message says which)
  missing_subtree,  // the store lacks a subtree hash it should hold (damaged or not built)
  damaged,          // a stored subtree hash is not what the leaves give (the message says where)
};
const std::error_category& merkle_category() noexcept;
inline std::error_code make_error_code(merkle_errc e) noexcept {
  return {static_cast<int>(e), merkle_category()};
}
inline error make_error(merkle_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

hash256 leaf_hash(std::string_view entry);                    // SHA-256(0x00 || entry)
hash256 node_hash(const hash256& left, const hash256& right);  // SHA-256(0x01 || l || r)
hash256 empty_root();                                          // SHA-256("")

// Largest power of two strictly smaller than n (n >= 2).
std::uint64_t split_point(std::uint64_t n);

// Hash of the perfect subtree (level, index).
using subtree_source = std::function<result<hash256>(unsigned level, std::uint64_t index)>;

// MTH of the first n leaves.
result<hash256> root(const subtree_source& src, std::uint64_t n);
// RFC 9162 §2.1.3.1 PATH(m, D[n]): sibling hashes from the leaf upwards. Needs m < n.
result<std::vector<hash256>> inclusion_proof(const subtree_source& src, std::uint64_t m,
                                             std::uint64_t n);
// RFC 9162 §2.1.4.1 PROOF(m, D[n]). Needs 0 < m <= n (m == n gives an empty proof).
result<std::vector<hash256>> consistency_proof(const subtree_source& src, std::uint64_t m,
                                               std::uint64_t n);

// Verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2): true when the proof is right.
bool verify_inclusion(const hash256& leaf, std::uint64_t index, std::uint64_t size,
                      const std::vector<hash256>& proof, const hash256& root);
bool verify_consistency(std::uint64_t size1, std::uint64_t size2, const hash256& root1,
                        const hash256& root2, const std::vector<hash256>& proof);

// The roots of a growing tree's perfect subtrees, largest first (the binary decomposition of
// its size), from its leaves in order: root() is the MTH of the size() leaves pushed. O(log n)
// memory; push() is amortized one node hash. A copyable value; not thread-safe.
class leaf_frontier {
 public:
  leaf_frontier() = default;
  // The subtrees of a tree of `size` leaves, largest first (as merkle::frontier reads them).
  leaf_frontier(std::vector<hash256> subtrees, std::uint64_t size)
      : subtrees_(std::move(subtrees)), size_(size) {}
  void push(const hash256& leaf);
  std::uint64_t size() const { return size_; }
  hash256 root() const;

 private:
  std::vector<hash256> subtrees_;
  std::uint64_t size_ = 0;
};

// Lowercase hex of a hash, and back (nullopt-like failure: returns false).
std::string to_hex(const hash256& h);
bool from_hex(std::string_view hex, hash256& out);

}  // namespace hooklog::merkle

template <>
struct std::is_error_code_enum<hooklog::merkle::merkle_errc> : std::true_type {};
