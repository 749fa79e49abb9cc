#include "projections/timeline_held.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <utility>

namespace hooklog::projections {

void timeline_held::index_entry(std::size_t i, const entry& e) {
  const std::string_view entity = entity_of({arena_.data() + e.at, e.key_size});
  scratch_.assign(entity);
  auto it = by_entity_.find(scratch_);
  if (it == by_entity_.end()) it = by_entity_.emplace(scratch_, std::vector<std::uint32_t>()).first;
  it->second.push_back(static_cast<std::uint32_t>(i));
}

void timeline_held::commit(std::size_t written) {
  std::unique_lock g(mutex_);
  if (written > entries_.size()) written = entries_.size();
  if (written > 0) {
    floor_ = std::max(floor_, entries_[written - 1].seq);
    if (written == entries_.size()) {
      arena_.clear();
      entries_.clear();
      by_entity_.clear();
    } else {
      // A write-out mid-batch (rare: past the staged bound): the rest moves to the front.
      const std::size_t from = entries_[written].at;
      arena_.erase(0, from);
      entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(written));
      by_entity_.clear();
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        entries_[i].at -= from;
        index_entry(i, entries_[i]);
      }
    }
  }
  committed_ = entries_.size();
}

void timeline_held::discard_uncommitted() {
  std::unique_lock g(mutex_);
  if (committed_ == entries_.size()) return;
  arena_.resize(entries_[committed_].at);
  // The uncommitted entries are the tails of their entities' index lists (added in order).
  for (auto it = by_entity_.begin(); it != by_entity_.end();) {
    auto& v = it->second;
    while (!v.empty() && v.back() >= committed_) v.pop_back();
    it = v.empty() ? by_entity_.erase(it) : std::next(it);
  }
  entries_.resize(committed_);
}

void timeline_held::resetting(std::uint64_t txn_id) {
  std::unique_lock g(mutex_);
  reset_txn_ = txn_id;
}

void timeline_held::clear() {
  std::unique_lock g(mutex_);
  arena_.clear();
  entries_.clear();
  by_entity_.clear();
  committed_ = 0;
  floor_ = 0;
  if (reset_txn_ != 0) valid_from_txn_ = std::exchange(reset_txn_, 0);
}

void timeline_held::raise_floor(std::uint64_t seq) {
  std::unique_lock g(mutex_);
  floor_ = std::max(floor_, seq);
}

bool timeline_held::copy_entity(std::string_view prefix, std::uint64_t whole_through,
                                std::uint64_t txn_id, std::vector<copy>& out) const {
  std::shared_lock g(mutex_);
  if (whole_through < floor_ || txn_id < valid_from_txn_ ||
      (reset_txn_ != 0 && txn_id >= reset_txn_))
    return false;
  auto it = by_entity_.find(std::string(prefix));
  if (it == by_entity_.end()) return true;
  for (std::uint32_t i : it->second) {
    if (i >= committed_) break;  // in index order, which is seq order
    const entry& e = entries_[i];
    if (e.seq <= whole_through) continue;
    const char* k = arena_.data() + e.at;
    out.push_back({std::string(k + e.key_size - kSuffixSize, kSuffixSize),
                   std::string(k + e.key_size, e.value_size), e.seq});
  }
  return true;
}

}  // namespace hooklog::projections
