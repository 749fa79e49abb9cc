// find_json_value (projections/json_path.hpp) against nlohmann's DOM on random documents: the
// scan looks for quotes, backslashes and brackets 16 bytes at a time, so strings and containers
// of every length around that width, escapes at every offset and truncated texts are covered;
// and its plain-string answer (a string value of printable ASCII without escapes, compared as
// text by filters) at every length and position of the byte that makes a string not plain.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "projections/json_path.hpp"

using namespace hooklog::projections;
using nlohmann::json;

namespace {

// A string of 0-40 bytes that JSON escapes often: quotes, backslashes, brackets, commas, controls.
std::string random_text(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {"a", "Z", "0", " ", "\"", "\\", "{", "}", "[",
                                                   "]", ",", ":", "\n", "\t", "\xc3\xa9", "/"};
  std::string s;
  const std::size_t n = rng() % 41;
  while (s.size() < n) s += kPieces[rng() % kPieces.size()];
  return s;
}

json random_value(std::mt19937_64& rng, int depth) {
  static const std::vector<std::string> kKeys = {"data", "status", "a", "bb", "a_longer_key_name",
                                                 "x{y", "k]", "note", "amount", "s,t"};
  switch (depth > 3 ? rng() % 4 : rng() % 6) {
    case 0: return random_text(rng);
    case 1: return static_cast<std::int64_t>(rng() % 200'000) - 100'000;
    case 2: return rng() % 2 == 0 ? json(true) : json(nullptr);
    case 3: return static_cast<double>(rng() % 1000) / 8.0;
    case 4: {
      json o = json::object();
      for (std::size_t i = 0, n = rng() % 6; i < n; ++i)
        o[kKeys[rng() % kKeys.size()]] = random_value(rng, depth + 1);
      return o;
    }
    default: {
      json a = json::array();
      for (std::size_t i = 0, n = rng() % 5; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
  }
}

// Every JSON Pointer into `j` (the document itself included).
void pointers(const json& j, const std::string& at, std::vector<std::string>& out) {
  out.push_back(at);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) pointers(v, at + "/" + k, out);  // keys need no ~ escape
  else if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i) pointers(j[i], at + "/" + std::to_string(i), out);
}

}  // namespace

TEST_CASE("json path scan: every value of random documents equals the DOM's, compact and indented") {
  std::mt19937_64 rng(17);
  std::vector<std::string> ptrs, tokens;
  std::size_t checked = 0;
  for (int d = 0; d < 400; ++d) {
    json doc = json::object();
    for (std::size_t i = 0, n = 1 + rng() % 5; i < n; ++i)
      doc["m" + std::to_string(i)] = random_value(rng, 0);
    ptrs.clear();
    pointers(doc, "", ptrs);
    for (const std::string& text : {doc.dump(), doc.dump(2)}) {
      for (const auto& p : ptrs) {
        INFO(p << " in " << text);
        REQUIRE(split_json_pointer(p, tokens));
        std::string_view raw;
        REQUIRE(find_json_value(text, tokens, raw) == path_lookup::found);
        CHECK(json::parse(raw) == doc.at(json::json_pointer(p)));
        ++checked;
        // A member that is not there, below the value and beside it.
        REQUIRE(split_json_pointer(p + "/zz", tokens));
        CHECK(find_json_value(text, tokens, raw) == path_lookup::absent);
      }
    }
  }
  CHECK(checked > 5'000);  // 7,872 with this seed
}

TEST_CASE("json path scan: a text cut anywhere finds a string value only once it is whole") {
  // The value's closing quote at every offset of the 16-byte window, after escapes.
  std::mt19937_64 rng(5);
  std::vector<std::string> tokens;
  REQUIRE(split_json_pointer("/data/status", tokens));
  for (int d = 0; d < 200; ++d) {
    const json doc = {{"data", {{"amount", static_cast<int>(rng() % 5000)},
                                {"note", random_text(rng)},
                                {"status", random_text(rng)}}},
                      {"event", random_text(rng)}};
    const std::string text = doc.dump();
    std::string_view whole;
    REQUIRE(find_json_value(text, tokens, whole) == path_lookup::found);
    REQUIRE(json::parse(whole) == doc["data"]["status"]);
    const std::size_t value_end = static_cast<std::size_t>(whole.data() - text.data()) + whole.size();
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      const std::string part = text.substr(0, cut);  // its own buffer: nothing past it is read
      std::string_view raw;
      const auto r = find_json_value(part, tokens, raw);
      INFO(part);
      if (cut >= value_end) {
        CHECK(r == path_lookup::found);
        CHECK(raw == whole);
      } else {
        CHECK(r != path_lookup::found);
      }
    }
  }
}

namespace {
// The plain-string reference: what the filter compared as text before (filter.cpp's former
// plain_string).
bool is_plain(std::string_view inner) {
  for (char ch : inner)
    if (ch < 0x20 || ch >= 0x7F || ch == '"' || ch == '\\') return false;
  return true;
}
}  // namespace

TEST_CASE("json path scan: a plain string is told from escaped, control, DEL and non-ASCII ones") {
  std::vector<std::string> tok;
  REQUIRE(split_json_pointer("/d/s", tok));
  // Bytes that make a string not plain, each valid inside a JSON string as written.
  const std::vector<std::string> breakers = {"\\\"", "\\\\", "\\n", "\\u0041", "\x7f",
                                             "\xc3\xa9", "\x80", "\x1f"};
  const std::string long_tail = R"(,"z":"0123456789012345678901234567890123456789"})";
  std::size_t plain_seen = 0, not_plain_seen = 0;
  for (std::size_t len = 0; len <= 40; ++len) {
    for (int b = -1; b < static_cast<int>(breakers.size()); ++b) {
      for (std::size_t at = 0; at <= len; at += (b < 0 ? len + 1 : 1)) {
        std::string inner(len, 'a');
        for (std::size_t i = 0; i < len; ++i) inner[i] = static_cast<char>('A' + (i * 7) % 58);
        for (char& ch : inner)
          if (ch == '\\') ch = '~';  // 'A' + 27
        if (b >= 0) inner.insert(at, breakers[static_cast<std::size_t>(b)]);
        for (const std::string& tail : {std::string("}"), long_tail}) {
          const std::string doc = R"({"d":{"n":12,"s":")" + inner + "\"}" + tail;
          INFO("doc " << doc);
          path_value v;
          REQUIRE(find_json_value(doc, tok, v) == path_lookup::found);
          CHECK(v.raw == "\"" + inner + "\"");
          const bool plain = is_plain(inner);
          CHECK(v.plain == plain);
          (plain ? plain_seen : not_plain_seen)++;
          if (plain) {
            CHECK(v.text == inner);
            CHECK(json::parse(doc)["d"]["s"].get<std::string>() == std::string(v.text));
          }
          std::string_view raw;  // the raw-only form gives the same text
          REQUIRE(find_json_value(doc, tok, raw) == path_lookup::found);
          CHECK(raw == v.raw);
        }
      }
    }
  }
  CHECK(plain_seen == 2 * 41);  // every string without a breaker, both tails
  CHECK(not_plain_seen > 1000);
}

TEST_CASE("json path scan: values other than strings are never plain") {
  std::vector<std::string> tok;
  REQUIRE(split_json_pointer("/v", tok));
  for (const std::string v : {"12", "-1.5e3", "true", "null", "{\"a\":\"b\"}", "[\"x\"]", "\"\""}) {
    const std::string doc = R"({"v":)" + v + "}";
    INFO(doc);
    path_value out;
    REQUIRE(find_json_value(doc, tok, out) == path_lookup::found);
    CHECK(out.raw == v);
    CHECK(out.plain == (v == "\"\""));
    if (out.plain) CHECK(out.text.empty());
  }
  // A string that does not end is not found (the whole document is parsed instead).
  path_value out;
  CHECK(find_json_value(R"({"v":"abc)", tok, out) == path_lookup::fallback);
  CHECK(find_json_value(R"({"v":"ab\)", tok, out) == path_lookup::fallback);
  CHECK(find_json_value(R"({"v":"ab\u00e9)", tok, out) == path_lookup::fallback);
}
