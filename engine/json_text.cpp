#include "engine/json_text.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/source.hpp"

namespace hooklog {

text_position position_at(std::string_view text, std::size_t offset) {
  if (offset > text.size()) offset = text.size();
  text_position p;
  for (std::size_t i = 0; i < offset; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      ++p.column;
    }
  }
  return p;
}

std::size_t find_excess_depth(std::string_view text, int max_depth) {
  long depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return i;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

namespace {

// nlohmann's reasons quote what was read ("...; last read: '<bytes>'" and perhaps "; expected
// <what>", or "number overflow parsing '<literal>'"), all of it: a 900,000-byte string went whole
// into the answer and the log line. The quote is cut to its last kShownBytes (where the parse
// stopped), whole UTF-8 characters kept, as the normalizer's shown() cuts values; the line and
// column say where the rest is.
constexpr std::size_t kShownBytes = 40;

std::string cut_quoted(std::string reason) {
  std::size_t open = reason.find("last read: '");
  open = open == std::string::npos ? reason.find('\'') : open + 11;
  if (open == std::string::npos) return reason;
  // The closing quote: before "; expected <what>" (a few words: "'[', '{', or a literal" is the
  // longest), or the last byte.
  std::size_t close = reason.rfind("'; expected ");
  if (close == std::string::npos || close <= open || reason.size() - close >= 64)
    close = reason.back() == '\'' ? reason.size() - 1 : std::string::npos;
  if (close == std::string::npos || close <= open + 1 + kShownBytes) return reason;
  std::size_t keep = close - kShownBytes;
  while (keep < close && (static_cast<unsigned char>(reason[keep]) & 0xC0) == 0x80) ++keep;
  reason.replace(open + 1, keep - open - 1, "...");
  return reason;
}

}  // namespace

result<nlohmann::json> parse_json_text(std::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of the input (for C strings), so it would
  // accept `{...}\0 anything` and leave the rest unread: stored, hashed and delivered as if
  // it were JSON. A raw NUL is valid nowhere in JSON text (in a string it is a control
  // character that must be escaped), so it is refused where it stands.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    const text_position pos = position_at(text, nul);
    return make_error(source_errc::bad_json,
                      "invalid JSON at line " + std::to_string(pos.line) + ", column " +
                          std::to_string(pos.column) +
                          ": a NUL byte (a control character must be escaped in a string, "
                          "and is no JSON elsewhere)");
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's `byte` counts the bytes read, the offending one included.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    const text_position pos = position_at(text, offset);
    std::string reason = e.what();
    if (const auto col = reason.find("column "); col != std::string::npos) {
      if (const auto colon = reason.find(": ", col); colon != std::string::npos) {
        reason.erase(0, colon + 2);
      }
    } else if (const auto br = reason.find("] "); br != std::string::npos) {
      reason.erase(0, br + 2);
    }
    return make_error(source_errc::bad_json, "invalid JSON at line " + std::to_string(pos.line) +
                                                 ", column " + std::to_string(pos.column) + ": " +
                                                 cut_quoted(std::move(reason)));
  } catch (const nlohmann::json::exception& e) {
    // A number out of range ("parsing '1e999'") carries no position: find the literal.
    std::string reason = e.what();
    if (const auto br = reason.find("] "); br != std::string::npos) reason.erase(0, br + 2);
    std::string where;
    if (const auto q = reason.find('\''); q != std::string::npos) {
      const auto end = reason.find('\'', q + 1);
      const std::string literal = reason.substr(q + 1, end - q - 1);
      if (const auto at = text.find(literal); !literal.empty() && at != std::string_view::npos) {
        const text_position pos = position_at(text, at);
        where = " at line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column);
      }
    }
    return make_error(source_errc::bad_json,
                      "invalid JSON" + where + ": " + cut_quoted(std::move(reason)));
  }
}

namespace {

// Builds a value whose nlohmann equality is the text's (same_json_text): strings tagged "s",
// floats kept as their text tagged "f", integers as their decimal tagged "i" (no two kinds can
// be equal), keys tagged as below.
class as_written_builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  nlohmann::json root;

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  // Integers as tagged text: nlohmann's == casts an unsigned to int64 against a signed one, so
  // -1 and 18446744073709551615 compared equal.
  bool number_integer(number_integer_t v) override { return put("i" + std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put("i" + std::to_string(v)); }
  bool number_float(number_float_t, const string_t& text) override { return put("f" + text); }
  bool string(string_t& v) override { return put("s" + v); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return open(nlohmann::json::object()); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(nlohmann::json::array()); }
  bool end_array() override { return close(); }
  // Keys tagged so that a repeat's name cannot be a real key: "k" + key the first time,
  // "d<n>:" + key for its n-th repeat.
  bool key(string_t& k) override {
    nlohmann::json& obj = *stack_.back();
    key_ = "k" + k;
    for (int n = 1; obj.contains(key_); ++n) key_ = "d" + std::to_string(n) + ":" + k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  nlohmann::json* place(nlohmann::json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    nlohmann::json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    return &(parent[key_] = std::move(v));
  }
  bool put(nlohmann::json v) {
    place(std::move(v));
    return true;
  }
  bool open(nlohmann::json v) {
    stack_.push_back(place(std::move(v)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  std::vector<nlohmann::json*> stack_;
  std::string key_;
};

std::optional<nlohmann::json> as_written(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;  // parse_json_text's rule
  as_written_builder b;
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &b)) return std::nullopt;
  return std::move(b.root);
}

}  // namespace

bool same_json_text(std::string_view a, std::string_view b) {
  if (a == b) return as_written(a).has_value();
  const auto x = as_written(a);
  if (!x) return false;
  const auto y = as_written(b);
  return y && *x == *y;
}

result<void> check_json_bounds(std::string_view text, std::size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes) {
    return make_error(source_errc::body_too_large, "body of " + std::to_string(text.size()) +
                                                       " bytes is larger than the limit of " +
                                                       std::to_string(max_bytes));
  }
  if (const auto at = find_excess_depth(text, max_depth); at != std::string_view::npos) {
    const text_position pos = position_at(text, at);
    return make_error(source_errc::too_deep, "JSON nests deeper than " + std::to_string(max_depth) +
                                                 " levels at line " + std::to_string(pos.line) +
                                                 ", column " + std::to_string(pos.column));
  }
  return {};
}

result<nlohmann::json> parse_bounded_json(std::string_view text, std::size_t max_bytes,
                                          int max_depth) {
  if (auto ok = check_json_bounds(text, max_bytes, max_depth); !ok) return ok.err();
  return parse_json_text(text);
}

int json_depth(const nlohmann::json& value, int stop_after) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> todo{{&value, 0}};
  while (!todo.empty()) {
    const auto [v, depth] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > stop_after) return stop_after + 1;
    for (const auto& child : *v) todo.emplace_back(&child, depth + 1);
  }
  return deepest;
}

int key_paths::add(const json_pointer& p) {
  int at = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    int next = child(at, p.token_at(i));
    if (next < 0) {
      next = static_cast<int>(nodes_.size());
      nodes_[at].children.push_back(next);
      nodes_[at].child_sizes |= 1ull << std::min<std::size_t>(p.token_at(i).size(), 63);
      nodes_.push_back({p.token_at(i), at, {}});
    }
    at = next;
  }
  return at;
}

std::string key_paths::pointer(int node) const {
  std::vector<int> path;
  for (int n = node; n > 0; n = nodes_[n].parent) path.push_back(n);
  std::string out;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    out += '/';
    out += json_pointer::escape(nodes_[*it].token);
  }
  return out;
}

namespace {

// A scan of valid JSON text that descends only into watched objects and arrays. Nothing is
// allocated unless a key has escapes, an array is watched or a duplicate is found.
class duplicate_scan {
 public:
  duplicate_scan(std::string_view text, const key_paths& watched) : t_(text), watched_(watched) {}

  // The node of the first duplicated member, or -1.
  int run() {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // a byte order mark, as the parser allows
    scan(0);
    return found_;
  }

 private:
  char peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
  void ws() {
    while (i_ < t_.size() &&
           (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) {
      ++i_;
    }
  }
  // At a '"': the raw text between the quotes; moves past the closing quote.
  std::string_view raw_string() {
    const std::size_t start = ++i_;
    for (;;) {
      const void* q = std::memchr(t_.data() + i_, '"', t_.size() - std::min(i_, t_.size()));
      if (q == nullptr) {
        i_ = t_.size();
        break;
      }
      i_ = static_cast<std::size_t>(static_cast<const char*>(q) - t_.data());
      std::size_t backslashes = 0;  // an odd run of them escapes the quote
      while (i_ - backslashes > start && t_[i_ - backslashes - 1] == '\\') ++backslashes;
      if (backslashes % 2 == 0) break;
      ++i_;
    }
    const std::string_view s = t_.substr(start, std::min(i_, t_.size()) - start);
    ++i_;
    return s;
  }
  void skip_value() {
    ws();
    const char c = peek();
    if (c == '"') {
      raw_string();
    } else if (c == '{' || c == '[') {
      long depth = 0;
      while (i_ < t_.size()) {
        const char d = t_[i_];
        if (d == '"') {
          raw_string();
          continue;
        }
        ++i_;
        if (d == '{' || d == '[') {
          ++depth;
        } else if ((d == '}' || d == ']') && --depth == 0) {
          return;
        }
      }
    } else {  // a number or a literal
      while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
             t_[i_] != '\t' && t_[i_] != '\n' && t_[i_] != '\r') {
        ++i_;
      }
    }
  }
  // The value at the cursor, watched as `node`; false once a duplicate is found.
  bool scan(int node) {
    ws();
    if (peek() == '{') return scan_object(node);
    if (peek() == '[') return scan_array(node);
    skip_value();
    return true;
  }
  bool scan_object(int node) {
    ++i_;
    int seen_small[8];  // the watched members met so far in this object
    std::vector<int> seen_more;
    std::size_t seen = 0;
    ws();
    if (peek() == '}') {
      ++i_;
      return true;
    }
    while (i_ < t_.size()) {
      ws();
      const std::string_view raw = raw_string();
      int c;
      if (raw.find('\\') == std::string_view::npos) {
        c = watched_.child(node, raw);
      } else {  // "st\u0061tus" is "status"
        std::string quoted = "\"";
        quoted.append(raw).push_back('"');
        const auto key = nlohmann::json::parse(quoted).get<std::string>();
        c = watched_.child(node, key);
      }
      ws();
      ++i_;  // ':'
      if (c < 0) {
        skip_value();
      } else {
        const bool again = std::find(seen_small, seen_small + std::min<std::size_t>(seen, 8), c) !=
                               seen_small + std::min<std::size_t>(seen, 8) ||
                           std::find(seen_more.begin(), seen_more.end(), c) != seen_more.end();
        if (again) {
          found_ = c;
          return false;
        }
        if (seen < 8) {
          seen_small[seen] = c;
        } else {
          seen_more.push_back(c);
        }
        ++seen;
        if (!descend(c)) return false;
      }
      ws();
      if (peek() != ',') break;
      ++i_;
    }
    ++i_;  // '}'
    return true;
  }
  bool scan_array(int node) {
    ++i_;
    ws();
    if (peek() == ']') {
      ++i_;
      return true;
    }
    for (std::size_t index = 0; i_ < t_.size(); ++index) {
      const int c = watched_.child(node, std::to_string(index));
      if (c < 0) {
        skip_value();
      } else if (!descend(c)) {
        return false;
      }
      ws();
      if (peek() != ',') break;
      ++i_;
    }
    ++i_;  // ']'
    return true;
  }
  bool descend(int node) {
    if (!watched_.has_children(node)) {
      skip_value();
      return true;
    }
    return scan(node);
  }

  std::string_view t_;
  const key_paths& watched_;
  std::size_t i_ = 0;
  int found_ = -1;
};

}  // namespace

std::optional<std::string> find_duplicate_key(std::string_view text, const key_paths& watched) {
  if (watched.empty()) return std::nullopt;
  try {
    const int node = duplicate_scan(text, watched).run();
    if (node >= 0) return watched.pointer(node);
  } catch (const nlohmann::json::exception&) {  // a key that does not unescape: not valid JSON
  }
  return std::nullopt;
}

namespace {

// nlohmann's SAX events: a stack of the open containers, each object with the keys it has
// seen, each array with the index of its next element; stops at the first repeated key.
class any_duplicate_sax {
 public:
  std::optional<std::string> found;

  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(nlohmann::json::number_integer_t) { return value(); }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return value(); }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return value(); }
  bool string(std::string&) { return value(); }
  bool binary(nlohmann::json::binary_t&) { return value(); }
  bool start_object(std::size_t) {
    open_.push_back({true, {}, {}, 0});
    return true;
  }
  bool key(std::string& k) {
    level& l = open_.back();
    if (!l.keys.insert(k).second) {
      std::string p;
      for (std::size_t i = 0; i + 1 < open_.size(); ++i) p += token_of(open_[i]);
      found = p + "/" + json_pointer::escape(k);
      return false;
    }
    l.key = k;
    return true;
  }
  bool end_object() { return end(); }
  bool start_array(std::size_t) {
    open_.push_back({false, {}, {}, 0});
    return true;
  }
  bool end_array() { return end(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  struct level {
    bool object = false;
    std::set<std::string> keys;
    std::string key;          // the member being read (objects)
    std::size_t element = 0;  // the element being read (arrays)
  };
  static std::string token_of(const level& l) {
    return "/" + (l.object ? json_pointer::escape(l.key) : std::to_string(l.element));
  }
  bool value() {
    if (!open_.empty() && !open_.back().object) ++open_.back().element;
    return true;
  }
  bool end() {
    open_.pop_back();
    return value();  // the container was a value of its parent
  }
  std::vector<level> open_;
};

}  // namespace

std::optional<std::string> find_any_duplicate_key(std::string_view text) {
  any_duplicate_sax sax;
  nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  return sax.found;
}

}  // namespace hooklog
