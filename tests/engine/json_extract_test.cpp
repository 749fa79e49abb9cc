// extract_watched (engine/json_extract.hpp): the one-pass scan that builds the read members. It
// answers only for text the full parse accepts, and then with the values the full parse gives
// for every pointer it watches; everything else is left to the full path (nullopt).
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/json_extract.hpp"
#include "engine/source.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using nlohmann::json;

namespace {

const std::vector<std::string> kPointers = {"/id",        "/type",      "/timestamp",
                                            "/tenant",    "/entity/id", "/entity/kind",
                                            "/status/to", "/test",      "/items/1/sku"};

key_paths watched() {
  key_paths w;
  for (const auto& p : kPointers) w.add(*json_pointer::parse(p));
  return w;
}

const std::string kBody =
    R"({"id":"e-1","type":"order.updated","timestamp":1714564800,"tenant":"t\u00e9",)"
    R"("entity":{"kind":"order","id":42,"extra":{"a":[1,2,{"b":null}]}},)"
    R"("status":{"from":"open","to":"paid"},"test":false,)"
    R"("items":[{"sku":"A"},{"sku":"B"}],"data":{"amount":12.5,"note":"caf\u00e9 \"x\" ü €",)"
    R"("neg":-0.0e-5,"big":123456789012345678901234567890,"t":true,"n":null,"e":{},"z":[]}})";

}  // namespace

TEST_CASE("extract_watched: the watched members, with the full parse's values", "[json_extract]") {
  const auto w = watched();
  auto got = extract_watched(kBody, w, 64);
  REQUIRE(got.has_value());
  const json full = json::parse(kBody);
  for (const auto& text : kPointers) {
    const auto p = *json_pointer::parse(text);
    const json* a = p.resolve(*got);
    const json* b = p.resolve(full);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(*a == *b);
    CHECK(a->type() == b->type());
  }
  CHECK(got->at("tenant") == "t\xC3\xA9");
  CHECK(got->at("timestamp").is_number_unsigned());
  CHECK(got->at("items") == full.at("items"));  // a watched array is kept whole
  // Unwatched members are not built; a watched object keeps only its watched members.
  CHECK_FALSE(got->contains("data"));
  CHECK(got->at("entity").size() == 2);
  CHECK(got->at("status") == json{{"to", "paid"}});
  // Numbers typed as the parser types them: unsigned, signed when negative, float past 64 bits.
  const std::string numbers =
      R"({"id":-5,"type":-0,"timestamp":123456789012345678901,"tenant":1.5e3,)"
      R"("entity":{"id":999999999999999999,"kind":-999999999999999999},"test":0})";
  auto n = extract_watched(numbers, w, 64);
  REQUIRE(n.has_value());
  const json nfull = json::parse(numbers);
  for (const char* key : {"id", "type", "timestamp", "tenant", "test"}) {
    INFO(key);
    CHECK(n->at(key) == nfull.at(key));
    CHECK(n->at(key).type() == nfull.at(key).type());
  }
  CHECK(n->at("entity") == nfull.at("entity"));
  CHECK(n->at("entity").at("kind").type() == nfull.at("entity").at("kind").type());
}

TEST_CASE("extract_watched: leaves to the full path what it does not answer", "[json_extract]") {
  const auto w = watched();
  const std::vector<std::string> bail = {
      R"([1,2])",                                    // not an object
      R"("text")",                                   // not an object
      "\xEF\xBB\xBF{\"id\":\"a\"}",                  // byte order mark
      R"({"id":"a",})",                              // trailing comma
      R"({"id":"a"} x)",                             // trailing text
      R"({"id":"a"}{})",                             // two values
      R"({"id":01})",                                // leading zero
      R"({"id":1.})",                                // no fraction digits
      R"({"id":1e})",                                // no exponent digits
      R"({"data":1e999})",                           // out of a double's range (unwatched too)
      R"({"data":-)" + std::string(400, '9') + "}",  // idem
      R"({"id":tru})",                               // bad literal
      R"({"id":"a" /* c */})",                       // comment
      "{\"id\":\"a\tb\"}",                           // control character in a string
      "{\"data\":\"\xC3\"}",                         // truncated UTF-8
      "{\"data\":\"\xED\xA0\x80\"}",                 // UTF-8 of a surrogate
      "{\"data\":\"\xC0\xAF\"}",                     // overlong
      R"({"data":"\ud800"})",           // surrogate escape (the full path checks pairs)
      R"({"data":"\x"})",               // bad escape
      R"({"data":"\u12G4"})",           // bad \u
      R"({"id":"a","id":"b"})",         // a read key twice
      R"({"entity":{"id":1,"id":2}})",  // idem, nested
      R"({"typ\u0065":"a"})",           // an escaped key where keys are read
      R"({"id":"a")",                   // unterminated
      R"({"id" "a"})",                  // no colon
      R"({id:"a"})",                    // unquoted key
      "",                               //
      "   ",                            //
  };
  for (const auto& text : bail) {
    INFO(text);
    CHECK_FALSE(extract_watched(text, w, 64).has_value());
  }
  // Nesting past the limit, counted like find_excess_depth.
  CHECK(extract_watched(R"({"a":{"b":[1]}})", w, 3).has_value());
  CHECK_FALSE(extract_watched(R"({"a":{"b":[1]}})", w, 2).has_value());
  // Repeated or escaped keys in an object where nothing is read are the parser's business, as
  // before; in an object where something is read, any escaped key goes to the full path.
  CHECK(extract_watched(R"({"data":{"x":1,"x":2,"\u0061":3}})", w, 64).has_value());
  CHECK_FALSE(extract_watched(R"({"d\u0061ta":3})", w, 64).has_value());
}

TEST_CASE("extract_watched: never looser than the full parse, on mutated bodies",
          "[json_extract]") {
  const auto w = watched();
  std::mt19937 rng(17);
  const std::string alphabet = "{}[]\",:\\/ 0123456789.eE+-tfnaul\x01\x7f\xC3\xA9\xED\xF0\x80";
  int answered = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = kBody;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % text.size();
      const char ch = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          text[at] = ch;
          break;
        case 1:
          text.erase(at, 1);
          break;
        default:
          text.insert(at, 1, ch);
          break;
      }
    }
    const auto got = extract_watched(text, w, 64);
    if (!got) continue;
    ++answered;
    INFO(text);
    const json full = json::parse(text, nullptr, false);
    REQUIRE_FALSE(full.is_discarded());
    REQUIRE(full.is_object());
    for (const auto& p_text : kPointers) {
      const auto p = *json_pointer::parse(p_text);
      const json* a = p.resolve(*got);
      const json* b = p.resolve(full);
      REQUIRE((a == nullptr) == (b == nullptr));
      if (a != nullptr && !a->is_object()) CHECK(*a == *b);
    }
  }
  CHECK(answered > 100);  // the mutations left many bodies valid
}

TEST_CASE("normalize: a read of an object gives its type, not a pruned copy", "[json_extract]") {
  test::temp_dir dir;
  const std::string path = dir.path() + "/acme.json";
  // /t is read as the type and /t/x as the event id: the scan keeps /t pruned to {"x":...}.
  std::ofstream(path) << R"({"source":"acme","type":"/t","event_id":"/t/x","events":[]})";
  auto reg = source_registry::load_files({path});
  REQUIRE(reg.ok());
  auto ev = reg->normalize({"acme", R"({"t":{"x":"1","y":2}})", {}, {}, {}});
  REQUIRE_FALSE(ev.ok());
  CHECK(ev.err().message == "field /t must be a string, got object");
  CHECK(ev.err().field == "/t");
  auto ok = reg->normalize({"acme", R"({"t":"a.b","u":{"x":"1"}})", {}, {}, {}});
  REQUIRE(ok.ok());
  CHECK(ok->type == "a.b");
}
