// engine/utf8.hpp and find_text_fault (engine/source.hpp): the UTF-8 table the JSON scanner and
// the checks of a URL's ?type= and an Idempotency-Key header share.
#include <catch2/catch.hpp>

#include <string>

#include "engine/source.hpp"
#include "engine/utf8.hpp"

using namespace hooklog;

TEST_CASE("utf8::find_invalid finds the first byte that does not begin a well-formed sequence",
          "[engine][utf8]") {
  constexpr auto npos = std::string_view::npos;
  CHECK(utf8::find_invalid("") == npos);
  CHECK(utf8::find_invalid("plain ascii") == npos);
  CHECK(utf8::find_invalid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF") == npos);
  CHECK(utf8::find_invalid("ab\xFF") == 2);               // never in UTF-8
  CHECK(utf8::find_invalid("a\x80") == 1);                // a stray continuation byte
  CHECK(utf8::find_invalid("x\xC0\x80") == 1);            // overlong NUL
  CHECK(utf8::find_invalid("\xE0\x80\x80") == 0);         // overlong three-byte form
  CHECK(utf8::find_invalid("ok\xED\xA0\x80") == 2);       // a UTF-16 surrogate
  CHECK(utf8::find_invalid("\xF4\x90\x80\x80") == 0);     // past U+10FFFF
  CHECK(utf8::find_invalid("\xE2\x82") == 0);             // cut short
  CHECK(utf8::find_invalid("\xC3\xA9\xC3") == 2);         // cut short after a good one
}

TEST_CASE("find_text_fault names a control character first, then a byte that is not UTF-8",
          "[engine][utf8]") {
  CHECK_FALSE(find_text_fault("order.created"));
  CHECK_FALSE(find_text_fault("caf\xC3\xA9"));
  CHECK(find_text_fault(std::string("a\0b", 3)) ==
        "the control character U+0000 at byte 1; control characters are not allowed");
  CHECK(find_text_fault("\xFF\x7F") ==
        "the control character U+007F at byte 1; control characters are not allowed");
  CHECK(find_text_fault("key-\xFE") == "the byte 0xFE at byte 4, which is not UTF-8; text must be UTF-8");
}
