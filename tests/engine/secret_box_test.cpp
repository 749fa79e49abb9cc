#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "engine/secret_box.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::temp_dir;

namespace {
const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
}

TEST_CASE("secret_box: seal/open round trip with a fresh nonce each time", "[secret_box]") {
  auto box = secret_box::from_key_text(kHexKey);
  REQUIRE(box);
  const std::string plain = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  auto a = box->seal(plain), b = box->seal(plain);
  CHECK(secret_box::is_sealed(a));
  CHECK(a != b);  // random nonce
  CHECK(a.find(plain) == std::string::npos);
  auto back = box->open(a);
  REQUIRE(back);
  CHECK(*back == plain);
  CHECK(*box->open(b) == plain);
  CHECK(*box->open(box->seal("")) == "");
  CHECK(*box->open_or_plain(plain) == plain);
  CHECK(*box->open_or_plain(a) == plain);
}

TEST_CASE("secret_box: tampered ciphertext and wrong key are refused", "[secret_box]") {
  auto box = secret_box::from_key_text(kHexKey);
  REQUIRE(box);
  auto sealed = box->seal("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0");
  for (std::size_t pos = kSealedPrefix.size(); pos < sealed.size(); pos += 5) {
    std::string t = sealed;
    t[pos] = t[pos] == 'A' ? 'B' : 'A';
    auto r = box->open(t);
    CHECK_FALSE(r);
  }
  auto other = secret_box::from_key_text(std::string(64, 'f'));
  REQUIRE(other);
  auto r = other->open(sealed);
  REQUIRE_FALSE(r);
  CHECK(r.code() == secret_errc::tampered);
  CHECK(box->open("whsec_plain").code() == secret_errc::not_sealed);
  CHECK(box->open("enc:v1:QUJD").code() == secret_errc::not_sealed);
}

TEST_CASE("secret_box: key text forms", "[secret_box]") {
  CHECK(secret_box::from_key_text(kHexKey));
  CHECK(secret_box::from_key_text("  " + kHexKey + "\n"));
  // base64 of the same 32 bytes opens what the hex key sealed
  auto hex = secret_box::from_key_text(kHexKey);
  auto b64 = secret_box::from_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  REQUIRE(b64);
  CHECK(*b64->open(hex->seal("x")) == "x");
  CHECK(secret_box::from_key_text("short").code() == secret_errc::bad_key);
  CHECK(secret_box::from_key_text(std::string(64, 'g')).code() == secret_errc::bad_key);
  CHECK(secret_box::from_key_text("").code() == secret_errc::bad_key);
}

TEST_CASE("secret_box: key file created with mode 0600 and reused", "[secret_box]") {
  temp_dir dir;
  auto a = secret_box::load("", dir.path());
  REQUIRE(a);
  const std::string path = (dir / "secret.key").string();
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto sealed = a->seal("whsec_abc");
  auto b = secret_box::load("", dir.path());  // same file, same key
  REQUIRE(b);
  CHECK(*b->open(sealed) == "whsec_abc");
  // A configured key wins over the file.
  auto c = secret_box::load(kHexKey, dir.path());
  REQUIRE(c);
  CHECK_FALSE(c->open(sealed));
  // Unsafe permissions are refused.
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto d = secret_box::from_key_file(path);
  REQUIRE_FALSE(d);
  CHECK(d.code() == secret_errc::key_file);
  CHECK(d.err().message.find("chmod 600") != std::string::npos);
  // No creation when asked not to.
  CHECK(secret_box::from_key_file((dir / "absent.key").string(), false).code() == secret_errc::key_file);
}

TEST_CASE("generate_secret: whsec_ + base64 of 32 random bytes", "[secret_box]") {
  auto s = generate_secret();
  CHECK(s.rfind("whsec_", 0) == 0);
  CHECK(s.size() == 6 + 44);
  CHECK(generate_secret() != s);
  CHECK(generate_secret(24).size() == 6 + 32);
  CHECK(generate_secret(64).size() == 6 + 88);
  CHECK(generate_secret(1).size() == 6 + 32);  // clamped to 24
}

TEST_CASE("seal_bytes/open_bytes bind the associated data, derive gives a key of its own",
          "[secret_box]") {
  auto box = secret_box::from_key_text(std::string(64, 'a'));
  REQUIRE(box);
  const std::string blob = box->seal_bytes("position", "scope-a");
  CHECK(blob.size() == 12 + 8 + 16);
  CHECK(*box->open_bytes(blob, "scope-a") == "position");
  CHECK(box->open_bytes(blob, "scope-b").code() == secret_errc::tampered);
  std::string flipped = blob;
  flipped[14] ^= 1;
  CHECK(box->open_bytes(flipped, "scope-a").code() == secret_errc::tampered);
  CHECK(box->open_bytes(blob.substr(0, 27), "scope-a").code() == secret_errc::not_sealed);
  // A derived key opens what it sealed, and nothing the master sealed (nor the other way).
  const secret_box cursors = box->derive("hooklog-cursor/v1");
  CHECK(cursors.open_bytes(blob, "scope-a").code() == secret_errc::tampered);
  CHECK(*cursors.open_bytes(cursors.seal_bytes("x", "s"), "s") == "x");
  CHECK(box->open_bytes(cursors.seal_bytes("x", "s"), "s").code() == secret_errc::tampered);
  // The same label derives the same key (every node of a cell opens the others' cursors).
  CHECK(*box->derive("hooklog-cursor/v1").open_bytes(cursors.seal_bytes("y", "s"), "s") == "y");
  // The "enc:v1:" form is unchanged by the refactoring: it opens as before.
  CHECK(*box->open(box->seal("whsec_x")) == "whsec_x");
}
