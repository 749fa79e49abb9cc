#include "engine/json_fields.hpp"

#include <new>

#include <nlohmann/json.hpp>

#include "engine/json_scan.hpp"

namespace hooklog {

constexpr std::size_t kMaxWatchedPerObject = 16;  // more watched members met: the full path

// The scan behind watched_fields::scan. Every member returns false to bail out.
class fields_scanner : detail::json_lexer {
 public:
  fields_scanner(std::string_view text, const key_paths& watched, int max_depth,
                 watched_fields& out)
      : json_lexer(text), w_(watched), max_depth_(max_depth), out_(out), f_(out.fields_) {}

  bool run() {
    ws();
    if (!at('{')) return false;  // not an object, a byte order mark, or not JSON
    const std::size_t start = i_;
    if (!object(0)) return false;
    set_raw(0, json_field::kind::object, start);
    ws();
    return i_ == n_;
  }

 private:
  void set_raw(int node, json_field::kind k, std::size_t start) {
    json_field& f = f_[node];
    f.type = k;
    f.text = t_.substr(start, i_ - start);
  }

  // A number from `start` to the cursor into node's field, typed as the parser types it.
  bool set_number(int node, std::size_t start) {
    json_field& f = f_[node];
    bool negative = false;
    std::uint64_t magnitude = 0;
    if (small_integer(start, negative, magnitude)) {
      if (negative) {
        f.type = json_field::kind::integer;
        f.integer = -static_cast<std::int64_t>(magnitude);
      } else {
        f.type = json_field::kind::unsigned_integer;
        f.unsigned_integer = magnitude;
      }
      return true;
    }
    const nlohmann::json v =
        nlohmann::json::parse(t_.begin() + static_cast<std::ptrdiff_t>(start),
                              t_.begin() + static_cast<std::ptrdiff_t>(i_), nullptr, false);
    switch (v.type()) {
      case nlohmann::json::value_t::number_integer:
        f.type = json_field::kind::integer;
        f.integer = v.get<std::int64_t>();
        return true;
      case nlohmann::json::value_t::number_unsigned:
        f.type = json_field::kind::unsigned_integer;
        f.unsigned_integer = v.get<std::uint64_t>();
        return true;
      case nlohmann::json::value_t::number_float:
        f.type = json_field::kind::floating;
        f.floating = v.get<double>();
        return true;
      default:
        return false;  // out of range: the full path says so
    }
  }

  // The string between quotes `raw` (checked by string()) with its escapes replaced.
  std::string_view unescape(std::string_view raw) {
    std::string& u = out_.unescaped_;
    if (u.capacity() < n_) u.reserve(n_);  // never moves afterwards (see the header)
    const std::size_t begin = u.size();
    for (std::size_t k = 0; k < raw.size(); ++k) {
      const char c = raw[k];
      if (c != '\\') {
        u.push_back(c);
        continue;
      }
      const char e = raw[++k];
      switch (e) {
        case 'b':
          u.push_back('\b');
          break;
        case 'f':
          u.push_back('\f');
          break;
        case 'n':
          u.push_back('\n');
          break;
        case 'r':
          u.push_back('\r');
          break;
        case 't':
          u.push_back('\t');
          break;
        case 'u': {  // not a surrogate (string() bailed on those): one to three UTF-8 bytes
          const auto v =
              static_cast<unsigned>(hex4(static_cast<std::size_t>(raw.data() + k + 1 - t_.data())));
          if (v < 0x80) {
            u.push_back(static_cast<char>(v));
          } else if (v < 0x800) {
            u.push_back(static_cast<char>(0xC0 | (v >> 6)));
            u.push_back(static_cast<char>(0x80 | (v & 0x3F)));
          } else {
            u.push_back(static_cast<char>(0xE0 | (v >> 12)));
            u.push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
            u.push_back(static_cast<char>(0x80 | (v & 0x3F)));
          }
          k += 4;
          break;
        }
        default:  // '"', '\\', '/'
          u.push_back(e);
          break;
      }
    }
    return std::string_view(u).substr(begin);
  }

  // The value at the cursor. `node`: the watched node it is, or -1 (only validated).
  bool value(int node) {
    ws();
    if (i_ >= n_) return false;
    const std::size_t start = i_;
    switch (t_[i_]) {
      case '{':
        if (node < 0) return object(-1);
        if (!object(w_.has_children(node) ? node : -1)) return false;
        set_raw(node, json_field::kind::object, start);
        return true;
      case '[':
        if (node < 0) return array(-1);
        if (!array(w_.has_children(node) ? node : -1)) return false;
        set_raw(node, json_field::kind::array, start);
        return true;
      case '"': {
        std::string_view raw;
        bool escaped = false;
        if (!string(raw, escaped)) return false;
        if (node < 0) return true;
        json_field& f = f_[node];
        f.type = json_field::kind::string;
        f.text = escaped ? unescape(raw) : raw;
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        if (node >= 0) {
          f_[node].type = json_field::kind::boolean;
          f_[node].boolean = true;
        }
        return true;
      case 'f':
        if (!literal("false")) return false;
        if (node >= 0) {
          f_[node].type = json_field::kind::boolean;
          f_[node].boolean = false;
        }
        return true;
      case 'n':
        if (!literal("null")) return false;
        if (node >= 0) f_[node].type = json_field::kind::null;
        return true;
      default:
        if (!number()) return false;
        return node < 0 || set_number(node, start);
    }
  }

  // At '{'. `node` >= 0: an object on a watched path (its members are looked up).
  bool object(int node) {
    if (++depth_ > max_depth_) return false;
    ++i_;
    ws();
    if (at('}')) {
      ++i_;
      --depth_;
      return true;
    }
    int seen[kMaxWatchedPerObject];
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
        if (seen_count == kMaxWatchedPerObject) return false;
        seen[seen_count++] = child;
      }
      if (!value(child)) return false;
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

  // At '['. `node` >= 0: an array on a watched path (its elements are looked up by index).
  bool array(int node) {
    if (++depth_ > max_depth_) return false;
    ++i_;
    ws();
    if (at(']')) {
      ++i_;
      --depth_;
      return true;
    }
    for (std::size_t index = 0;; ++index) {
      int child = -1;
      if (node >= 0) {
        char digits[24];
        std::size_t len = 0;
        std::size_t v = index;
        do {
          digits[sizeof digits - 1 - len++] = static_cast<char>('0' + v % 10);
          v /= 10;
        } while (v != 0);
        child = w_.child(node, std::string_view(digits + sizeof digits - len, len));
      }
      if (!value(child)) return false;
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
  watched_fields& out_;
  json_field* f_;
};

bool watched_fields::scan(std::string_view text, const key_paths& watched, int max_depth) {
  const std::size_t n = watched.size();
  if (n <= kInline) {
    for (std::size_t k = 0; k < n; ++k) new (inline_ + k * sizeof(json_field)) json_field{};
    fields_ = std::launder(reinterpret_cast<json_field*>(inline_));
  } else {
    heap_.assign(n, json_field{});
    fields_ = heap_.data();
  }
  unescaped_.clear();
  return fields_scanner(text, watched, max_depth, *this).run();
}

json_field to_json_field(const nlohmann::json* v) {
  json_field f;
  if (v == nullptr) return f;
  switch (v->type()) {
    case nlohmann::json::value_t::null:
      f.type = json_field::kind::null;
      break;
    case nlohmann::json::value_t::boolean:
      f.type = json_field::kind::boolean;
      f.boolean = v->get<bool>();
      break;
    case nlohmann::json::value_t::number_integer:
      f.type = json_field::kind::integer;
      f.integer = v->get<std::int64_t>();
      break;
    case nlohmann::json::value_t::number_unsigned:
      f.type = json_field::kind::unsigned_integer;
      f.unsigned_integer = v->get<std::uint64_t>();
      break;
    case nlohmann::json::value_t::number_float:
      f.type = json_field::kind::floating;
      f.floating = v->get<double>();
      break;
    case nlohmann::json::value_t::string:
      f.type = json_field::kind::string;
      f.text = v->get_ref<const std::string&>();
      break;
    case nlohmann::json::value_t::array:
      f.type = json_field::kind::array;
      break;
    default:  // object (binary never comes from text)
      f.type = json_field::kind::object;
      break;
  }
  return f;
}

std::string_view json_field_type_name(const json_field& f) {
  switch (f.type) {
    case json_field::kind::string:
      return "string";
    case json_field::kind::integer:
    case json_field::kind::unsigned_integer:
    case json_field::kind::floating:
      return "number";
    case json_field::kind::boolean:
      return "boolean";
    case json_field::kind::array:
      return "array";
    case json_field::kind::object:
      return "object";
    default:
      return "null";
  }
}

std::string json_field_number_text(const json_field& f) {
  switch (f.type) {
    case json_field::kind::integer:
      return std::to_string(f.integer);
    case json_field::kind::unsigned_integer:
      return std::to_string(f.unsigned_integer);
    default:
      return nlohmann::json(f.floating).dump();
  }
}

}  // namespace hooklog
