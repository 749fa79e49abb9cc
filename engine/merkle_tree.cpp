#include "engine/merkle_tree.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_Init: cheaper than EVP (see record_codec.cpp)
#include <openssl/sha.h>

#include <bit>
#include <cstring>

#include "engine/bytes.hpp"

namespace hooklog::merkle {
namespace {

class merkle_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.merkle"; }
  std::string message(int c) const override {
    switch (static_cast<merkle_errc>(c)) {
      case merkle_errc::success: return "success";
      case merkle_errc::bad_range: return "index or tree size outside the tree";
      case merkle_errc::missing_subtree: return "a stored subtree hash is missing";
      case merkle_errc::damaged: return "a stored subtree hash is damaged";
    }
    return "unknown merkle error";
  }
};

bool is_pow2(std::uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// Hash of leaves [lo, hi) where lo is a multiple of the largest power of two <= hi - lo
// (true of every range the RFC recursion visits from the root).
result<hash256> range_hash(const subtree_source& src, std::uint64_t lo, std::uint64_t hi) {
  const std::uint64_t n = hi - lo;
  if (is_pow2(n)) {
    const unsigned level = static_cast<unsigned>(std::countr_zero(n));
    return src(level, lo >> level);
  }
  const std::uint64_t k = split_point(n);
  auto l = src(static_cast<unsigned>(std::countr_zero(k)), lo / k);
  if (!l) return l;
  auto r = range_hash(src, lo + k, hi);
  if (!r) return r;
  return node_hash(*l, *r);
}

// PATH(m, D[lo:hi]) appended to `out` from the leaf upwards.
result<void> path(const subtree_source& src, std::uint64_t m, std::uint64_t lo, std::uint64_t hi,
                  std::vector<hash256>& out) {
  const std::uint64_t n = hi - lo;
  if (n <= 1) return {};
  const std::uint64_t k = split_point(n);
  if (m < k) {
    if (auto r = path(src, m, lo, lo + k, out); !r) return r;
    auto h = range_hash(src, lo + k, hi);
    if (!h) return h.err();
    out.push_back(*h);
  } else {
    if (auto r = path(src, m - k, lo + k, hi, out); !r) return r;
    auto h = range_hash(src, lo, lo + k);
    if (!h) return h.err();
    out.push_back(*h);
  }
  return {};
}

// SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1.
result<void> subproof(const subtree_source& src, std::uint64_t m, std::uint64_t lo,
                      std::uint64_t hi, bool b, std::vector<hash256>& out) {
  const std::uint64_t n = hi - lo;
  if (m == n) {
    if (b) return {};
    auto h = range_hash(src, lo, hi);
    if (!h) return h.err();
    out.push_back(*h);
    return {};
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    if (auto r = subproof(src, m, lo, lo + k, b, out); !r) return r;
    auto h = range_hash(src, lo + k, hi);
    if (!h) return h.err();
    out.push_back(*h);
  } else {
    if (auto r = subproof(src, m - k, lo + k, hi, false, out); !r) return r;
    auto h = range_hash(src, lo, lo + k);
    if (!h) return h.err();
    out.push_back(*h);
  }
  return {};
}

}  // namespace

const std::error_category& merkle_category() noexcept {
  static merkle_category_impl c;
  return c;
}

hash256 leaf_hash(std::string_view entry) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const unsigned char prefix = 0x00;
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, entry.data(), entry.size());
  hash256 h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

hash256 node_hash(const hash256& left, const hash256& right) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const unsigned char prefix = 0x01;
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, left.data(), left.size());
  SHA256_Update(&ctx, right.data(), right.size());
  hash256 h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

hash256 empty_root() {
  hash256 h;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Final(h.data(), &ctx);
  return h;
}

std::uint64_t split_point(std::uint64_t n) {
  return n < 2 ? 0 : std::bit_floor(n - 1);
}

void leaf_frontier::push(const hash256& leaf) {
  hash256 h = leaf;
  // Each trailing 1 bit of the old size is a subtree of that level the new leaf completes.
  for (std::uint64_t n = size_; n & 1; n >>= 1) {
    h = node_hash(subtrees_.back(), h);
    subtrees_.pop_back();
  }
  subtrees_.push_back(h);
  ++size_;
}

hash256 leaf_frontier::root() const {
  if (subtrees_.empty()) return empty_root();
  // MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n: the
  // subtrees folded from the smallest up.
  hash256 h = subtrees_.back();
  for (auto it = subtrees_.rbegin() + 1; it != subtrees_.rend(); ++it) h = node_hash(*it, h);
  return h;
}

result<hash256> root(const subtree_source& src, std::uint64_t n) {
  if (n == 0) return empty_root();
  return range_hash(src, 0, n);
}

result<std::vector<hash256>> inclusion_proof(const subtree_source& src, std::uint64_t m,
                                             std::uint64_t n) {
  if (m >= n)
    return make_error(merkle_errc::bad_range, "leaf index " + std::to_string(m) +
                                                  " is not in a tree of size " + std::to_string(n));
  std::vector<hash256> out;
  if (auto r = path(src, m, 0, n, out); !r) return r.err();
  return out;
}

result<std::vector<hash256>> consistency_proof(const subtree_source& src, std::uint64_t m,
                                               std::uint64_t n) {
  if (m == 0 || m > n)
    return make_error(merkle_errc::bad_range, "no consistency proof from size " +
                                                  std::to_string(m) + " to size " +
                                                  std::to_string(n) + " (needs 0 < first <= second)");
  std::vector<hash256> out;
  if (m == n) return out;
  if (auto r = subproof(src, m, 0, n, true, out); !r) return r.err();
  return out;
}

bool verify_inclusion(const hash256& leaf, std::uint64_t index, std::uint64_t size,
                      const std::vector<hash256>& proof, const hash256& root_hash) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  hash256 r = leaf;
  for (const hash256& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root_hash;
}

bool verify_consistency(std::uint64_t size1, std::uint64_t size2, const hash256& root1,
                        const hash256& root2, const std::vector<hash256>& proof) {
  if (size1 == 0 || size1 > size2) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (proof.empty()) return false;
  std::vector<hash256> p = proof;
  if (is_pow2(size1)) p.insert(p.begin(), root1);
  std::uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  hash256 fr = p[0], sr = p[0];
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == root1 && sr == root2;
}

std::string to_hex(const hash256& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (auto b : h) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

bool from_hex(std::string_view hex, hash256& out) {
  if (hex.size() != 2 * out.size()) return false;
  const auto raw = bytes::from_hex(hex);
  if (!raw) return false;
  std::memcpy(out.data(), raw->data(), out.size());
  return true;
}

}  // namespace hooklog::merkle
