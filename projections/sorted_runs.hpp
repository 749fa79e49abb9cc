#pragma once
// An external sort of (key, value) entries: the staging of a bulk rebuild (runner.hpp).
//
// add() appends an entry to an in-memory arena. spill_if_over() sorts the arena by key (an
// in-place radix sort on the keys' first 32 bytes, kept beside each entry; comparisons for
// small ranges and for ranges whose first 32 bytes are all equal: sorted_runs.cpp) and
// writes it to a run file (`<dir>/<name>-<n>.run`, the directory created when missing) once the
// arena and its index pass memory_limit bytes; merge() hands every entry, those in memory and
// those in the run files, to a callback in key order (a k-way merge: one buffered read per run).
// Equal keys come in the order they were added. Memory: memory_limit plus what is added between
// two calls of spill_if_over() (timelines calls it at the end of each batch: the bound is passed
// by at most one batch's transitions), and 1 MiB of read buffer per run while merging.
//
// Run files: entries as u32 LE key size | u32 LE value size | key | value. clear() (and the
// destructor) removes them; a process killed while they exist leaves them behind, and the runner
// removes the directory at its next open.
//
// Not thread safe: one owner (the projection that stages into it).
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.hpp"
#include "projections/huge_vector.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

class sorted_runs {
 public:
  // One entry in merge(): valid only during the callback.
  using visit = std::function<result<void>(std::string_view key, std::string_view value)>;

  sorted_runs() = default;
  sorted_runs(std::string dir, std::string name, std::size_t memory_limit)
      : dir_(std::move(dir)), name_(std::move(name)), limit_(memory_limit) {}
  ~sorted_runs() { clear(); }
  sorted_runs(const sorted_runs&) = delete;
  sorted_runs& operator=(const sorted_runs&) = delete;
  sorted_runs(sorted_runs&& o) noexcept { *this = std::move(o); }
  sorted_runs& operator=(sorted_runs&& o) noexcept;

  void add(std::string_view key, std::string_view value);
  // Adds an entry of key_size + value_size bytes that `write(char* p)` writes in place (the key,
  // then the value): add() without building the entry elsewhere first.
  template <class W>
  void add_written(std::size_t key_size, std::size_t value_size, W&& write) {
    const std::size_t at = arena_.size();
    write(arena_.extend(key_size + value_size));
    index_entry(at, key_size, value_size);
  }
  // Bytes held in memory (the arena and the sort index).
  std::size_t memory() const { return arena_.size() + index_.size() * sizeof(entry); }
  std::size_t entries() const { return count_; }  // added since the last clear()
  std::size_t runs() const { return files_.size(); }
  // Sorts the in-memory entries and writes them to a new run file when memory() > the limit.
  result<void> spill_if_over();
  // Every entry in key order (see above); stops at the first error of `fn`. The entries stay
  // (merge can run again) until clear().
  result<void> merge(const visit& fn);
  // The same without run files (runs() == 0), with any callable and no copies: the views stay
  // valid until clear().
  template <class F>
  result<void> merge_memory(F&& fn) {
    sort_memory();
    // The arena is read in key order, not in the order it was written: each entry is a cache
    // (and often a TLB) miss. Fetching a few entries ahead overlaps those misses.
    for (std::size_t i = 0; i < index_.size(); ++i) {
      prefetch_ahead(i);
      if (auto r = fn(key_of(index_[i]), value_of(index_[i])); !r) return r;
    }
    return {};
  }
  // Drops the entries in memory and removes the run files.
  void clear();

 private:
  struct entry {
    keys::key_head head;  // the key's first bytes as words (key_codec.hpp)
    std::uint64_t at;     // key offset in arena_; the value follows the key
    std::uint32_t key_size, value_size;
  };
  std::string_view key_of(const entry& e) const { return {arena_.data() + e.at, e.key_size}; }
  std::string_view value_of(const entry& e) const {
    return {arena_.data() + e.at + e.key_size, e.value_size};
  }
  // Prefetches the bytes of the entry kPrefetchAhead places after index_[i], if there is one.
  // Always inlined: g++ 12 finds no side effect in a function whose only effect is
  // __builtin_prefetch, marks it pure, and deletes a call to it that was not inlined first (as
  // happened in timelines' write-out: merge_memory there had no prefetch at all).
  static constexpr std::size_t kPrefetchAhead = 8;
  [[gnu::always_inline]] void prefetch_ahead(std::size_t i) const {
    if (i + kPrefetchAhead >= index_.size()) return;
    const entry& e = index_[i + kPrefetchAhead];
    const char* p = arena_.data() + e.at;
    const std::size_t n = std::size_t{e.key_size} + e.value_size;
    __builtin_prefetch(p);
    if (n > 1) __builtin_prefetch(p + n - 1);  // an entry often spans two cache lines
  }
  // Sorts index_ (sort_range over all of it). Below kRadixMin entries a range is sorted by
  // comparisons.
  static constexpr std::size_t kRadixMin = 64;
  void sort_memory();
  void sort_range(entry* a, std::size_t n, std::size_t depth);
  result<void> spill();
  // Indexes the entry whose bytes are at `at` in arena_.
  void index_entry(std::size_t at, std::size_t key_size, std::size_t value_size);

  std::string dir_, name_;
  std::size_t limit_ = SIZE_MAX;
  // Both grow to hundreds of MB in a bulk load: huge pages where the kernel gives them, grown
  // without copies (huge_vector.hpp); a spill keeps their memory for the next run's entries.
  huge_vector<char> arena_;
  huge_vector<entry> index_;
  std::size_t count_ = 0;
  std::vector<std::string> files_;  // run files, oldest first
};

}  // namespace hooklog::projections
