#include "engine/index_walk.hpp"

#include <limits>

#include "engine/log_keys.hpp"

namespace hooklog {

result<std::optional<lmdb::cursor::kv>> position(lmdb::cursor& c, std::string_view start, bool desc,
                                                 bool skip_equal) {
  if (desc && start.empty()) return c.last();
  auto kv = c.seek(start);
  if (!kv) return kv;
  if (!desc) {
    if (*kv && skip_equal && (*kv)->first == start) return c.next();
    return kv;
  }
  if (!*kv) return c.last();
  if ((*kv)->first > start || (skip_equal && (*kv)->first == start)) return c.prev();
  return kv;
}

result<std::optional<index_walk::bucket_range>> index_walk::buckets_of(lmdb::txn& t,
                                                                       const lmdb::dbi& d) {
  auto c = lmdb::cursor::open(t, d);
  if (!c) return c.err();
  auto first = c->first();
  if (!first) return first.err();
  if (!*first) return std::optional<bucket_range>{};
  auto last = c->last();
  if (!last) return last.err();
  // A key shorter than a bucket is never written; were one there, the walk's checks skip it.
  auto bucket = [](std::string_view k) {
    return k.size() >= log_keys::kBucketSize ? log_keys::get_bucket(k) : 0;
  };
  const std::uint32_t lo = bucket((*first)->first), hi = bucket((*last)->first);
  return std::optional<bucket_range>{bucket_range{lo, hi}};
}

bool index_walk::take(run& r, const std::optional<lmdb::cursor::kv>& kv) {
  if (!kv) return false;
  std::string_view key = kv->first;
  if (layout_ != layout::plain) {
    if (key.size() < log_keys::kBucketSize || log_keys::get_bucket(key) != r.bucket) return false;
    key.remove_prefix(log_keys::kBucketSize);
  }
  if (key.compare(0, prefix_.size(), prefix_) != 0) return false;
  r.rest = key;
  r.value = kv->second;
  return true;
}

result<bool> index_walk::open_run(std::uint32_t bucket) {
  auto c = lmdb::cursor::open(txn_, dbi_);
  if (!c) return c.err();
  scratch_.clear();
  if (layout_ != layout::plain) {
    if (desc_ && start_.empty()) {
      // The end of this bucket: just before the next one's first key.
      if (bucket != std::numeric_limits<std::uint32_t>::max())
        log_keys::append_bucket(scratch_, bucket + 1);
    } else {
      log_keys::append_bucket(scratch_, bucket);
    }
  }
  scratch_.append(start_);
  auto kv = position(*c, scratch_, desc_, skip_equal_ && !start_.empty());
  if (!kv) return kv.err();
  run r{std::move(*c), bucket, {}, {}};
  if (!take(r, *kv)) return false;
  runs_.push_back(std::move(r));
  return true;
}

result<void> index_walk::open_following() {
  while (following_left_) {
    const auto bucket = static_cast<std::uint32_t>(following_);
    if (desc_) {
      following_left_ = bucket != lo_;
      --following_;
    } else {
      following_left_ = bucket != hi_;
      ++following_;
    }
    auto opened = open_run(bucket);
    if (!opened) return opened.err();
    if (*opened) return {};
  }
  return {};
}

std::optional<std::string_view> index_walk::pick() {
  if (runs_.empty()) return std::nullopt;
  std::size_t best = 0;
  for (std::size_t i = 1; i < runs_.size(); ++i)
    if (desc_ ? runs_[i].rest > runs_[best].rest : runs_[i].rest < runs_[best].rest) best = i;
  current_ = best;
  return runs_[best].rest;
}

void index_walk::restart(std::string_view start, bool skip_equal) {
  start_.assign(start);
  skip_equal_ = skip_equal;
  runs_.clear();
  following_left_ = false;
}

result<std::optional<std::string_view>> index_walk::seek(std::string_view start, bool skip_equal,
                                                         std::uint32_t lo, std::uint32_t hi) {
  restart(start, skip_equal);
  lo_ = lo;
  hi_ = hi;
  if (layout_ == layout::plain) {
    if (auto r = open_run(0); !r) return r.err();
  } else if (lo <= hi) {
    if (layout_ == layout::bucketed_disjoint) {
      following_ = desc_ ? hi : lo;
      following_left_ = true;
      if (auto r = open_following(); !r) return r.err();
    } else {
      for (std::uint64_t b = lo; b <= hi; ++b)
        if (auto r = open_run(static_cast<std::uint32_t>(b)); !r) return r.err();
    }
  }
  return pick();
}

result<std::optional<std::string_view>> index_walk::seek_buckets(
    std::string_view start, bool skip_equal, const std::vector<std::uint32_t>& buckets) {
  restart(start, skip_equal);
  for (const std::uint32_t b : buckets)
    if (auto r = open_run(b); !r) return r.err();
  return pick();
}

result<std::optional<std::string_view>> index_walk::next() {
  if (runs_.empty()) return std::optional<std::string_view>{};
  run& r = runs_[current_];
  auto kv = desc_ ? r.c.prev() : r.c.next();
  if (!kv) return kv.err();
  if (!take(r, *kv)) {
    runs_.erase(runs_.begin() + static_cast<std::ptrdiff_t>(current_));
    if (layout_ == layout::bucketed_disjoint)
      if (auto o = open_following(); !o) return o.err();
  }
  return pick();
}

}  // namespace hooklog
