#include "engine/source_time.hpp"

namespace hooklog {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

class cursor {
 public:
  explicit cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // Exactly n decimal digits.
  bool digits(int n, int& out) {
    if (s_.size() - i_ < static_cast<std::size_t>(n)) return false;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      const char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    out = v;
    return true;
  }
  bool is_digit() const { return peek() >= '0' && peek() <= '9'; }
  void next() { ++i_; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  cursor c(text);
  int y = 0, mo = 0, d = 0;
  if (!c.digits(4, y) || !c.eat('-') || !c.digits(2, mo) || !c.eat('-') || !c.digits(2, d)) {
    return std::nullopt;
  }
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return std::nullopt;
  std::int64_t micros =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86'400'000'000LL;
  if (c.done()) return micros;
  if (!(c.eat('T') || c.eat('t') || c.eat(' '))) return std::nullopt;

  int h = 0, mi = 0, s = 0;
  if (!c.digits(2, h) || !c.eat(':') || !c.digits(2, mi)) return std::nullopt;
  const bool has_seconds = c.eat(':');
  if (has_seconds && !c.digits(2, s)) return std::nullopt;
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  if (s == 60) s = 59;  // a leap second is kept within its minute
  std::int64_t frac = 0;
  // A fraction belongs to the seconds: "10:00.5" would be half a minute in ISO 8601, not
  // half a second, so a fraction without seconds is refused rather than guessed.
  if (c.peek() == '.' || c.peek() == ',') {
    if (!has_seconds) return std::nullopt;
    c.next();
    if (!c.is_digit()) return std::nullopt;
    int n = 0;
    while (c.is_digit()) {
      if (n < 6) {
        frac = frac * 10 + (c.peek() - '0');
        ++n;
      }
      c.next();
    }
    for (; n < 6; ++n) frac *= 10;
  }
  micros += (static_cast<std::int64_t>(h) * 3600 + mi * 60 + s) * 1'000'000LL + frac;

  if (c.done()) return micros;  // no zone: UTC
  if (c.eat('Z') || c.eat('z'))
    return c.done() ? std::optional<std::int64_t>(micros) : std::nullopt;
  const char sign = c.peek();
  if (sign != '+' && sign != '-') return std::nullopt;
  c.next();
  int oh = 0, om = 0;
  if (!c.digits(2, oh)) return std::nullopt;
  if (!c.done()) {
    c.eat(':');
    if (!c.digits(2, om)) return std::nullopt;
  }
  if (!c.done() || oh > 23 || om > 59) return std::nullopt;
  const std::int64_t offset = (static_cast<std::int64_t>(oh) * 60 + om) * 60'000'000LL;
  micros = sign == '+' ? micros - offset : micros + offset;
  return timestamp_in_range(micros) ? std::optional<std::int64_t>(micros) : std::nullopt;
}

}  // namespace hooklog
