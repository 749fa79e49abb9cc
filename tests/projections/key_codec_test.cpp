// u16-length strings (projections/key_codec.hpp): the one encoding pending's and timelines'
// values use for endpoint ids, replay ids and statuses.
#include <catch2/catch.hpp>
#include <string>

#include "projections/key_codec.hpp"

using namespace hooklog::projections;

TEST_CASE("key codec: a u16-length string reads back as written, a longer one cut at 0xFFFF") {
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{300},
                                 std::size_t{0xFFFF}, std::size_t{0x10000}, std::size_t{70000}}) {
    INFO("size " << size);
    std::string s(size, 'x');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 26);
    const std::size_t kept = size < 0xFFFF ? size : 0xFFFF;
    std::string out = "head";
    keys::put_str16(out, s);
    keys::put_str16(out, "tail");
    CHECK(keys::str16_size(s) == 2 + kept);
    REQUIRE(out.size() == 4 + 2 + kept + 2 + 4);
    CHECK(keys::get_le<std::uint16_t>(out, 4) == kept);  // the length says what was kept
    std::size_t at = 4;
    auto back = keys::get_str16(out, at);
    REQUIRE(back);
    CHECK(*back == std::string_view(s).substr(0, kept));
    auto next = keys::get_str16(out, at);  // the next string is found where it was written
    REQUIRE(next);
    CHECK(*next == "tail");
    CHECK(at == out.size());
    // write_str16 into room made beforehand writes the same bytes.
    std::string room(keys::str16_size(s), '?');
    CHECK(keys::write_str16(room.data(), s) == room.data() + room.size());
    CHECK(room == out.substr(4, 2 + kept));
  }
  std::size_t at = 0;
  CHECK_FALSE(keys::get_str16(std::string_view("\x05\x00"
                                               "abc",
                                               5),
                              at));  // truncated
}
