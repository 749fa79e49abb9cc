// watched_fields (engine/json_fields.hpp): the normalizer's fast path keeps a view per watched
// node instead of a document. It answers only for text the full parse accepts, with the value
// json_pointer::resolve gives on the full parse; and the normalizer gives the same event or the
// same refusal whichever path it takes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/json_fields.hpp"
#include "engine/source.hpp"
#include "engine/source_def.hpp"
#include "hooklog_build_paths.hpp"
#include "source_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using nlohmann::json;
using kind = json_field::kind;

namespace {

const std::vector<std::string> kPointers = {
    "/id",         "/type", "/timestamp",   "/tenant",   "/entity/id", "/entity/kind",
    "/status/to",  "/test", "/items/1/sku", "/items/10", "/items/01",  "/items/x",
    "/deep/a/b/c", "/esc",  "/entity",      "/items",    "/e~1f",      "/g~0h",
    "/n",          "/0",    "/obj/0"};

struct watched {
  key_paths paths;
  std::vector<int> nodes;
  watched() {
    for (const auto& p : kPointers) nodes.push_back(paths.add(*json_pointer::parse(p)));
  }
};

// The field resolve gives on the full parse must be the field the scan gave.
void check_same(const json_field& got, const json* want) {
  if (want == nullptr) {
    CHECK(got.type == kind::absent);
    return;
  }
  switch (want->type()) {
    case json::value_t::null:
      CHECK(got.type == kind::null);
      break;
    case json::value_t::boolean:
      REQUIRE(got.type == kind::boolean);
      CHECK(got.boolean == want->get<bool>());
      break;
    case json::value_t::number_integer:
      REQUIRE(got.type == kind::integer);
      CHECK(got.integer == want->get<std::int64_t>());
      break;
    case json::value_t::number_unsigned:
      REQUIRE(got.type == kind::unsigned_integer);
      CHECK(got.unsigned_integer == want->get<std::uint64_t>());
      break;
    case json::value_t::number_float:
      REQUIRE(got.type == kind::floating);
      CHECK(json(got.floating) == *want);
      break;
    case json::value_t::string:
      REQUIRE(got.type == kind::string);
      CHECK(got.text == want->get_ref<const std::string&>());
      break;
    case json::value_t::array:
      REQUIRE(got.type == kind::array);
      CHECK(json::parse(got.text) == *want);
      break;
    default:
      REQUIRE(got.type == kind::object);
      CHECK(json::parse(got.text) == *want);
      break;
  }
}

void check_all(const std::string& text, const watched& w) {
  INFO(text);
  watched_fields f;
  REQUIRE(f.scan(text, w.paths, 64));
  const json full = json::parse(text);
  for (std::size_t k = 0; k < kPointers.size(); ++k) {
    INFO(kPointers[k]);
    check_same(f.at(w.nodes[k]), json_pointer::parse(kPointers[k])->resolve(full));
  }
  check_same(f.at(0), &full);
}

}  // namespace

TEST_CASE("watched_fields: each watched value as the full parse resolves it", "[json_fields]") {
  const watched w;
  check_all(R"({"id":"e-1","type":"order.updated","timestamp":1714564800,"tenant":"t\u00e9",)"
            R"("entity":{"kind":"order","id":42,"extra":{"a":[1,2,{"b":null}]}},)"
            R"("status":{"from":"open","to":"paid"},"test":false,)"
            R"("items":[{"sku":"A"},{"sku":"B"},2,3,4,5,6,7,8,9,{"x":"ten"}],)"
            R"("deep":{"a":{"b":{"c":"d"}}},"e/f":1.5,"g~h":-0,"n":null,"0":true,)"
            R"("obj":{"0":"zero"},)"
            R"("esc":"q\"b\\s\/n\nr\rt\tb\bf\f u\u0041\u00e9\u20ac\u0000 x",)"
            R"("data":{"amount":12.5,"note":"caf\u00e9 \"x\" ü €","big":1234567890123456789012}})",
            w);
  // Numbers typed as the parser types them: unsigned, signed when negative, float otherwise or
  // past 64 bits; 19 and 20 digits through the parser.
  check_all(R"({"id":-5,"type":-0,"timestamp":123456789012345678901,"tenant":1.5e3,)"
            R"("entity":{"id":999999999999999999,"kind":-999999999999999999},"test":0,)"
            R"("esc":18446744073709551615,"n":-9223372036854775808,"0":9223372036854775808,)"
            R"("items":[0,1E2],"deep":{"a":{"b":{"c":-1.0e-5}}}})",
            w);
  // Objects and arrays where a value is read, scalars where an object is walked through, and
  // whitespace everywhere.
  check_all(
      " \n{ \"id\" : { \"x\" : 1 } , \"type\" : [ 1 , [ 2 ] ] , \"entity\" : \"flat\" ,"
      " \"items\" : { \"1\" : { \"sku\" : \"object, not array\" } , \"01\" : 1 } ,"
      " \"obj\" : [ \"zero\" ] , \"deep\" : { \"a\" : [ ] } }\t\r\n",
      w);
  check_all(R"({})", w);
  check_all(R"({"items":[],"entity":{},"deep":{"a":{"b":{}}}})", w);
}

TEST_CASE("watched_fields: strings and whitespace of every length around the 8 and 16 byte steps",
          "[json_fields]") {
  const watched w;
  const std::vector<std::string> specials = {
      "\\\"", "\\n", "\\u00e9", "\xC3\xA9", "\xF0\x9F\x98\x80", "\\\\"};
  for (std::size_t len = 0; len <= 40; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const auto& special : specials) {
        std::string value(len, 'a');
        value.insert(at, special);
        check_all("{\"id\":\"" + value + "\",\"type\":\"" + std::string(len, 'b') + "\"}", w);
      }
    }
    const std::string pad(len, ' ');
    check_all("{" + pad + "\"id\"" + pad + ":" + pad + "\"x\"" + pad + "," + pad + "\"type\":" +
                  std::string(len, '\n') + "[" + pad + "1" + pad + "]" + pad + "}" + pad,
              w);
    check_all("\t\r\n " + pad + "{\"id\":\r\n\t" + pad + "1}" + pad + "\r\n", w);
  }
  // A body that ends inside a run, inside a string, at every length: never answered.
  const std::string body = R"({"id":"abcdefghijklmnopqrstuvwxyz0123456789",   "type":"t"})";
  for (std::size_t cut = 0; cut < body.size(); ++cut) {
    watched_fields f;
    CHECK_FALSE(f.scan(body.substr(0, cut), w.paths, 64));
  }
}

TEST_CASE("watched_fields: leaves to the full path what it does not answer", "[json_fields]") {
  const watched w;
  const std::vector<std::string> bail = {
      R"([1,2])",
      R"("text")",
      "\xEF\xBB\xBF{\"id\":\"a\"}",
      R"({"id":"a",})",
      R"({"id":"a"} x)",
      R"({"id":01})",
      R"({"id":1.})",
      R"({"data":1e999})",
      R"({"id":1e400})",
      R"({"id":tru})",
      "{\"id\":\"a\tb\"}",
      "{\"data\":\"\xC3\"}",
      "{\"data\":\"\xED\xA0\x80\"}",
      "{\"id\":\"\xC0\xAF\"}",
      R"({"esc":"\ud83d\ude00"})",  // a surrogate pair: valid, but the full path checks pairs
      R"({"data":"\x"})",
      R"({"id":"a","id":"b"})",
      R"({"entity":{"id":1,"id":2}})",
      R"({"items":[{"sku":1,"sku":2},{"sku":3,"sku":4}]})",  // /items/1/sku repeated
      R"({"typ\u0065":"a"})",
      R"({"id":"a")",
      "",
  };
  for (const auto& text : bail) {
    INFO(text);
    watched_fields f;
    CHECK_FALSE(f.scan(text, w.paths, 64));
  }
  watched_fields f;
  CHECK(f.scan(R"({"items":[{"sku":1,"sku":2},{"sku":3}]})", w.paths, 64));  // /items/0 unread
  CHECK(f.scan(R"({"a":{"b":[1]}})", w.paths, 3));
  CHECK_FALSE(f.scan(R"({"a":{"b":[1]}})", w.paths, 2));
  CHECK_FALSE(f.scan(R"({"deep":{"a":{"b":{"c":1}}}})", w.paths, 3));
  // Scanned again, a watched_fields forgets what the text before it held.
  REQUIRE(f.scan(R"({"id":"x\n"})", w.paths, 64));
  CHECK(f.at(w.nodes[0]).text == "x\n");
  REQUIRE(f.scan(R"({"type":"y"})", w.paths, 64));
  CHECK(f.at(w.nodes[0]).type == kind::absent);
  CHECK(f.at(w.nodes[1]).text == "y");
}

TEST_CASE("watched_fields: more watched nodes than kept inline", "[json_fields]") {
  key_paths paths;  // 6 objects of 10 members: 67 nodes
  std::vector<int> nodes;
  std::string text = "{";
  for (int a = 0; a < 6; ++a) {
    text += (a ? ",\"a" : "\"a") + std::to_string(a) + "\":{";
    for (int b = 0; b < 10; ++b) {
      const std::string key = "b" + std::to_string(b);
      nodes.push_back(paths.add(*json_pointer::parse("/a" + std::to_string(a) + "/" + key)));
      text += (b ? ",\"" : "\"") + key + "\":" + std::to_string(a * 10 + b);
    }
    text += "}";
  }
  text += "}";
  REQUIRE(paths.size() > 32);
  watched_fields f;
  REQUIRE(f.scan(text, paths, 64));
  for (int k = 0; k < 60; ++k) CHECK(f.at(nodes[k]).unsigned_integer == std::uint64_t(k));
}

namespace {

struct compiled {
  std::string name;
  detail::source_def def;
  std::vector<std::string> pointers;  // every pointer the source reads
};

std::vector<compiled> compile_all() {
  namespace fs = std::filesystem;
  std::vector<compiled> out;
  for (const auto& f : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/sources")) {
    const std::string name = f.path().stem().string();
    auto def = detail::compile_source(json::parse(test::read_file(f.path().string())),
                                      f.path().string(), name);
    REQUIRE(def.ok());
    compiled c{name, std::move(def.value()), {}};
    for (std::size_t n = 1; n < c.def.read_paths.size(); ++n) {
      c.pointers.push_back(c.def.read_paths.pointer(static_cast<int>(n)));
    }
    out.push_back(std::move(c));
  }
  return out;
}

void check_same_outcome(const result<normalized_event>& a, const result<normalized_event>& b) {
  REQUIRE(a.ok() == b.ok());
  if (!a.ok()) {
    CHECK(a.err().code == b.err().code);
    CHECK(a.err().message == b.err().message);
    CHECK(a.err().field == b.err().field);
    return;
  }
  CHECK(a->source == b->source);
  CHECK(a->type == b->type);
  CHECK(a->tenant == b->tenant);
  CHECK(a->native_id == b->native_id);
  CHECK(a->idempotency_key == b->idempotency_key);
  CHECK(a->entity_kind == b->entity_kind);
  CHECK(a->entity_id == b->entity_id);
  CHECK(a->status_from == b->status_from);
  CHECK(a->status_to == b->status_to);
  CHECK(a->occurred_at == b->occurred_at);
  CHECK(a->test_mode == b->test_mode);
  CHECK(a->cataloged == b->cataloged);
}

}  // namespace

TEST_CASE("normalize: the fast path and the full parse give the same event or refusal",
          "[json_fields][source][property]") {
  namespace fs = std::filesystem;
  const auto sources = compile_all();
  struct input {
    const compiled* src;
    std::string hint, body;
  };
  std::vector<input> inputs;
  for (const auto& c : sources) {
    for (const auto& f :
         fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/samples/" + c.name)) {
      std::string type = f.path().stem().string();
      for (std::size_t p; (p = type.find("--")) != std::string::npos;) type.replace(p, 2, ":");
      inputs.push_back({&c, type, test::read_file(f.path().string())});
    }
  }
  REQUIRE(inputs.size() >= 56);
  // Values written at a pointer the source reads (raw JSON text, escapes kept as written).
  static const std::vector<std::string> kValues = {R"("a\u00e9b")",
                                                   R"("x\/y\"z")",
                                                   R"("\n")",
                                                   R"("t\u0001")",
                                                   R"("")",
                                                   R"("\u0000")",
                                                   "12",
                                                   "-0",
                                                   "1.5e3",
                                                   "1714564800",
                                                   "1714564800123",
                                                   "1714564800123456",
                                                   "-1",
                                                   "0.5",
                                                   "123456789012345678901",
                                                   "18446744073709551615",
                                                   "-9223372036854775809",
                                                   "1e300",
                                                   "true",
                                                   "false",
                                                   "null",
                                                   "{}",
                                                   R"({"a":1})",
                                                   "[]",
                                                   "[1,2]",
                                                   R"("2024-05-01T12:00:00Z")",
                                                   R"("2024-05-01 12:00:00.123456789+05:30")",
                                                   R"("not a time")",
                                                   R"("order.updated")",
                                                   R"("package.status.packed")",
                                                   R"("IN TRANSIT")",
                                                   R"("\u004fRDER")",
                                                   "\"\xC3\xA9t\xC3\xA9\"",
                                                   "\"" + std::string(300, 'x') + "\""};
  static const char* const kTokens[] = {"{",    "}",  "[",    "]",  ",",     ":",  "\"",
                                        "null", "\\", "\xC3", "{}", "\"x\"", "1.5"};
  std::mt19937_64 rng(1717);
  int fast = 0, refused = 0;
  constexpr int kRounds = 6000;
  normalize_limits lim;
  lim.max_depth = 16;
  for (int round = 0; round < kRounds; ++round) {
    const input& in = inputs[rng() % inputs.size()];
    json doc = json::parse(in.body);
    // Set one to three read pointers (creating their objects) to values from the list.
    std::vector<std::string> raw;
    for (int e = 1 + static_cast<int>(rng() % 3); e > 0; --e) {
      const std::string& p = in.src->pointers[rng() % in.src->pointers.size()];
      try {
        doc[json::json_pointer(p)] = "@@" + std::to_string(raw.size()) + "@@";
        raw.push_back(kValues[rng() % kValues.size()]);
      } catch (const json::exception&) {  // through an array or a scalar: leave it
      }
    }
    std::string body = rng() % 2 ? doc.dump() : doc.dump(2);
    for (std::size_t k = 0; k < raw.size(); ++k) {
      const std::string mark = "\"@@" + std::to_string(k) + "@@\"";
      if (const auto at = body.find(mark); at != std::string::npos)
        body.replace(at, mark.size(), raw[k]);
    }
    if (rng() % 3 == 0) {  // and now and then a raw edit: invalid text, duplicates, nesting
      const std::size_t pos = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body.insert(pos, kTokens[rng() % std::size(kTokens)]);
          break;
        case 1:
          body.insert(pos, body.substr(rng() % body.size(), rng() % 64));
          break;
        default:
          body.erase(pos, 1 + rng() % 8);
      }
    }
    const std::string hint = rng() % 3 == 0 ? std::string() : in.hint;
    const std::string tenant = rng() % 8 == 0 ? "forced" : "";
    const ingest_input ii{in.src->name, body, hint, {}, tenant};
    INFO(in.src->name << ": " << body);
    const auto a = detail::normalize_with(in.src->def, ii, lim);
    const auto b = detail::normalize_with(in.src->def, ii, lim, true);
    check_same_outcome(a, b);
    watched_fields f;
    if (f.scan(body, in.src->def.read_paths, lim.max_depth)) ++fast;
    if (!a.ok()) ++refused;
  }
  CHECK(fast > kRounds / 2);      // most edits leave valid text: the fast path answered
  CHECK(refused > kRounds / 10);  // and many are refusals, compared too
}

TEST_CASE("key_paths::child finds tokens of any length, long ones too", "[json_fields]") {
  key_paths paths;
  std::vector<int> nodes;
  for (const std::size_t len : {0, 1, 2, 62, 63, 64, 100}) {
    nodes.push_back(paths.add(*json_pointer::parse("/" + std::string(len, 'k'))));
  }
  const std::vector<std::size_t> lens = {0, 1, 2, 62, 63, 64, 100};
  for (std::size_t k = 0; k < lens.size(); ++k) {
    CHECK(paths.child(0, std::string(lens[k], 'k')) == nodes[k]);
    CHECK(paths.child(0, std::string(lens[k], 'j')) == (lens[k] == 0 ? nodes[k] : -1));
  }
  CHECK(paths.child(0, std::string(3, 'k')) == -1);
  CHECK(paths.child(0, std::string(65, 'k')) == -1);  // shares the size bit of 63 and more
  CHECK(paths.child(0, std::string(99, 'k')) == -1);
  CHECK(paths.add(*json_pointer::parse("/" + std::string(64, 'k'))) == nodes[5]);  // no new node
}

TEST_CASE("watched_fields: never looser than the full parse, on mutated bodies",
          "[json_fields]") {
  const watched w;
  const std::string body =
      R"({"id":"e-1","type":"order.updated","timestamp":1714564800,"tenant":"t\u00e9",)"
      R"("entity":{"kind":"order","id":42,"extra":{"a":[1,2,{"b":null}]}},)"
      R"("status":{"from":"open","to":"paid"},"test":false,)"
      R"("items":[{"sku":"A"},{"sku":"B"}],"data":{"amount":12.5,"note":"caf\u00e9 \"x\" ü €",)"
      R"("neg":-0.0e-5,"big":123456789012345678901234567890,"t":true,"n":null,"e":{},"z":[]}})";
  std::mt19937 rng(17);
  const std::string alphabet = "{}[]\",:\\/ 0123456789.eE+-tfnaul\x01\x7f\xC3\xA9\xED\xF0\x80";
  int answered = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = body;
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
    watched_fields f;
    if (!f.scan(text, w.paths, 64)) continue;
    ++answered;
    INFO(text);
    const json full = json::parse(text, nullptr, false);
    REQUIRE_FALSE(full.is_discarded());
    REQUIRE(full.is_object());
    for (std::size_t k = 0; k < kPointers.size(); ++k) {
      INFO(kPointers[k]);
      check_same(f.at(w.nodes[k]), json_pointer::parse(kPointers[k])->resolve(full));
    }
  }
  CHECK(answered > 100);  // the mutations left many bodies valid
}

TEST_CASE("normalize: a read of an object gives its type, not a pruned copy", "[json_fields]") {
  test::temp_dir dir;
  const std::string path = (dir / "acme.json").string();
  // /t is read as the type and /t/x as the event id: /t is an object on a watched path.
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

TEST_CASE(
    "json_fields: a full parse's values as fields, their type names and number text as nlohmann's",
    "[json_fields]") {
  const json doc = json::parse(
      R"({"s":"a\"b","i":-7,"u":18446744073709551615,"f":0.1,"b":true,"n":null,"a":[1],"o":{"x":1}})");
  watched_fields scanned;
  key_paths paths;
  std::vector<std::pair<std::string, int>> nodes;
  for (const char* p : {"/s", "/i", "/u", "/f", "/b", "/n", "/a", "/o", "/missing"})
    nodes.emplace_back(p, paths.add(*json_pointer::parse(p)));
  const std::string text = doc.dump();  // the views point into it
  REQUIRE(scanned.scan(text, paths, 16));
  for (const auto& [p, node] : nodes) {
    CAPTURE(p);
    const json* v = json_pointer::parse(p)->resolve(doc);
    const json_field f = to_json_field(v);
    if (v == nullptr || !v->is_structured())
      check_same(f, v);
    else
      CHECK(f.text.empty());  // no raw text on this path
    CHECK(f.type == scanned.at(node).type);
    CHECK(json_field_type_name(f) == (v ? json_type_name(*v) : std::string_view("null")));
    if (f.is_number()) CHECK(json_field_number_text(f) == v->dump());
  }
}
