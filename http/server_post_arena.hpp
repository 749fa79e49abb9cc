#pragma once
// Internal to the HTTP server (http/server_session.hpp): the memory a session's answer post is
// built in.
//
// Thread safety: a slot is taken and given back with atomics (an operation may be freed on
// another I/O thread than the one that built it); the arena lives as long as its session.
#include <atomic>
#include <cstddef>
#include <memory>

namespace hooklog::http::detail {

// Room for the one operation a session's deliver() has in flight: one answer per request, and
// the next request is read only after it was written. Asio frees an operation's memory before
// it calls the handler, so the room is free again by then; should it still be taken (or too
// small), the allocator falls back to the heap.
struct post_arena {
  static constexpr std::size_t kSlots = 2;  // the strand's operation and its invoker's
  static constexpr std::size_t kSlotBytes = 320;
  alignas(std::max_align_t) unsigned char bytes[kSlots][kSlotBytes];
  std::atomic<bool> used[kSlots] = {};
};

template <class T>
struct arena_allocator {
  using value_type = T;
  post_arena* arena;
  explicit arena_allocator(post_arena* a) noexcept : arena(a) {}
  template <class U>
  arena_allocator(const arena_allocator<U>& o) noexcept : arena(o.arena) {}
  T* allocate(std::size_t n) {
    if (n * sizeof(T) <= post_arena::kSlotBytes && alignof(T) <= alignof(std::max_align_t))
      for (std::size_t i = 0; i < post_arena::kSlots; ++i)
        if (!arena->used[i].exchange(true, std::memory_order_acquire))
          return reinterpret_cast<T*>(arena->bytes[i]);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < post_arena::kSlots; ++i)
      if (reinterpret_cast<unsigned char*>(p) == arena->bytes[i])
        return arena->used[i].store(false, std::memory_order_release);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const arena_allocator<U>& o) const noexcept {
    return arena == o.arena;
  }
};

}  // namespace hooklog::http::detail
