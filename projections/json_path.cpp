#include "projections/json_path.hpp"

#include <charconv>
#include <cstddef>
#include <cstring>

namespace hooklog::projections {

namespace {

class scanner {
 public:
  explicit scanner(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  const char* pos() const { return p_; }
  bool at_end() const { return p_ >= end_; }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  void bump() { ++p_; }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  // At '"': moves past the closing quote; `inner` is the raw text between the quotes. The quote
  // is found with memchr; one preceded by an odd run of backslashes is escaped and skipped.
  bool string(std::string_view& inner, bool& escaped) {
    if (peek() != '"') return false;
    const char* start = ++p_;
    for (const char* from = start;;) {
      const char* q = static_cast<const char*>(
          std::memchr(from, '"', static_cast<std::size_t>(end_ - from)));
      if (q == nullptr) {
        p_ = end_;
        return false;
      }
      const char* b = q;
      while (b > start && b[-1] == '\\') --b;
      if (((q - b) & 1) != 0) {  // an escaped quote
        from = q + 1;
        continue;
      }
      inner = std::string_view(start, static_cast<std::size_t>(q - start));
      escaped = std::memchr(start, '\\', inner.size()) != nullptr;
      p_ = q + 1;
      return true;
    }
  }
  bool value() {
    ws();
    char c = peek();
    if (c == '"') {
      std::string_view s;
      bool e;
      return string(s, e);
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      while (p_ < end_) {
        char d = *p_;
        if (d == '"') {
          std::string_view s;
          bool e;
          if (!string(s, e)) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        else if (d == '}' || d == ']') {
          if (--depth == 0) {
            ++p_;
            return true;
          }
        }
        ++p_;
      }
      return false;
    }
    const char* start = p_;
    while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\t' &&
           *p_ != '\n' && *p_ != '\r')
      ++p_;
    return p_ > start;
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

bool split_json_pointer(std::string_view ptr, std::vector<std::string>& tokens) {
  tokens.clear();
  if (ptr.empty()) return true;
  if (ptr[0] != '/') return false;
  std::string cur;
  for (std::size_t i = 1; i <= ptr.size(); ++i) {
    if (i == ptr.size() || ptr[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (ptr[i] == '~') {
      if (i + 1 >= ptr.size() || (ptr[i + 1] != '0' && ptr[i + 1] != '1')) return false;
      cur.push_back(ptr[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    cur.push_back(ptr[i]);
  }
  return true;
}

path_lookup find_json_value(std::string_view doc, const std::vector<std::string>& tokens,
                            std::string_view& raw) {
  scanner s(doc);
  for (const auto& token : tokens) {
    s.ws();
    char c = s.peek();
    if (c == '{') {
      s.bump();
      bool found = false;
      for (;;) {
        s.ws();
        if (s.peek() == '}') return path_lookup::absent;
        std::string_view key;
        bool escaped;
        if (!s.string(key, escaped) || escaped) return path_lookup::fallback;
        s.ws();
        if (s.peek() != ':') return path_lookup::fallback;
        s.bump();
        if (key == token) {
          found = true;  // a duplicate key later would win in a DOM; bodies rarely repeat keys
          break;
        }
        if (!s.value()) return path_lookup::fallback;
        s.ws();
        if (s.peek() == ',') {
          s.bump();
          continue;
        }
        if (s.peek() == '}') return path_lookup::absent;
        return path_lookup::fallback;
      }
      if (!found) return path_lookup::absent;
    } else if (c == '[') {
      std::size_t index = 0;
      if (token.empty() || (token.size() > 1 && token[0] == '0')) return path_lookup::absent;
      auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec != std::errc{} || ptr != token.data() + token.size()) return path_lookup::absent;
      s.bump();
      s.ws();
      if (s.peek() == ']') return path_lookup::absent;
      for (std::size_t i = 0; i < index; ++i) {
        if (!s.value()) return path_lookup::fallback;
        s.ws();
        if (s.peek() == ']') return path_lookup::absent;
        if (s.peek() != ',') return path_lookup::fallback;
        s.bump();
      }
    } else if (c == '\0') {
      return path_lookup::fallback;
    } else {
      return path_lookup::absent;  // a scalar has no members
    }
  }
  s.ws();
  const char* start = s.pos();
  if (!s.value()) return path_lookup::fallback;
  raw = std::string_view(start, static_cast<std::size_t>(s.pos() - start));
  return path_lookup::found;
}

}  // namespace hooklog::projections
