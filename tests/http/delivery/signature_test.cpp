#include <catch2/catch.hpp>

#include "engine/secret_box.hpp"

#include <vector>

#include "http/delivery/signature.hpp"

using namespace hooklog::http;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTs = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kExpected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
}  // namespace

TEST_CASE("base64 round trip and rejection", "[signature]") {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff\x10", 3)}) {
    auto enc = base64_encode(s);
    auto dec = base64_decode(enc);
    REQUIRE(dec);
    CHECK(*dec == s);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("Zm9"));
  CHECK_FALSE(base64_decode("Zm9v YmFy"));
  CHECK_FALSE(base64_decode("Zm9*"));
}

TEST_CASE("Standard Webhooks test vector", "[signature]") {
  CHECK(sign_v1(kSecret, kId, kTs, kBody) == kExpected);
  // The whsec_ prefix is optional.
  CHECK(sign_v1("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", kId, kTs, kBody) == kExpected);
  CHECK(verify_v1(kSecret, kId, kTs, kBody, kExpected));
}

TEST_CASE("tampered messages fail verification", "[signature]") {
  CHECK_FALSE(verify_v1(kSecret, kId, kTs, R"({"test": 2432232315})", kExpected));
  CHECK_FALSE(verify_v1(kSecret, "msg_other", kTs, kBody, kExpected));
  CHECK_FALSE(verify_v1(kSecret, kId, kTs + 1, kBody, kExpected));
  CHECK_FALSE(verify_v1(hooklog::generate_secret(), kId, kTs, kBody, kExpected));
  CHECK_FALSE(verify_v1(kSecret, kId, kTs, kBody, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
  CHECK_FALSE(verify_v1(kSecret, kId, kTs, kBody, "v1,not-base64"));
  CHECK_FALSE(verify_v1(kSecret, kId, kTs, kBody, ""));
  CHECK_FALSE(verify_v1("whsec_%%%", kId, kTs, kBody, kExpected));
  CHECK_THROWS_AS(sign_v1("whsec_%%%", kId, kTs, kBody), std::invalid_argument);
}

TEST_CASE("several signatures during rotation", "[signature]") {
  std::string other = sign_v1(hooklog::generate_secret(), kId, kTs, kBody);
  CHECK(verify_v1(kSecret, kId, kTs, kBody, other + " " + kExpected));
  CHECK(verify_v1(kSecret, kId, kTs, kBody, std::string(kExpected) + " " + other));
  CHECK(verify_v1(kSecret, kId, kTs, kBody, "v1a,xyz " + std::string(kExpected)));
  CHECK_FALSE(verify_v1(kSecret, kId, kTs, kBody, other));
}

TEST_CASE("generated secrets are usable and distinct", "[signature]") {
  auto a = hooklog::generate_secret(), b = hooklog::generate_secret();
  CHECK(a != b);
  CHECK(a.rfind("whsec_", 0) == 0);
  REQUIRE(decode_secret(a));
  CHECK(decode_secret(a)->size() >= 24);  // Standard Webhooks: 24 to 64 random bytes
  CHECK(decode_secret(a)->size() <= 64);
  CHECK(verify_v1(a, "id", 1, "x", sign_v1(a, "id", 1, "x")));
}

TEST_CASE("timestamp tolerance", "[signature]") {
  CHECK(timestamp_fresh(1000, 1000));
  CHECK(timestamp_fresh(1000, 1300));
  CHECK_FALSE(timestamp_fresh(1000, 1301));
  CHECK_FALSE(timestamp_fresh(1301, 1000));
}
