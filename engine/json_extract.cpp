#include "engine/json_extract.hpp"

#include "engine/json_scan.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace hooklog {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxWatchedPerObject = 16;  // more watched members met: the full path

class scanner : detail::json_lexer {
 public:
  scanner(std::string_view text, const key_paths& watched, int max_depth)
      : json_lexer(text), w_(watched), max_depth_(max_depth) {}

  std::optional<json> run() {
    ws();
    if (!at('{')) return std::nullopt;  // not an object, a byte order mark, or not JSON
    json doc = json::object();
    if (!object(0, &doc)) return std::nullopt;
    ws();
    if (i_ != n_) return std::nullopt;
    return doc;
  }

 private:
  // The text from `start` to the cursor, parsed in full into *out.
  bool parse_span(std::size_t start, json* out) {
    json v = json::parse(t_.begin() + static_cast<std::ptrdiff_t>(start),
                         t_.begin() + static_cast<std::ptrdiff_t>(i_), nullptr, false);
    if (v.is_discarded()) return false;
    *out = std::move(v);
    return true;
  }

  // A number from `start` to the cursor that is an integer of at most 18 digits, as the parser
  // types it (unsigned when not negative, signed when negative); false for anything else.
  bool small_integer(std::size_t start, json* out) const {
    bool negative = false;
    std::uint64_t v = 0;
    if (!json_lexer::small_integer(start, negative, v)) return false;
    if (negative) {
      *out = -static_cast<std::int64_t>(v);
    } else {
      *out = v;
    }
    return true;
  }

  // The value at the cursor. `node`: the watched node it is, or -1 (then `out` is unused).
  bool value(int node, json* out) {
    ws();
    if (i_ >= n_) return false;
    const std::size_t start = i_;
    switch (t_[i_]) {
      case '{':
        if (node >= 0 && w_.has_children(node)) {
          *out = json::object();
          return object(node, out);
        }
        return object(-1, nullptr) && (node < 0 || parse_span(start, out));
      case '[':
        return array() && (node < 0 || parse_span(start, out));
      case '"': {
        std::string_view raw;
        bool escaped = false;
        if (!string(raw, escaped)) return false;
        if (node < 0) return true;
        if (escaped) return parse_span(start, out);
        *out = std::string(raw);
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        if (node >= 0) *out = true;
        return true;
      case 'f':
        if (!literal("false")) return false;
        if (node >= 0) *out = false;
        return true;
      case 'n':
        if (!literal("null")) return false;
        if (node >= 0) *out = nullptr;
        return true;
      default:
        if (!number()) return false;
        if (node < 0) return true;
        return small_integer(start, out) || parse_span(start, out);
    }
  }

  // At '{'. `node` >= 0: a watched object; its watched members go into *out.
  bool object(int node, json* out) {
    if (++depth_ > max_depth_) return false;
    ++i_;
    ws();
    if (at('}')) {
      ++i_;
      --depth_;
      return true;
    }
    std::array<int, kMaxWatchedPerObject> seen{};
    std::size_t seen_count = 0;
    for (;;) {
      ws();
      if (!at('"')) return false;
      std::string_view key;
      bool escaped = false;
      if (!string(key, escaped)) return false;
      int child = -1;
      if (node >= 0) {
        if (escaped) return false;  // "typ\u0065" is "type": the full path compares unescaped
        child = w_.child(node, key);
      }
      ws();
      if (!at(':')) return false;
      ++i_;
      if (child >= 0) {
        for (std::size_t k = 0; k < seen_count; ++k)
          if (seen[k] == child) return false;  // a duplicate the full path refuses
        if (seen_count == seen.size()) return false;
        seen[seen_count++] = child;
        if (!value(child, &(*out)[std::string(key)])) return false;
      } else if (!value(-1, nullptr)) {
        return false;
      }
      ws();
      if (at(',')) {
        ++i_;
        continue;
      }
      if (!at('}')) return false;
      ++i_;
      --depth_;
      return true;
    }
  }

  // At '['. Arrays are only validated (a watched one is parsed in full by the caller).
  bool array() {
    if (++depth_ > max_depth_) return false;
    ++i_;
    ws();
    if (at(']')) {
      ++i_;
      --depth_;
      return true;
    }
    for (;;) {
      if (!value(-1, nullptr)) return false;
      ws();
      if (at(',')) {
        ++i_;
        continue;
      }
      if (!at(']')) return false;
      ++i_;
      --depth_;
      return true;
    }
  }

  const key_paths& w_;
  int max_depth_;
  int depth_ = 0;
};

}  // namespace

std::optional<nlohmann::json> extract_watched(std::string_view text, const key_paths& watched,
                                              int max_depth) {
  return scanner(text, watched, max_depth).run();
}

}  // namespace hooklog
