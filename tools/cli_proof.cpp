// hooklog proof verify BUNDLE [--public-key KEY]
// hooklog proof consistency OLD_HEAD NEW_HEAD --server URL [--key KEY] [--public-key KEY]
// Offline check of an audit bundle (engine/audit_bundle.hpp), and the check that a newer signed
// tree head extends an older one (RFC 9162 consistency proof from the server). docs/AUDIT.md.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/audit_bundle.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/tree_head.hpp"
#include "tools/cli_common.hpp"
#include "tools/cli_public_key.hpp"

namespace hooklog::cli {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --public-key, or none.
std::optional<public_key> parse_key(const std::string& given) {
  if (given.empty()) return std::nullopt;
  auto k = public_key_arg(given);
  if (!k) throw usage_error("--public-key must be base64 of a 32-byte Ed25519 key (or a file with it)");
  return k;
}

// A head file: a head's JSON, or a bundle (its head).
result<tree_head> read_head(const std::string& path) {
  auto text = read_file(path);
  if (!text) return make_error(head_errc::io_failure, "cannot read " + path);
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_object() && j.contains("head") && j.contains("format")) j = j["head"];
  auto h = head_from_json(j);
  if (!h) return make_error(head_errc::bad_head, path + ": " + h.err().message);
  return h;
}

int proof_verify(int argc, char** argv) {
  auto app = make_app("proof verify",
                      "Checks an audit bundle offline: the head's Ed25519 signature, every event's\n"
                      "fields against its signed entry, every inclusion proof against the head.\n"
                      "Exit 0 when everything holds, 1 naming what failed.");
  std::string path, key;
  app->add_option("BUNDLE", path, "the bundle file (hooklog export --proof)")->required();
  app->add_option("--public-key", key,
                  "the key you trust (base64 or a file); default: the bundle's own");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  const auto pinned = parse_key(key);
  auto bytes = read_file(path);
  if (!bytes) {
    std::fprintf(stderr, "hooklog proof verify: cannot read %s\n", path.c_str());
    return kExitFailure;
  }
  auto r = verify_bundle(*bytes, pinned);
  if (!r) {
    std::printf("BAD: %s: %s\n", path.c_str(), r.err().message.c_str());
    return kExitFailure;
  }
  std::printf("OK: %llu events included in the signed tree head of size %llu (root %s, signed %s)%s\n",
              static_cast<unsigned long long>(r->events),
              static_cast<unsigned long long>(r->head.tree_size),
              merkle::to_hex(r->head.root).c_str(), head_to_json(r->head)["timestamp"].get<std::string>().c_str(),
              pinned ? "" : "; the key is the bundle's own: compare it with the operator's published key");
  return kExitOk;
}

int proof_consistency(int argc, char** argv) {
  auto app = make_app("proof consistency",
                      "Checks that NEW_HEAD's log extends OLD_HEAD's without rewriting it: both\n"
                      "signatures, then the server's consistency proof against the heads' roots.");
  std::string old_path, new_path, key;
  server_flags sf;
  app->add_option("OLD_HEAD", old_path, "the older head (JSON, or a bundle)")->required();
  app->add_option("NEW_HEAD", new_path, "the newer head (JSON, or a bundle)")->required();
  app->add_option("--public-key", key, "the key you trust (base64 or a file); default: the server's");
  add_server_flags(*app, sf);
  if (auto rc = parse(*app, argc, argv)) return *rc;
  auto pinned = parse_key(key);
  const server_conn s = server_from(sf, "proof consistency");
  auto a = read_head(old_path);
  auto b = read_head(new_path);
  if (!a || !b) {
    std::printf("BAD: %s\n", (!a ? a.err() : b.err()).message.c_str());
    return kExitFailure;
  }
  if (!pinned) {
    const std::string target = "/v1/audit/public-key";
    auto r = s.call("GET", target);
    if (int rc = s.check(r, "GET", target, 200)) return rc;
    pinned = key_from_answer(r.body);
    if (!pinned) {
      std::printf("BAD: the server's public key answer is malformed (GET %s: no \"public_key\" "
                  "with base64 of a 32-byte Ed25519 key)\n",
                  target.c_str());
      return kExitFailure;
    }
  }
  for (const auto* h : {&*a, &*b})
    if (!verify_head(*h, *pinned)) {
      std::printf("BAD: %s: the signature does not verify with the public key\n",
                   (h == &*a ? old_path : new_path).c_str());
      return kExitFailure;
    }
  if (a->tree_size > b->tree_size) {
    std::printf("BAD: OLD_HEAD's tree (%llu) is larger than NEW_HEAD's (%llu)\n",
                 static_cast<unsigned long long>(a->tree_size),
                 static_cast<unsigned long long>(b->tree_size));
    return kExitFailure;
  }
  if (a->tree_size == 0) {  // every log extends the empty one: nothing to ask the server
    if (a->root != merkle::empty_root()) {
      std::printf("BAD: %s: a tree of size 0 must have the root SHA-256(\"\") = %s\n",
                  old_path.c_str(), merkle::to_hex(merkle::empty_root()).c_str());
      return kExitFailure;
    }
    std::printf("OK: tree size %llu (root %s) extends tree size 0 (the empty tree)\n",
                static_cast<unsigned long long>(b->tree_size), merkle::to_hex(b->root).c_str());
    return kExitOk;
  }
  const std::string target = "/v1/audit/proofs/consistency?first=" + std::to_string(a->tree_size) +
                             "&second=" + std::to_string(b->tree_size);
  auto r = s.call("GET", target);
  if (int rc = s.check(r, "GET", target, 200)) return rc;
  std::vector<hash256> path;
  const auto answer = nlohmann::json::parse(r.body, nullptr, false);  // kept: the loop reads into it
  if (!answer.is_object() || !answer.contains("path") || !answer["path"].is_array()) {
    std::printf("BAD: the server's answer holds no proof path\n");
    return kExitFailure;
  }
  for (const auto& x : answer["path"]) {
    hash256 h;
    if (!x.is_string() || !merkle::from_hex(x.get<std::string>(), h)) {
      std::printf("BAD: the server's proof holds a malformed hash\n");
      return kExitFailure;
    }
    path.push_back(h);
  }
  if (!merkle::verify_consistency(a->tree_size, b->tree_size, a->root, b->root, path)) {
    std::printf("BAD: the consistency proof from tree size %llu to %llu does not verify: the "
                 "log of NEW_HEAD does not extend the log of OLD_HEAD\n",
                 static_cast<unsigned long long>(a->tree_size),
                 static_cast<unsigned long long>(b->tree_size));
    return kExitFailure;
  }
  std::printf("OK: tree size %llu (root %s) extends tree size %llu (root %s)\n",
              static_cast<unsigned long long>(b->tree_size), merkle::to_hex(b->root).c_str(),
              static_cast<unsigned long long>(a->tree_size), merkle::to_hex(a->root).c_str());
  return kExitOk;
}

}  // namespace

int cmd_proof(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "verify") return proof_verify(argc - 1, argv + 1);
  if (sub == "consistency") return proof_consistency(argc - 1, argv + 1);
  if (sub == "-h" || sub == "--help") {
    std::printf("usage: hooklog proof verify BUNDLE [--public-key KEY]\n"
                "       hooklog proof consistency OLD_HEAD NEW_HEAD --server URL [--key KEY]\n");
    return kExitOk;
  }
  throw usage_error("hooklog proof needs a subcommand: verify or consistency");
}

}  // namespace hooklog::cli
