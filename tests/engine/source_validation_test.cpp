// Refusals: invalid JSON (with line and column), limits, missing fields, wrong types,
// unknown sources, malformed source files. Nothing is normalized for any of them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include <openssl/sha.h>

#include "engine/bytes.hpp"
#include "engine/json_text.hpp"
#include "source_test_util.hpp"

using namespace hooklog;
using hooklog::test::read_file;
using hooklog::test::sample_path;
using hooklog::test::sources;

namespace {

std::string bad_example(const std::string& source, const std::string& name) {
  return read_file(std::string(HOOKLOG_DATA_DIR) + "/bad-examples/" + source + "/" + name + ".txt");
}

error refused(std::string_view source, std::string_view body, std::string_view hint = {},
              const normalize_limits& lim = {}) {
  auto ev = sources().normalize({source, body, hint, {}, {}}, lim);
  REQUIRE_FALSE(ev.ok());
  return ev.err();
}

}  // namespace

TEST_CASE("the seeds' invalid examples are refused with their position", "[source][bad]") {
  struct bad {
    const char* source;
    const char* name;
    const char* hint;
    const char* where;  // "line L, column C"
    const char* reason;
  };
  const bad cases[] = {
      // folio_update: missing comma after fullAddress (and a brace) in "destiny".
      {"jelp", "folio_update", "folio_update", "line 106, column 13", "unexpected string literal"},
      // A // comment after the last member.
      {"jelp", "order_update--complete_order", "", "line 13, column 25", "invalid literal"},
      {"jelp", "order_update--status_change", "order_update:status_change", "line 9, column 25",
       "invalid literal"},
      // JavaScript object keys without quotes.
      {"jelp", "order_update--comment", "order_update:comment", "line 2, column 6",
       "expected string literal"},
      {"jelp", "order_update--decline_cancel_request", "order_update:decline_cancel_request",
       "line 2, column 9", "expected string literal"},
      {"jelp", "order_update--tracking", "order_update:tracking", "line 2, column 11",
       "expected string literal"},
      // documents: [{uri: ..., typeFile: 'label'}]
      {"crowdsender", "trackingUpdated", "", "line 15, column 16", "expected string literal"},
      // A trailing comma before '}'.
      {"crowdsender", "statusUpdated", "", "line 14, column 1", "unexpected '}'"},
      {"crowdsender", "sendDateUpdated", "", "line 14, column 1", "unexpected '}'"},
      // A typographic quote closing "source” (the column counts characters, not bytes).
      {"crowdsender", "courierUpdated", "", "line 6, column 12", "expected ':'"},
      // The outer object is never closed.
      {"crowdsender", "destinationAddressUpdated", "", "line 45, column 1",
       "unexpected end of input"},
  };
  for (const bad& b : cases) {
    INFO(b.source << "/" << b.name);
    const std::string body = bad_example(b.source, b.name);
    const error e = refused(b.source, body, b.hint);
    CHECK(e.code == source_errc::bad_json);
    CHECK_THAT(e.message, Catch::StartsWith(std::string("invalid JSON at ") + b.where + ": "));
    CHECK_THAT(e.message, Catch::Contains(b.reason));
  }
}

// The bad examples were copied from the platforms' documentation (the seeds) byte for byte; their
// SHA-256 fingerprints were taken from that text when they were committed. The suite reads only the
// repository: a changed or added example fails here until its fingerprint is updated on purpose.
TEST_CASE("the committed bad examples keep the fingerprints taken from the seeds", "[source][bad]") {
  const std::map<std::string, std::string> fingerprints = {
      {"crowdsender/courierUpdated.txt",
       "53a71197e772f0ae0e48a266fdc2c3c349fe05401b97ce605ffb1a97b520848b"},
      {"crowdsender/destinationAddressUpdated.txt",
       "2b16e4a7c876f39fcb815b039250bb35e1bc2bc5257dc424effd4696a193e84a"},
      {"crowdsender/sendDateUpdated.txt",
       "4bd14c2c7249c28bf723af88e59d9e59b9699bdfbeaff29b759feb1ce8f336fb"},
      {"crowdsender/statusUpdated.txt",
       "0ef5d8ffce8d43d864b99dacd2589cb75ef5bb9c89d1e3c60ebf96600d25d4e3"},
      {"crowdsender/trackingUpdated.txt",
       "6be41d082c446f242b821d024485487301c01baeb99ec091ce54329d3f0a0d2f"},
      {"jelp/folio_update.txt",
       "791f4e5242272ef6fc264ddc1df90332bbdc9cec7a940c56aba62c33f94b66c7"},
      {"jelp/order_update--comment.txt",
       "4e2b7c4a9874e708690be8c5be8331f1117209680891581840085063b933680d"},
      {"jelp/order_update--complete_order.txt",
       "ffbe06667447962a10e9950f6fbb8444a92547c2106ef02678ac97276d23b9aa"},
      {"jelp/order_update--decline_cancel_request.txt",
       "d82a41b4456474ad90c8a4243c32962085616a42a3fcd061f6a1576fcd507ee0"},
      {"jelp/order_update--status_change.txt",
       "87debb02fd5c9892e421f70f3561f97c00c3630937057d1992ecded108cf678a"},
      {"jelp/order_update--tracking.txt",
       "e15028fd59ac6b6d048af916d44e8f0e6af262c0556247ac82d11b295e5ab00d"},
  };
  namespace fs = std::filesystem;
  std::map<std::string, std::string> found;
  for (const auto& dir : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/bad-examples")) {
    for (const auto& f : fs::directory_iterator(dir.path())) {
      const std::string text = read_file(f.path().string());
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
      found[dir.path().filename().string() + "/" + f.path().filename().string()] =
          bytes::to_hex(digest, sizeof digest);
    }
  }
  CHECK(found == fingerprints);
}

TEST_CASE("line and column positions", "[source][bad]") {
  CHECK(position_at("ab\ncd", 0).line == 1);
  CHECK(position_at("ab\ncd", 4).line == 2);
  CHECK(position_at("ab\ncd", 4).column == 2);
  CHECK(position_at("\xC3\xA9x", 2).column == 2);  // "é" is one column
  const auto e = refused("standard", "{\n  \"type\": \"a\",\n  \"id\": tru\n}");
  CHECK(e.code == source_errc::bad_json);
  CHECK_THAT(e.message, Catch::StartsWith("invalid JSON at line 3, column"));
  const auto big = refused("standard", "{\"type\": \"a\",\n \"n\": -1e999}");
  CHECK(big.code == source_errc::bad_json);
  CHECK(big.message == "invalid JSON at line 2, column 7: number overflow parsing '-1e999'");
  CHECK(refused("standard", "").message.rfind("invalid JSON at line 1, column 1: ", 0) == 0);
}

TEST_CASE("limits: body size and nesting depth", "[source][limits]") {
  std::string big = R"({"type":"x","data":")";
  big.append(2u << 20, 'a');
  big += "\"}";
  CHECK(refused("standard", big).code == source_errc::body_too_large);

  std::string deep = R"({"type":"x","data":)";
  for (int i = 0; i < 200; ++i) deep += '[';
  for (int i = 0; i < 200; ++i) deep += ']';
  deep += '}';
  const error e = refused("standard", deep);
  CHECK(e.code == source_errc::too_deep);
  CHECK_THAT(e.message, Catch::Contains("line 1, column 83"));  // the 65th opening bracket

  // Exactly at the limit is fine; brackets inside strings do not count.
  std::string ok = R"({"type":"x","s":"[[[[{{{{","data":)";
  for (int i = 0; i < 63; ++i) ok += '[';
  for (int i = 0; i < 63; ++i) ok += ']';
  ok += '}';
  CHECK(sources().normalize({"standard", ok, {}, {}, {}}).ok());

  normalize_limits small;
  small.max_body_bytes = 10;
  CHECK(refused("standard", R"({"type":"abcdef"})", {}, small).code == source_errc::body_too_large);
}

TEST_CASE("missing fields say which and for what", "[source][fields]") {
  std::string body = read_file(sample_path("eudr", "dds.submitted"));
  body.replace(body.find("\"ddsNumber\""), 11, "\"ddsNumbr\"");
  error e = refused("eudr", body);
  CHECK(e.code == source_errc::missing_field);
  CHECK(e.message == "missing required field /data/ddsNumber for dds.submitted");

  // null counts as missing
  e = refused("jelp", R"({"folio":null,"queueName":"comment","workspace":"jelp"})");
  CHECK(e.code == source_errc::missing_field);
  CHECK(e.message == "missing required field /folio for order_update:comment");

  // No type anywhere: refused, never an event without a type.
  e = refused("jelp", R"({"folio":"AIEW902A","workspace":"jelp"})");
  CHECK(e.code == source_errc::missing_field);
  CHECK(e.message == "missing event type: none of /queueName, ?type= gives one");
}

TEST_CASE("wrong types say which field, what was expected and what came", "[source][fields]") {
  error e = refused("jelp", R"({"folio":12345,"queueName":"comment","workspace":"jelp"})");
  CHECK(e.code == source_errc::wrong_type);
  CHECK(e.message == "field /folio must be a string, got number");

  e = refused("eudr", R"({"event":["dds.submitted"],"data":{}})");
  CHECK(e.code == source_errc::wrong_type);
  CHECK(e.message == "field /event must be a string, got array");

  e = refused("crowdsender",
              R"({"type":"statusUpdated","liveMode":"yes","data":{"orderId":"o1"}})");
  CHECK(e.code == source_errc::wrong_type);
  CHECK(e.message == "field /liveMode must be a boolean, got string");

  e = refused("eudr", R"({"event":"sync.completed","timestamp":"yesterday","data":{}})");
  CHECK(e.code == source_errc::wrong_type);
  CHECK(e.message == "field /timestamp must be an RFC 3339 time, got \"yesterday\"");

  e = refused("lynxo", R"({"event":"job.created","data":{"id":{"n":1}}})");
  CHECK(e.code == source_errc::wrong_type);
  CHECK(e.message == "field /data/id must be a string or an integer, got object");

  const std::string long_id(300, 'x');
  e = refused("jelp", R"({"folio":")" + long_id + R"(","queueName":"comment"})");
  CHECK(e.code == source_errc::wrong_type);
  CHECK_THAT(e.message, Catch::Contains("field /folio is 300 bytes long"));
}

TEST_CASE("other refusals", "[source]") {
  CHECK(refused("nope", "{}").code == source_errc::unknown_source);
  CHECK(refused("standard", "[1,2]").code == source_errc::not_an_object);
  CHECK(refused("standard", "\"x\"").message == "the body must be a JSON object, got string");
  CHECK(std::error_code(source_errc::too_deep).message() == "JSON nested too deeply");
  CHECK(std::error_code(source_errc::too_deep).category().name() == std::string("hooklog.source"));
}

namespace {

std::string write_source(const std::filesystem::path& dir, const std::string& name,
                         const std::string& text) {
  std::filesystem::create_directories(dir);
  const auto p = dir / (name + ".json");
  std::ofstream(p) << text;
  return p.string();
}

error load_error(const std::string& text, const std::string& name = "acme") {
  const auto dir = std::filesystem::temp_directory_path() / "hooklog-source-files";
  std::filesystem::remove_all(dir);
  write_source(dir, name, text);
  auto reg = source_registry::load_dir(dir.string());
  std::filesystem::remove_all(dir);
  REQUIRE_FALSE(reg.ok());
  CHECK(reg.err().code == source_errc::bad_source_file);
  return reg.err();
}

}  // namespace

TEST_CASE("a malformed source file stops the load, naming the file and the field",
          "[source][files]") {
  const std::string head = R"({"source":"acme","type":"/type","events":[)";
  struct bad {
    std::string text, expect;
  };
  const bad cases[] = {
      {"{\"source\": \"acme\",\n \"type\" \"/t\"}", "acme.json: invalid JSON at line 2, column 12"},
      {R"({"source":"acme","events":[]})", "acme.json: /type: missing"},
      {R"({"source":"other","type":"/t","events":[]})", "acme.json: /source: is \"other\""},
      {R"({"source":"acme","type":"t","events":[]})", "acme.json: /type: not a valid JSON pointer"},
      {R"({"source":"acme","type":[{"pointer":"/t"},{"hint":false}],"events":[]})",
       "acme.json: /type/1/hint: must be true"},
      {R"({"source":"acme","type":"/t","tenant":{"hint":true},"events":[]})",
       "acme.json: /tenant/hint: the URL hint applies only to \"type\""},
      {R"({"source":"acme","type":"/t","events":[],"tenants":"/x"})",
       "acme.json: /tenants: unknown key"},
      {head + R"({"type":"a"}]})", "acme.json: /events/0/description: must be a non-empty string"},
      {head + R"({"type":"a","description":"x"},{"type":"a","description":"y"}]})",
       "acme.json: /events/1/type: duplicate type \"a\""},
      {head + R"(],"rules":[{"match":"*","entity":{"kind":"order","id":"folio"}}]})",
       "acme.json: /rules/0/entity/id: not a valid JSON pointer"},
      {head + R"(],"rules":[{"match":"*","entity":{"id":"/folio"}}]})",
       "acme.json: /rules/0/entity/kind: must be a non-empty string"},
      {head + R"(],"rules":[{"match":["a","b*c"]}]})",
       "acme.json: /rules/0/match/1: '*' is allowed only at the end"},
      {head + R"(],"rules":[{"match":"a","status":{"to":{"pointer":"/s","accept":["text"]}}}]})",
       "acme.json: /rules/0/status/to/accept/0: must be one of"},
      {head + R"(],"rules":[{"match":"a","required":["x"]}]})",
       "acme.json: /rules/0/required/0: must be a non-empty JSON pointer"},
      {R"({"source":"acme","type":"/t","test_mode":{"pointer":"/live"},"events":[]})",
       "acme.json: /test_mode/equals: must be a string, number or boolean"},
  };
  for (const bad& b : cases) {
    INFO(b.text);
    const error e = load_error(b.text);
    CHECK_THAT(e.message, Catch::Contains(b.expect));
  }
  CHECK(source_registry::load_dir("/nonexistent/hooklog").err().code ==
        source_errc::bad_source_file);
}
