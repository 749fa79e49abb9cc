// Property: find_duplicate_key agrees with a reference built on nlohmann's SAX parser (which
// sees every key, repeats included) on random JSON texts with repeated, escaped and nested
// keys, whitespace and strings full of brackets. Deterministic seed, bounded count.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/json_text.hpp"

using namespace hooklog;

namespace {

// The first repeated member on a watched path, in text order, per the SAX events.
class reference_sax : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit reference_sax(const key_paths& w) : w_(w) {}
  std::optional<std::string> found;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    frames_.push_back({next_node(), false, 0, {}, -1});
    return true;
  }
  bool key(string_t& k) override {
    frame& f = frames_.back();
    f.pending = f.node >= 0 ? w_.child(f.node, k) : -1;
    if (f.pending >= 0 && !f.seen.insert(f.pending).second) {
      found = w_.pointer(f.pending);
      return false;
    }
    return true;
  }
  bool end_object() override { return end(); }
  bool start_array(std::size_t) override {
    frames_.push_back({next_node(), true, 0, {}, -1});
    return true;
  }
  bool end_array() override { return end(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct frame {
    int node;  // -1: not watched
    bool array;
    std::size_t index;
    std::set<int> seen;
    int pending;  // the node of the member whose value comes next
  };
  // The node of the value that starts now (and moves an array to its next element).
  int next_node() {
    if (frames_.empty()) return 0;
    frame& f = frames_.back();
    if (!f.array) return f.pending;
    const int n = f.node >= 0 ? w_.child(f.node, std::to_string(f.index)) : -1;
    ++f.index;
    return n;
  }
  bool value() {
    next_node();
    return true;
  }
  bool end() {
    frames_.pop_back();
    return true;
  }
  const key_paths& w_;
  std::vector<frame> frames_;
};

class generator {
 public:
  explicit generator(std::uint32_t seed) : rng_(seed) {}
  std::string document() {
    std::string out;
    ws(out);
    object(out, 0);
    ws(out);
    return out;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  void ws(std::string& out) {
    static const char* const kWs[] = {"", "", "", " ", "\n", "\t ", "\r\n  "};
    out += kWs[pick(7)];
  }
  void key(std::string& out) {
    static const char* const kKeys[] = {
        "a",   "b",     "c",    "x/y",    "x\\/y",        "\\u0061", "list", "id",
        "t~1", "\\\"q", "\\\\", "status", "st\\u0061tus", "é",       "0"};
    out += '"';
    out += kKeys[pick(15)];
    out += '"';
  }
  void scalar(std::string& out) {
    static const char* const kScalars[] = {"1",
                                           "-2.5e3",
                                           "true",
                                           "null",
                                           "false",
                                           "\"\"",
                                           "\"}{][\\\":,\"",
                                           "\"a\\\\\"",
                                           "\"\\\"status\\\":1,\\\"status\\\":2\"",
                                           "0"};
    out += kScalars[pick(10)];
  }
  void value(std::string& out, int depth) {
    const int k = depth > 4 ? 0 : pick(5);
    if (k == 0 || k == 1) return scalar(out);
    if (k == 2) return array(out, depth + 1);
    object(out, depth + 1);
  }
  void object(std::string& out, int depth) {
    out += '{';
    const int n = pick(5);
    for (int i = 0; i < n; ++i) {
      if (i) out += ',';
      ws(out);
      key(out);
      ws(out);
      out += ':';
      ws(out);
      value(out, depth);
      ws(out);
    }
    out += '}';
  }
  void array(std::string& out, int depth) {
    out += '[';
    const int n = pick(4);
    for (int i = 0; i < n; ++i) {
      if (i) out += ',';
      ws(out);
      value(out, depth);
      ws(out);
    }
    out += ']';
  }
  std::mt19937 rng_;
};

}  // namespace

TEST_CASE("find_duplicate_key agrees with a SAX reference on random JSON", "[json][property]") {
  key_paths w;
  for (const char* p : {"/a/b", "/a/list/1/id", "/x~1y/a", "/status", "/list/0", "/t~01/c",
                        "/\"q/a", "/\\", "/é/0/a", "/0/b/c"}) {
    w.add(*json_pointer::parse(p));
  }
  generator gen(20261130);
  int duplicates = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = gen.document();
    INFO(text);
    reference_sax ref(w);
    const bool complete = nlohmann::json::sax_parse(text, &ref);
    REQUIRE((complete || ref.found.has_value()));  // the generator writes valid JSON
    CHECK(find_duplicate_key(text, w) == ref.found);
    if (ref.found) ++duplicates;
  }
  CHECK(duplicates > 1000);  // the property was exercised on both sides
}
