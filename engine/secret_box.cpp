#include "engine/secret_box.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "engine/bytes.hpp"

namespace hooklog {

namespace {

constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::string_view kAad = "hooklog-secret/v1";

class secret_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.secret"; }
  std::string message(int c) const override {
    switch (static_cast<secret_errc>(c)) {
      case secret_errc::success: return "success";
      case secret_errc::bad_key: return "bad master key";
      case secret_errc::key_file: return "key file problem";
      case secret_errc::not_sealed: return "value is not a sealed secret";
      case secret_errc::tampered: return "sealed secret does not verify";
      case secret_errc::crypto_failure: return "crypto failure";
    }
    return "unknown secret error";
  }
};

std::string b64_encode(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::string> b64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  for (char c : in)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (len < 0) return std::nullopt;
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(len) - pad);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

error sys_error(const std::string& what, const std::string& path) {
  return make_error(secret_errc::key_file, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

const std::error_category& secret_category() noexcept {
  static const secret_category_impl c;
  return c;
}

secret_box::~secret_box() { OPENSSL_cleanse(key_.data(), key_.size()); }

result<secret_box> secret_box::from_key_text(std::string_view text) {
  text = trim(text);
  key_bytes key{};
  if (text.size() == 2 * kMasterKeyBytes) {
    bool ok = true;
    for (std::size_t i = 0; i < kMasterKeyBytes && ok; ++i) {
      int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    if (ok) return secret_box(key);
  }
  if (auto raw = b64_decode(text); raw && raw->size() == kMasterKeyBytes) {
    std::memcpy(key.data(), raw->data(), kMasterKeyBytes);
    OPENSSL_cleanse(raw->data(), raw->size());
    return secret_box(key);
  }
  return make_error(secret_errc::bad_key,
                    "master key must be 64 hex digits or base64 of 32 bytes (got " +
                        std::to_string(text.size()) + " characters)");
}

result<secret_box> secret_box::from_key_file(const std::string& path, bool create) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT && create) {
    key_bytes key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
      return make_error(secret_errc::crypto_failure, "RAND_bytes failed");
    std::string text = bytes::to_hex(key.data(), key.size()) + "\n";
    int wfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (wfd < 0) {
      if (errno != EEXIST) return sys_error("cannot create key file", path);
      // Lost a race with another creator: read theirs below.
    } else {
      ::fchmod(wfd, 0600);  // whatever the umask
      bool ok = ::write(wfd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                ::fsync(wfd) == 0;
      ::close(wfd);
      OPENSSL_cleanse(text.data(), text.size());
      if (!ok) {
        auto e = sys_error("cannot write key file", path);
        ::unlink(path.c_str());
        return e;
      }
      return secret_box(key);
    }
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return sys_error("cannot open key file", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto e = sys_error("cannot stat key file", path);
    ::close(fd);
    return e;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(secret_errc::key_file, "key file " + path + " is accessible by group or others (mode " +
                                                 mode + "); chmod 600 it");
  }
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 0) return sys_error("cannot read key file", path);
  auto box = from_key_text(std::string_view(buf, static_cast<std::size_t>(n)));
  OPENSSL_cleanse(buf, sizeof buf);
  if (!box) return make_error(secret_errc::bad_key, "key file " + path + ": " + box.err().message);
  return box;
}

result<secret_box> secret_box::load(std::string_view configured_key, const std::string& data_dir) {
  if (!trim(configured_key).empty()) return from_key_text(configured_key);
  return from_key_file(data_dir + "/" + kSecretKeyFileName, true);
}

std::string secret_box::seal_bytes(std::string_view plain, std::string_view aad) const {
  std::string blob(kNonceBytes + plain.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(blob.data());
  if (RAND_bytes(out, static_cast<int>(kNonceBytes)) != 1) throw std::runtime_error("RAND_bytes failed");
  ctx_ptr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), out) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out + kNonceBytes, &len,
                              reinterpret_cast<const unsigned char*>(plain.data()),
                              static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), out + kNonceBytes + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                out + kNonceBytes + plain.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return blob;
}

result<std::string> secret_box::open_bytes(std::string_view blob, std::string_view aad) const {
  if (blob.size() < kNonceBytes + kTagBytes)
    return make_error(secret_errc::not_sealed, "sealed value is shorter than a nonce and a tag");
  const auto* in = reinterpret_cast<const unsigned char*>(blob.data());
  std::size_t clen = blob.size() - kNonceBytes - kTagBytes;
  std::string plain(clen, '\0');
  unsigned char tag[kTagBytes];
  std::memcpy(tag, in + kNonceBytes + clen, kTagBytes);  // SET_TAG takes a non-const pointer
  ctx_ptr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), in) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                              in + kNonceBytes, static_cast<int>(clen)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1;
  if (!ok) return make_error(secret_errc::crypto_failure, "AES-256-GCM decryption setup failed");
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return make_error(secret_errc::tampered,
                      "sealed value does not verify (wrong key or altered bytes)");
  }
  return plain;
}

std::string secret_box::key_check(std::string_view label) const {
  const secret_box check = derive(label);
  return bytes::to_hex(check.key_.data(), check.key_.size());
}

secret_box secret_box::derive(std::string_view label) const {
  key_bytes sub{};
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
            reinterpret_cast<const unsigned char*>(label.data()), label.size(), sub.data(), &n) ||
      n != sub.size())
    throw std::runtime_error("HMAC-SHA256 key derivation failed");
  secret_box box(sub);
  OPENSSL_cleanse(sub.data(), sub.size());
  return box;
}

std::string secret_box::seal(std::string_view plain) const {
  const std::string blob = seal_bytes(plain, kAad);
  return std::string(kSealedPrefix) +
         b64_encode(reinterpret_cast<const unsigned char*>(blob.data()), blob.size());
}

result<std::string> secret_box::open(std::string_view sealed) const {
  if (!is_sealed(sealed))
    return make_error(secret_errc::not_sealed, "value does not start with enc:v1:");
  auto blob = b64_decode(sealed.substr(kSealedPrefix.size()));
  if (!blob || blob->size() < kNonceBytes + kTagBytes)
    return make_error(secret_errc::not_sealed,
                      "sealed secret is not valid base64 of nonce|ciphertext|tag");
  auto plain = open_bytes(*blob, kAad);
  if (!plain && plain.err().code == make_error_code(secret_errc::tampered))
    return make_error(secret_errc::tampered,
                      "sealed secret does not verify (wrong master key or altered bytes)");
  return plain;
}

result<std::string> secret_box::open_or_plain(std::string_view value) const {
  if (!is_sealed(value)) return std::string(value);
  return open(value);
}

std::string generate_secret(std::size_t random_bytes) {
  if (random_bytes < 24) random_bytes = 24;
  if (random_bytes > 64) random_bytes = 64;
  unsigned char buf[64];
  if (RAND_bytes(buf, static_cast<int>(random_bytes)) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string s = "whsec_" + b64_encode(buf, random_bytes);
  OPENSSL_cleanse(buf, sizeof buf);
  return s;
}

}  // namespace hooklog
