#include "engine/entity_tail.hpp"

#include <algorithm>

#include "engine/bytes.hpp"
#include "engine/log_index.hpp"
#include "engine/log_keys.hpp"

namespace hooklog {

void entity_tail::add(const std::vector<std::string_view>& bucketed_keys) {
  std::vector<std::uint64_t>* seqs = nullptr;
  std::string_view last;
  for (const std::string_view k : bucketed_keys) {
    const std::string_view entity =
        k.substr(log_keys::kBucketSize, k.size() - log_keys::kBucketSize - 8);
    if (!seqs || entity != last) {
      auto it = seqs_.find(entity);
      if (it == seqs_.end()) it = seqs_.emplace(std::string(entity), 0).first;
      seqs = &it->second;
      last = it->first;
    }
    const std::uint64_t seq = bytes::get_be64(k.substr(k.size() - 8));
    seqs->push_back(seq);
    last_seq_ = std::max(last_seq_, seq);
  }
  size_ += bucketed_keys.size();
}

void entity_tail::clear() {
  seqs_.clear();
  size_ = 0;
  last_seq_ = 0;
}

void entity_tail::append_all(index_key_list& out, unsigned bucket_bits) const {
  for (const auto& [entity, seqs] : seqs_)
    for (const std::uint64_t seq : seqs) {
      log_keys::append_bucket(out.buffer(), log_keys::entity_bucket(seq, bucket_bits));
      out.buffer().append(entity);
      bytes::put_be64(out.buffer(), seq);
      out.end_key();
    }
}

void entity_tail::keys(std::string_view prefix, bool exact, std::uint64_t from_seq,
                       std::uint64_t to_seq, index_key_list& out) const {
  auto emit = [&](const std::string& entity, const std::vector<std::uint64_t>& seqs) {
    const auto lo = std::lower_bound(seqs.begin(), seqs.end(), from_seq);
    const auto hi = std::upper_bound(lo, seqs.end(), to_seq);
    for (auto it = lo; it != hi; ++it) {
      out.buffer().append(entity);
      bytes::put_be64(out.buffer(), *it);
      out.end_key();
    }
  };
  if (exact) {
    if (auto it = seqs_.find(prefix); it != seqs_.end()) emit(it->first, it->second);
    return;
  }
  for (auto it = seqs_.lower_bound(prefix);
       it != seqs_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix; ++it)
    emit(it->first, it->second);
}

}  // namespace hooklog
