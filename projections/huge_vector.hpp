#pragma once
// A growable array of trivially copyable T in huge_alloc.hpp's blocks, for the bulk rebuild's
// staging buffers (sorted_runs' arena and index, pending's staged entries).
//
// What std::vector<T> does, but growth goes through huge_reallocate: past 1 MiB the pages move
// instead of being copied into a new block, so filling it to N bytes zero-fills and writes N
// bytes once, not about 2N. extend(n) adds n elements left unwritten (the caller writes them: no
// zero fill first, as std::string::resize would do). Doubling growth.
//
// Pointers and references into it are invalid after any call that adds elements (push_back,
// extend, insert) or release(); clear() keeps the memory for the next fill. Move-only. Not thread
// safe.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "projections/huge_alloc.hpp"

namespace hooklog::projections {

template <class T>
class huge_vector {
  static_assert(std::is_trivially_copyable_v<T>, "huge_vector moves its elements as bytes");

 public:
  huge_vector() = default;
  ~huge_vector() { release(); }
  huge_vector(const huge_vector&) = delete;
  huge_vector& operator=(const huge_vector&) = delete;
  huge_vector(huge_vector&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  huge_vector& operator=(huge_vector&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }

  void push_back(const T& v) {
    const T copy = v;  // v may be an element of this vector, which growth moves
    if (size_ == capacity_) grow(size_ + 1);
    data_[size_++] = copy;
  }
  // n more elements, unwritten; returns the first of them.
  T* extend(std::size_t n) {
    if (capacity_ - size_ < n) grow(size_ + n);
    T* p = data_ + size_;
    size_ += n;
    return p;
  }
  // p must not point into this vector (growth may move it first).
  void append(const T* p, std::size_t n) {
    if (n > 0) std::memcpy(static_cast<void*>(extend(n)), p, n * sizeof(T));
  }
  // Inserts v before `at` (a pointer into this vector, or end()); returns the inserted element.
  T* insert(T* at, const T& v) {
    const T copy = v;  // v may be an element of this vector
    const std::size_t i = static_cast<std::size_t>(at - data_);
    extend(1);
    std::memmove(static_cast<void*>(data_ + i + 1), data_ + i, (size_ - 1 - i) * sizeof(T));
    data_[i] = copy;
    return data_ + i;
  }
  void clear() { size_ = 0; }
  // Gives the memory back (what std::vector's clear() then shrink_to_fit() do).
  void release() {
    huge_deallocate(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  void grow(std::size_t need) {
    const std::size_t cap = std::max({need, capacity_ * 2, std::size_t{16}});
    data_ = static_cast<T*>(
        huge_reallocate(data_, capacity_ * sizeof(T), cap * sizeof(T), size_ * sizeof(T)));
    capacity_ = cap;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace hooklog::projections
