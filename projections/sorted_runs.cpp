#include "projections/sorted_runs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "projections/key_codec.hpp"
#include "projections/proj_errc.hpp"

namespace hooklog::projections {

namespace {

error io_error(const std::string& what, const std::string& path) {
  return make_error(proj_errc::state_failure, what + " " + path + ": " + std::strerror(errno));
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

constexpr std::size_t kReadBuffer = 1 << 20;

// One run file read entry by entry.
struct run_reader {
  file_ptr f;
  std::string path;
  std::unique_ptr<char[]> buffer;
  std::string data;  // the current entry: key then value
  std::uint32_t key_size = 0;
  // false at the end of the file; an error for a short or unreadable entry.
  result<bool> next() {
    unsigned char h[8];
    const std::size_t got = std::fread(h, 1, 8, f.get());
    if (got == 0 && std::feof(f.get())) return false;
    if (got != 8) return io_error("reading", path);
    std::uint32_t k, v;
    std::memcpy(&k, h, 4);
    std::memcpy(&v, h + 4, 4);
    data.resize(std::size_t{k} + v);
    if (!data.empty() && std::fread(data.data(), 1, data.size(), f.get()) != data.size())
      return io_error("reading", path);
    key_size = k;
    return true;
  }
  std::string_view key() const { return {data.data(), key_size}; }
  std::string_view value() const { return std::string_view(data).substr(key_size); }
};

}  // namespace

sorted_runs& sorted_runs::operator=(sorted_runs&& o) noexcept {
  if (this == &o) return *this;
  clear();
  dir_ = std::move(o.dir_);
  name_ = std::move(o.name_);
  limit_ = o.limit_;
  arena_ = std::move(o.arena_);
  index_ = std::move(o.index_);
  count_ = o.count_;
  files_ = std::move(o.files_);
  o.files_.clear();
  o.count_ = 0;
  return *this;
}

void sorted_runs::add(std::string_view key, std::string_view value) {
  const std::size_t at = arena_.size();
  arena_.append(key.data(), key.size());
  arena_.append(value.data(), value.size());
  index_entry(at, key.size(), value.size());
}

void sorted_runs::index_entry(std::size_t at, std::size_t key_size, std::size_t value_size) {
  entry e;
  e.at = at;
  e.key_size = static_cast<std::uint32_t>(key_size);
  e.value_size = static_cast<std::uint32_t>(value_size);
  const char* key = arena_.data() + at;
  e.head = keys::head_of(key, key_size);
  index_.push_back(e);
  ++count_;
}

namespace {

// Byte `d` (0..31) of a head: the key's byte d, zero past its end.
inline unsigned head_byte(const keys::key_head& h, std::size_t d) {
  return static_cast<unsigned>(h.w[d / 8] >> (56 - 8 * (d % 8))) & 0xffu;
}

}  // namespace

void sorted_runs::sort_memory() {
  sort_range(index_.data(), index_.size(), 0);
}

void sorted_runs::sort_range(entry* a, std::size_t n, std::size_t depth) {
  // The order: by the heads, then (rarely) the rest of the keys, then the order of add(). A
  // range the heads split goes by one head byte at a time (an in-place MSD radix sort: a pass
  // finds the first byte where the range's heads differ, a pass counts it, a pass moves each
  // entry once); a small range, or one whose heads are all equal, by comparisons. Every entry of
  // a[0, n) shares head bytes [0, depth).
  const auto less = [this](const entry& x, const entry& y) {
    const int c = keys::compare_keys(x.head, key_of(x), y.head, key_of(y));
    return c != 0 ? c < 0 : x.at < y.at;
  };
  constexpr std::size_t kWords = keys::key_head::kWords;
  // A compare of equal heads reads the keys' bytes past them in the arena, a cache miss each:
  // fetching those of the range first overlaps the misses instead of taking them in turn (in a
  // large range of equal heads, rare, most of those fetches are evicted before use: harmless).
  const auto sort_small = [&](entry* s, std::size_t m) {
    for (std::size_t i = 0; i < m; ++i)
      if (s[i].key_size > kWords * 8) __builtin_prefetch(arena_.data() + s[i].at + kWords * 8);
    std::sort(s, s + m, less);
  };
  for (;;) {
    if (n < kRadixMin || depth >= kWords * 8) return sort_small(a, n);
    // The first head byte at or past `depth` where two entries differ.
    std::uint64_t diff[kWords] = {};
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t w = depth / 8; w < kWords; ++w) diff[w] |= a[i].head.w[w] ^ a[0].head.w[w];
    std::size_t d = kWords * 8;
    for (std::size_t w = depth / 8; w < kWords; ++w)
      if (diff[w] != 0) {
        d = w * 8 + static_cast<std::size_t>(__builtin_clzll(diff[w])) / 8;
        break;
      }
    if (d >= kWords * 8) return sort_small(a, n);  // equal heads
    std::size_t count[256] = {};
    for (std::size_t i = 0; i < n; ++i) ++count[head_byte(a[i].head, d)];
    std::size_t next[256], end[256];
    for (std::size_t b = 0, at = 0; b < 256; ++b) {
      next[b] = at;
      at += count[b];
      end[b] = at;
    }
    // Each entry goes to its byte's bucket: swap it there until the one in hand belongs here.
    for (std::size_t b = 0; b < 256; ++b)
      while (next[b] < end[b]) {
        entry e = a[next[b]];
        for (unsigned k = head_byte(e.head, d); k != b; k = head_byte(e.head, d))
          std::swap(e, a[next[k]++]);
        a[next[b]++] = e;
      }
    // Every bucket but the largest recursively; the largest in this loop (bounded stack).
    std::size_t big = 0;
    for (std::size_t b = 1; b < 256; ++b)
      if (count[b] > count[big]) big = b;
    for (std::size_t b = 0, at = 0; b < 256; at += count[b++])
      if (b != big && count[b] > 1) sort_range(a + at, count[b], d + 1);
    a += end[big] - count[big];
    n = count[big];
    depth = d + 1;
  }
}

result<void> sorted_runs::spill_if_over() {
  if (memory() <= limit_ || index_.empty()) return {};
  return spill();
}

result<void> sorted_runs::spill() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return make_error(proj_errc::state_failure,
                      "creating " + dir_ + " for rebuild runs: " + ec.message());
  std::string path = dir_ + "/" + name_ + "-" + std::to_string(files_.size()) + ".run";
  sort_memory();
  file_ptr f(std::fopen(path.c_str(), "wb"));
  if (!f) return io_error("creating", path);
  files_.push_back(path);  // removed by clear() whatever happens next
  std::vector<char> buf(kReadBuffer);
  std::setvbuf(f.get(), buf.data(), _IOFBF, buf.size());
  for (std::size_t i = 0; i < index_.size(); ++i) {
    prefetch_ahead(i);
    const entry& e = index_[i];
    unsigned char h[8];
    std::memcpy(h, &e.key_size, 4);
    std::memcpy(h + 4, &e.value_size, 4);
    if (std::fwrite(h, 1, 8, f.get()) != 8 ||
        std::fwrite(arena_.data() + e.at, 1, std::size_t{e.key_size} + e.value_size, f.get()) !=
            std::size_t{e.key_size} + e.value_size)
      return io_error("writing", path);
  }
  if (std::fflush(f.get()) != 0) return io_error("writing", path);
  if (std::fclose(f.release()) != 0) return io_error("closing", path);
  arena_.clear();  // the memory stays for the next run's entries (filled, it is not zeroed again)
  index_.clear();
  return {};
}

result<void> sorted_runs::merge(const visit& fn) {
  if (files_.empty()) return merge_memory(fn);
  sort_memory();
  // Sources 0..n-1: the run files (oldest first); n: the entries in memory (added last).
  const std::size_t n = files_.size();
  std::vector<run_reader> readers(n);
  for (std::size_t i = 0; i < n; ++i) {
    readers[i].path = files_[i];
    readers[i].f.reset(std::fopen(files_[i].c_str(), "rb"));
    if (!readers[i].f) return io_error("opening", files_[i]);
    readers[i].buffer.reset(new char[kReadBuffer]);
    std::setvbuf(readers[i].f.get(), readers[i].buffer.get(), _IOFBF, kReadBuffer);
  }
  std::size_t mem_at = 0;
  auto key = [&](std::size_t s) { return s < n ? readers[s].key() : key_of(index_[mem_at]); };
  // A min-heap of sources by (current key, source).
  auto later = [&](std::size_t a, std::size_t b) {
    const int c = key(a).compare(key(b));
    return c > 0 || (c == 0 && a > b);
  };
  std::vector<std::size_t> heap;
  for (std::size_t i = 0; i < n; ++i) {
    auto more = readers[i].next();
    if (!more) return more.err();
    if (*more) heap.push_back(i);
  }
  if (!index_.empty()) heap.push_back(n);
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const std::size_t s = heap.back();
    bool more;
    if (s < n) {
      if (auto r = fn(readers[s].key(), readers[s].value()); !r) return r;
      auto m = readers[s].next();
      if (!m) return m.err();
      more = *m;
    } else {
      if (auto r = fn(key_of(index_[mem_at]), value_of(index_[mem_at])); !r) return r;
      prefetch_ahead(mem_at);
      more = ++mem_at < index_.size();
    }
    if (more)
      std::push_heap(heap.begin(), heap.end(), later);
    else
      heap.pop_back();
  }
  return {};
}

void sorted_runs::clear() {
  arena_.release();
  index_.release();
  count_ = 0;
  for (const auto& f : files_) {
    std::error_code ec;
    std::filesystem::remove(f, ec);
  }
  files_.clear();
}

}  // namespace hooklog::projections
