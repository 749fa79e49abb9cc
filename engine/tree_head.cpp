#include "engine/tree_head.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/merkle_tree.hpp"
#include "engine/time_util.hpp"

namespace hooklog {
namespace {

class head_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.head"; }
  std::string message(int c) const override {
    switch (static_cast<head_errc>(c)) {
      case head_errc::success: return "success";
      case head_errc::bad_key: return "bad head signing key";
      case head_errc::io_failure: return "key file I/O failed";
      case head_errc::crypto_failure: return "OpenSSL failed";
      case head_errc::bad_head: return "malformed tree head";
    }
    return "unknown head error";
  }
};

error io_error(const std::string& what, const std::string& path) {
  return make_error(head_errc::io_failure, what + " " + path + ": " + std::strerror(errno));
}

std::string pem_of_public(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

result<void> create_key_file(const std::string& path) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY* k = nullptr;
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &k) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return make_error(head_errc::crypto_failure, "Ed25519 key generation failed");
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  EVP_PKEY_free(k);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string text(p, static_cast<std::size_t>(n));
  BIO_free(b);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? result<void>{} : io_error("cannot create key file", path);
  ::fchmod(fd, 0600);  // whatever the umask
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!written) {
    auto e = io_error("cannot write key file", path);
    ::unlink(path.c_str());
    return e;
  }
  return {};
}

}  // namespace

const std::error_category& head_category() noexcept {
  static head_category_impl c;
  return c;
}

std::string head_signed_text(const tree_head& h) {
  return "hooklog-tree-head/1\n" + std::to_string(h.tree_size) + "\n" + merkle::to_hex(h.root) +
         "\n" + std::to_string(h.timestamp) + "\n";
}

nlohmann::json head_to_json(const tree_head& h) {
  return {{"tree_size", h.tree_size},
          {"root_hash", merkle::to_hex(h.root)},
          {"timestamp", format_rfc3339(h.timestamp)},
          {"timestamp_us", h.timestamp},
          {"signature", base64_encode(std::string_view(
                            reinterpret_cast<const char*>(h.signature.data()), 64))}};
}

result<tree_head> head_from_json(const nlohmann::json& j) {
  auto bad = [](const char* field, const char* what) {
    error e = make_error(head_errc::bad_head, std::string("head: ") + field + " " + what);
    e.field = std::string("/") + field;
    return e;
  };
  if (!j.is_object()) return make_error(head_errc::bad_head, "head: not a JSON object");
  tree_head h;
  auto it = j.find("tree_size");
  if (it == j.end() || !it->is_number_integer() || (!it->is_number_unsigned() && *it < 0))
    return bad("tree_size", "must be an unsigned integer");
  h.tree_size = it->get<std::uint64_t>();
  it = j.find("root_hash");
  if (it == j.end() || !it->is_string() || !merkle::from_hex(it->get<std::string>(), h.root))
    return bad("root_hash", "must be 64 lowercase hex digits");
  it = j.find("timestamp_us");
  if (it == j.end() || !it->is_number_integer()) return bad("timestamp_us", "must be an integer");
  h.timestamp = it->get<std::int64_t>();
  it = j.find("signature");
  if (it == j.end() || !it->is_string()) return bad("signature", "must be base64 of 64 bytes");
  auto sig = base64_decode_canonical(it->get<std::string>());
  if (!sig || sig->size() != 64) return bad("signature", "must be base64 of 64 bytes");
  std::memcpy(h.signature.data(), sig->data(), 64);
  return h;
}

record head_record(const tree_head& h) {
  record r;
  r.kind = record_kind::tree_head;
  r.source = std::string(kHeadRecordSource);
  r.type = std::string(kHeadRecordType);
  r.entity_kind = std::string(kTreeHeadEntityKind);
  r.ref_seq = kHeadRefSeq;
  r.entity_id = std::to_string(h.tree_size);
  r.entity_id.insert(0, 20 - r.entity_id.size(), '0');  // entity order = size order = seq order
  r.body = head_to_json(h).dump();
  return r;
}

result<head_signer> head_signer::load(const std::string& key_file, const std::string& data_dir) {
  std::string path = key_file;
  if (path.empty()) {
    path = (std::filesystem::path(data_dir) / kHeadKeyFileName).string();
    if (auto r = create_key_file(path); !r) return r.err();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open head key file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  BIO* b = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  OPENSSL_cleanse(text.data(), text.size());
  if (!k)
    return make_error(head_errc::bad_key,
                      "head key file " + path + " is not a PEM private key (make one with "
                      "`openssl genpkey -algorithm ed25519`)");
  if (EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return make_error(head_errc::bad_key, "head key file " + path + " is not an Ed25519 key");
  }
  return from_key(k);
}

result<head_signer> head_signer::derive(std::string_view master_key) {
  if (master_key.empty())
    return make_error(head_errc::bad_key, "no master key to derive the head key from");
  static constexpr std::string_view kLabel = "hooklog tree head key v1";
  unsigned char seed[32];
  unsigned int len = sizeof seed;
  if (!HMAC(EVP_sha256(), master_key.data(), static_cast<int>(master_key.size()),
            reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size(), seed, &len) ||
      len != sizeof seed)
    return make_error(head_errc::crypto_failure, "cannot derive the head key");
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed);
  OPENSSL_cleanse(seed, sizeof seed);
  if (!k) return make_error(head_errc::crypto_failure, "cannot make the derived Ed25519 key");
  return from_key(k);
}

result<head_signer> head_signer::from_key(void* evp_pkey) {
  EVP_PKEY* k = static_cast<EVP_PKEY*>(evp_pkey);
  head_signer s;
  s.key_ = std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  std::size_t len = 32;
  if (EVP_PKEY_get_raw_public_key(k, s.public_raw_.data(), &len) != 1 || len != 32)
    return make_error(head_errc::crypto_failure, "cannot read the Ed25519 public key");
  s.public_pem_ = pem_of_public(k);
  return s;
}

result<void> head_signer::sign(tree_head& h) const {
  const std::string text = head_signed_text(h);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 64;
  const bool ok =
      ctx &&
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(key_.get())) == 1 &&
      EVP_DigestSign(ctx, h.signature.data(), &len,
                     reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1 &&
      len == 64;
  EVP_MD_CTX_free(ctx);
  if (!ok) return make_error(head_errc::crypto_failure, "Ed25519 signing failed");
  return {};
}

bool verify_head(const tree_head& h, const std::array<std::uint8_t, 32>& public_key) {
  EVP_PKEY* k =
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size());
  if (!k) return false;
  const std::string text = head_signed_text(h);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, k) == 1 &&
                  EVP_DigestVerify(ctx, h.signature.data(), 64,
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  return ok;
}

}  // namespace hooklog
