#pragma once
// Memory blocks of one size kept for reuse, taken and given back by any thread: the outbound
// client's jobs (outbound.cpp: `std::allocate_shared<outbound_job>(block_allocator)`). A job is
// made by deliver() on the caller's thread (the dispatcher's) and its last reference drops on an
// I/O thread; from malloc, that free went into the dispatcher thread's arena under its lock, and
// the two threads met on that lock often enough to cost futex calls on both sides
// (docs/PERFORMANCE.md, "Delivery, fourteenth pass"). From here, the block goes back to the pool
// and the next deliver() takes it again.
//
// block_pool::take(size): a kept block when one of `size` bytes is kept, else a new one
// (operator new). give(p, size): `p` from take(size), not given back since; kept while fewer
// than `keep` blocks are kept and `size` is the size of the first block taken (one size per
// pool; a block of another size, or one beyond `keep`, is deleted at once). So the pool holds at
// most `keep` blocks, never more than were out at once. kept(): how many it holds now (tests).
// block_allocator<T>: the std allocator over a pool (single objects from the pool; arrays from
// operator new); copies and rebinds share the pool.
//
// Thread safety: take() and give() from any thread (one mutex, held for a vector push or pop;
// the vector's room for `keep` blocks is reserved at construction, so give() never allocates).
// Lifetime: the pool must outlive every block it gave out (its owner declares it before the
// objects that can hold one); its destructor deletes the kept blocks.
#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace hooklog::http {

class block_pool {
 public:
  static constexpr std::size_t kKeep = 1024;

  explicit block_pool(std::size_t keep = kKeep) : keep_(keep) { free_.reserve(keep_); }
  block_pool(const block_pool&) = delete;
  block_pool& operator=(const block_pool&) = delete;
  ~block_pool() {
    for (void* p : free_) ::operator delete(p);
  }

  void* take(std::size_t size) {
    {
      std::lock_guard lk(mu_);
      if (size_ == 0) size_ = size;
      if (size == size_ && !free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return ::operator new(size);
  }

  void give(void* p, std::size_t size) {
    {
      std::lock_guard lk(mu_);
      if (size == size_ && free_.size() < keep_) {
        free_.push_back(p);
        return;
      }
    }
    ::operator delete(p);
  }

  std::size_t kept() const {
    std::lock_guard lk(mu_);
    return free_.size();
  }

 private:
  const std::size_t keep_;
  mutable std::mutex mu_;
  std::size_t size_ = 0;  // the size of the first block taken
  std::vector<void*> free_;
};

template <class T>
struct block_allocator {
  using value_type = T;
  block_pool* pool;

  explicit block_allocator(block_pool& p) noexcept : pool(&p) {}
  template <class U>
  block_allocator(const block_allocator<U>& o) noexcept : pool(o.pool) {}

  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(pool->take(sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n != 1) return ::operator delete(p);
    pool->give(p, sizeof(T));
  }

  template <class U>
  bool operator==(const block_allocator<U>& o) const noexcept {
    return pool == o.pool;
  }
};

}  // namespace hooklog::http
