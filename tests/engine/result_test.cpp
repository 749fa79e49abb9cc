// result<void>: a success holds no error; a failure's error survives copies and moves.
#include <catch2/catch.hpp>

#include <vector>

#include "engine/errc.hpp"
#include "engine/result.hpp"

using namespace hooklog;

namespace {
result<void> fail(const std::string& message) {
  return error{make_error_code(errc::invalid_record), message, "/id"};
}
}  // namespace

TEST_CASE("result<void>: a success has no error and an empty err()", "[result]") {
  result<void> r;
  CHECK(r.ok());
  CHECK(static_cast<bool>(r));
  CHECK(r.code() == std::error_code{});
  CHECK(r.err().message.empty());
  CHECK(r.err().field.empty());
  CHECK(!r.err().code);
}

TEST_CASE("result<void>: a failure keeps its code, message and field", "[result]") {
  auto r = fail("record: entity id too long");
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == make_error_code(errc::invalid_record));
  CHECK(r.err().message == "record: entity id too long");
  CHECK(r.err().field == "/id");
  CHECK(r.err().what() == "record: entity id too long");
}

TEST_CASE("result<void>: copies are deep, moves carry the error", "[result]") {
  auto a = fail("first");
  result<void> b = a;  // copy: both hold the error
  REQUIRE_FALSE(a.ok());
  REQUIRE_FALSE(b.ok());
  CHECK(&a.err() != &b.err());
  CHECK(b.err().message == "first");

  result<void> c;
  c = a;  // copy assignment over a success
  REQUIRE_FALSE(c.ok());
  CHECK(c.err().message == "first");
  c = result<void>();  // and back to a success
  CHECK(c.ok());
  CHECK(a.err().message == "first");  // the source is untouched

  result<void> d = std::move(b);
  REQUIRE_FALSE(d.ok());
  CHECK(d.err().message == "first");
  CHECK(d.code() == make_error_code(errc::invalid_record));

  const result<void>& same = a;
  a = same;  // self-assignment keeps the error
  REQUIRE_FALSE(a.ok());
  CHECK(a.err().message == "first");

  // In a container that reallocates, every element keeps its own state.
  std::vector<result<void>> v;
  for (int i = 0; i < 100; ++i) v.push_back(i % 3 == 0 ? fail(std::to_string(i)) : result<void>());
  for (int i = 0; i < 100; ++i) {
    CHECK(v[i].ok() == (i % 3 != 0));
    if (i % 3 == 0) CHECK(v[i].err().message == std::to_string(i));
  }
}
