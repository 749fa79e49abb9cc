// parse_json_text's errors: where (line and column) and a bounded excerpt of what was read, however
// long the token the parse stopped in.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "engine/json_text.hpp"
#include "engine/source.hpp"

using namespace hooklog;

namespace {

std::string parse_error(const std::string& text) {
  auto j = parse_json_text(text);
  REQUIRE_FALSE(j.ok());
  CHECK(j.err().code == make_error_code(source_errc::bad_json));
  return j.err().message;
}

}  // namespace

TEST_CASE("a parse error quotes at most the last 40 bytes of the token it stopped in",
          "[json_text]") {
  SECTION("a 900,000-byte string ended by an invalid byte") {
    const std::string msg = parse_error("\"" + std::string(900000, 'A') + "\xff\"");
    INFO(msg.substr(0, 300));
    CHECK(msg.size() < 300);
    CHECK(msg.rfind("invalid JSON at line 1, column 900002: ", 0) == 0);
    CHECK(msg.find("last read: '..." + std::string(39, 'A') + "\xff'") != std::string::npos);
  }
  SECTION("a long number out of range") {
    const std::string msg = parse_error("[1" + std::string(100000, '0') + "e999999]");
    INFO(msg.substr(0, 300));
    CHECK(msg.size() < 300);
    CHECK(msg.rfind("invalid JSON at line 1, column 2: ", 0) == 0);
    CHECK(msg.find("'..." + std::string(33, '0') + "e999999'") != std::string::npos);
  }
  SECTION("an object key: the quote ends before \"; expected\"") {
    const std::string msg = parse_error("{\"" + std::string(5000, 'K') + "\xff\": 1}");
    INFO(msg);
    CHECK(msg.size() < 300);
    CHECK(msg.find("last read: '..." + std::string(39, 'K') + "\xff'; expected string literal") !=
          std::string::npos);
  }
  SECTION("a cut never splits a UTF-8 character") {
    // 40 bytes before the closing quote is the second byte of the 2-byte 'é' (31 'D' and the
    // 8-byte escape of \x01 follow it): the excerpt starts after the character.
    const std::string msg =
        parse_error("\"" + std::string(100, 'B') + "\xc3\xa9" + std::string(31, 'D') + "\x01");
    INFO(msg);
    CHECK(msg.find('\xa9') == std::string::npos);
    CHECK(msg.find("last read: '..." + std::string(31, 'D') + "<U+0001>'") != std::string::npos);
  }
  SECTION("a short token is quoted whole") {
    CHECK(parse_error("{\"a\": nul}") ==
          "invalid JSON at line 1, column 10: syntax error while parsing value - invalid literal; "
          "last read: '\"a\": nul}'");
  }
}

TEST_CASE("a NUL byte is refused where it stands, not taken for the end of the text",
          "[json_text]") {
  // nlohmann's lexer ends the input at a NUL: everything after it went unread and was stored.
  CHECK(parse_error(std::string("{\"a\":1}\0 ]]] not json", 20)) ==
        "invalid JSON at line 1, column 8: a NUL byte (a control character must be escaped in a "
        "string, and is no JSON elsewhere)");
  CHECK(parse_error(std::string("{\n  \"a\": \"x\0y\"}", 15))
            .rfind("invalid JSON at line 2, column 10: a NUL byte", 0) == 0);
  CHECK(
      parse_json_text("{\"a\":\"x\\u0000y\"}").ok());  // escaped, it is a character like any other
}

TEST_CASE("same_json_text: the same text up to whitespace, member order and escapes",
          "[json_text]") {
  CHECK(same_json_text(R"({"a":1,"b":"A"})", "{ \"b\" : \"\\u0041\",\n \"a\": 1 }"));
  CHECK(same_json_text(R"({"n":18446744073709551617})", R"({"n": 18446744073709551617})"));
  // Numbers as written; every kind of its own; repeated keys counted, and never taken for
  // another key.
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{
           {R"({"n":1.0})", R"({"n":1})"},
           {R"({"n":0.1})", R"({"n":0.10000000000000001})"},
           {R"({"n":18446744073709551617})", R"({"n":18446744073709551616})"},
           {R"({"n":-1})", R"({"n":18446744073709551615})"},
           {R"({"n":"1"})", R"({"n":1})"},
           {R"({"n":5,"n":7})", R"({"n":7})"},
           {R"({"a":1,"a":2})", R"({"a":1,"a\u00001":2})"},
           {R"({"a":1,"a":2})", R"({"a":1,"d1:a":2})"},
       }) {
    INFO(a << " vs " << b);
    CHECK_FALSE(same_json_text(a, b));
  }
  CHECK_FALSE(same_json_text("{}", "{} x"));
  CHECK_FALSE(same_json_text(std::string("{}\0", 3), "{}"));
}
