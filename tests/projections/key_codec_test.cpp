// u16-length strings (projections/key_codec.hpp): the one encoding pending's and timelines'
// values use for endpoint ids, replay ids and statuses.
#include <catch2/catch.hpp>
#include <algorithm>
#include <string>
#include <vector>

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

TEST_CASE("key codec: write_str16_fixed writes what write_str16 does, in its room and no further") {
  // pending's inline values: 13 bytes held, 0 to 13 of them the string.
  constexpr std::size_t kN = 13;
  const char held[kN] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'};
  for (std::uint16_t n = 0; n <= kN; ++n) {
    INFO("n " << n);
    std::string want(keys::str16_size({held, n}), '\0');
    keys::write_str16(want.data(), {held, n});
    std::string room(want.size() + kN + 4, 'x');  // the str16's room, the spare, a guard
    char* end = keys::write_str16_fixed<kN>(room.data(), held, n);
    CHECK(end == room.data() + want.size());
    CHECK(room.substr(0, want.size()) == want);
    CHECK(room.substr(2 + kN) == std::string(room.size() - 2 - kN, 'x'));  // nothing past N
  }
}

TEST_CASE("key codec: the in-place writers give the bytes of the appending ones") {
  // timelines' apply() builds its key and value with them in one resize (into the bulk load's
  // runs directly); the state must stay byte for byte what the put_ functions wrote.
  std::string a;
  keys::put_part(a, "tenant-a");
  keys::put_part(a, "");
  keys::put_i64_be(a, -1'707'500'000'000'000);
  keys::put_i64_be(a, 42);
  keys::put_u64_be(a, 0x0102030405060708ull);
  keys::put_le<std::int64_t>(a, -5);
  keys::put_le<std::uint32_t>(a, 0xA1B2C3D4u);
  std::string b(keys::part_size("tenant-a") + keys::part_size("") + 8 + 8 + 8 + 8 + 4, '?');
  char* p = b.data();
  p = keys::write_part(p, "tenant-a");
  p = keys::write_part(p, std::string_view());  // no data(): nothing copied
  p = keys::write_i64_be(p, -1'707'500'000'000'000);
  p = keys::write_i64_be(p, 42);
  p = keys::write_u64_be(p, 0x0102030405060708ull);
  p = keys::write_le<std::int64_t>(p, -5);
  p = keys::write_le<std::uint32_t>(p, 0xA1B2C3D4u);
  CHECK(p == b.data() + b.size());
  CHECK(b == a);
  // The put_ functions now go through the writers, so both are also checked against the bytes
  // written out by hand: parts NUL-ended, i64 big-endian with the sign bit flipped, u64
  // big-endian, the le values little-endian.
  const unsigned char expected[] = {
      't',  'e',  'n',  'a',  'n',  't',  '-',  'a',  0x00, 0x00, 0x7F, 0xF9,
      0xEF, 0x09, 0xAD, 0x0B, 0xC8, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x2A, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xFB, 0xFF,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xD4, 0xC3, 0xB2, 0xA1};
  CHECK(a == std::string(reinterpret_cast<const char*>(expected), sizeof expected));
  CHECK(keys::get_i64_be(std::string_view(b).substr(10)) == -1'707'500'000'000'000);
  CHECK(keys::get_u64_be(std::string_view(b).substr(26)) == 0x0102030405060708ull);
}

TEST_CASE("compare_keys orders keys as their bytes do, within the head, past it and by size") {
  // Keys that differ inside the 32-byte head, only past it, only by a byte > 0x7F, and keys that
  // prefix others (zero padding must not make "a" equal "a\0"): the order of a plain byte sort.
  std::vector<std::string> ks = {"",
                                 std::string("a"),
                                 std::string("a\0", 2),
                                 std::string("a\0\0", 3),
                                 "ab",
                                 std::string(31, 'x'),
                                 std::string(32, 'x'),
                                 std::string(32, 'x') + "a",
                                 std::string(32, 'x') + "b",
                                 std::string(32, 'x') + std::string("\0", 1),
                                 std::string(40, 'x'),
                                 std::string(4, '\0') + "jelp-co" + std::string(1, '\0') + "ORD1",
                                 std::string(4, '\0') + "jelp-co" + std::string(1, '\0') + "ORD2",
                                 std::string(1, '\xff'),
                                 std::string("\x80z", 2)};
  auto sorted = ks;
  std::sort(sorted.begin(), sorted.end());
  std::sort(ks.begin(), ks.end(), [](const std::string& a, const std::string& b) {
    return keys::compare_keys(keys::head_of(a.data(), a.size()), a,
                              keys::head_of(b.data(), b.size()), b) < 0;
  });
  CHECK(ks == sorted);
  const std::string k(40, 'q');
  CHECK(keys::compare_keys(keys::head_of(k.data(), k.size()), k, keys::head_of(k.data(), k.size()),
                           k) == 0);
}
