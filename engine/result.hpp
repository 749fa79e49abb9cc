#pragma once
// result<T>: a value or an error, in the style of Redpanda's storage results.
// An error carries a std::error_code (each module has its own `errc` enum and
// category) and a human message that says what failed and where.
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace hooklog {

struct error {
  std::error_code code;
  std::string message;
  // What in the input is at fault, when the module knows: for JSON input a JSON pointer
  // ("/order/id"); each module documents its other forms. Empty: nothing in particular.
  std::string field = {};

  std::string what() const { return message.empty() ? code.message() : message; }
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}     // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const { return std::get<1>(v_); }
  std::error_code code() const { return ok() ? std::error_code{} : err().code; }

 private:
  std::variant<T, error> v_;
};

// The error lives on the heap, so that a success (the hot case: every `return {}`) is one null
// pointer to make and to destroy, not an error_code and two strings. err() of a success is an
// empty error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : err_(std::make_unique<error>(std::move(e))) {}  // NOLINT
  result(const result& o) : err_(o.err_ ? std::make_unique<error>(*o.err_) : nullptr) {}
  result& operator=(const result& o) {
    if (this != &o) err_ = o.err_ ? std::make_unique<error>(*o.err_) : nullptr;
    return *this;
  }
  result(result&&) noexcept = default;
  result& operator=(result&&) noexcept = default;
  bool ok() const { return !err_; }
  explicit operator bool() const { return ok(); }
  const error& err() const { return err_ ? *err_ : kNoError; }
  std::error_code code() const { return err_ ? err_->code : std::error_code{}; }

 private:
  static inline const error kNoError{};
  std::unique_ptr<error> err_;
};

}  // namespace hooklog
