// The verifiable-log routes with the real server: signed heads, the public key, inclusion
// and consistency proofs (docs/AUDIT.md). Signatures and hashes are checked here with OpenSSL
// directly, from the documented bytes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/tree_head.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

std::string sha256(const std::string& b) {
  unsigned char out[32];
  unsigned len = 0;
  EVP_Digest(b.data(), b.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), 32);
}

hash256 unhex(const std::string& s) {
  hash256 h{};
  REQUIRE(merkle::from_hex(s, h));
  return h;
}

std::vector<hash256> path_of(const nlohmann::json& a) {
  std::vector<hash256> v;
  for (const auto& x : a) v.push_back(unhex(x.get<std::string>()));
  return v;
}

// Ed25519 over the documented text, checked with the served public key.
bool signature_ok(const nlohmann::json& head, const std::string& raw_key) {
  const std::string text = "hooklog-tree-head/1\n" + std::to_string(head["tree_size"].get<std::uint64_t>()) +
                           "\n" + head["root_hash"].get<std::string>() + "\n" +
                           std::to_string(head["timestamp_us"].get<std::int64_t>()) + "\n";
  auto sig = base64_decode_canonical(head["signature"].get<std::string>());
  REQUIRE(sig);
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_key.data()), raw_key.size());
  REQUIRE(k);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, k) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                                   reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  return ok;
}

std::string ingest(hooklog_server& s, const std::string& key, int i) {
  auto r = s.call("POST", "/v1/sources/standard/events",
                  R"({"id":"ev-)" + std::to_string(i) + R"(","type":"order.created","data":{"n":)" +
                      std::to_string(i) + "}}",
                  key);
  REQUIRE(r.status == 202);
  return r.json["id"].get<std::string>();
}

}  // namespace

TEST_CASE("signed tree heads, inclusion and consistency proofs over HTTP", "[api][merkle]") {
  hooklog_server s({"--head-interval", "0"});
  const std::string tenant_a = s.post("/v1/keys", {{"tenant", "a"}}).json["key"];
  const std::string tenant_b = s.post("/v1/keys", {{"tenant", "b"}}).json["key"];
  std::vector<std::string> ids_a, ids_b;
  for (int i = 0; i < 12; ++i) ids_a.push_back(ingest(s, tenant_a, i));
  for (int i = 0; i < 5; ++i) ids_b.push_back(ingest(s, tenant_b, 100 + i));

  auto none = s.get("/v1/audit/heads/latest");
  CHECK(none.status == 404);
  CHECK(none.json["error"]["code"] == "not_found");
  CHECK(s.call("POST", "/v1/audit/heads", "", tenant_a).status == 403);
  auto early = s.get("/v1/audit/proofs/inclusion?event_id=" + ids_a[0], tenant_a);
  CHECK(early.status == 404);
  CHECK(early.json["error"]["message"].get<std::string>().find("no signed tree head covers") !=
        std::string::npos);

  auto pub = s.call("POST", "/v1/audit/heads", "");
  REQUIRE(pub.status == 201);
  const nlohmann::json head = pub.json;
  const std::uint64_t n = head["tree_size"];
  CHECK(n == s.get("/v1/audit/head").json["seq"].get<std::uint64_t>() - 1);  // then its record
  CHECK(s.get("/v1/audit/heads/latest").json == head);
  CHECK(s.get("/v1/audit/heads/latest", tenant_a).status == 403);

  auto key = s.get("/v1/audit/public-key", tenant_b);
  REQUIRE(key.status == 200);
  CHECK(key.json["algorithm"] == "Ed25519");
  auto raw = base64_decode_canonical(key.json["public_key"].get<std::string>());
  REQUIRE(raw);
  REQUIRE(raw->size() == 32);
  CHECK(signature_ok(head, *raw));
  nlohmann::json forged = head;
  forged["tree_size"] = n + 1;
  CHECK_FALSE(signature_ok(forged, *raw));

  const hash256 root = unhex(head["root_hash"]);
  for (const auto& id : ids_a) {
    auto p = s.get("/v1/audit/proofs/inclusion?event_id=" + id, tenant_a);
    REQUIRE(p.status == 200);
    CHECK(p.json["head"] == head);
    CHECK(p.json["tree_size"] == n);
    // The leaf hash is SHA-256(0x00 || entry), computed here from the served entry.
    auto entry = base64_decode_canonical(p.json["entry"].get<std::string>());
    REQUIRE(entry);
    CHECK(entry->find("\"id\":\"ev-") != std::string::npos);  // the original body is in it
    const std::string leaf = sha256(std::string(1, '\0') + *entry);
    CHECK(merkle::to_hex(unhex(p.json["leaf_hash"])) == merkle::to_hex([&] {
            hash256 h;
            std::copy(leaf.begin(), leaf.end(), h.begin());
            return h;
          }()));
    CHECK(merkle::verify_inclusion(unhex(p.json["leaf_hash"]), p.json["leaf_index"], n,
                                   path_of(p.json["path"]), root));
  }
  // A tenant key sees only its own events.
  auto other = s.get("/v1/audit/proofs/inclusion?event_id=" + ids_b[0], tenant_a);
  CHECK(other.status == 404);
  CHECK(other.json["error"]["message"] == "event " + ids_b[0] + " was not found");
  CHECK(s.get("/v1/audit/proofs/inclusion?event_id=" + ids_b[0], tenant_b).status == 200);

  // Against an explicit size, then sizes that do not hold the event.
  auto at = s.get("/v1/audit/proofs/inclusion?event_id=" + ids_a[2] + "&tree_size=" + std::to_string(n));
  REQUIRE(at.status == 200);
  CHECK(at.json["root_hash"] == head["root_hash"]);
  CHECK_FALSE(at.json.contains("head"));
  auto small = s.get("/v1/audit/proofs/inclusion?event_id=" + ids_a[2] + "&tree_size=1");
  CHECK(small.status == 400);
  CHECK(small.json["error"]["details"]["parameter"] == "tree_size");
  auto big = s.get("/v1/audit/proofs/inclusion?event_id=" + ids_a[2] + "&tree_size=999999");
  CHECK(big.status == 400);
  CHECK(big.json["error"]["message"].get<std::string>().find("tree size 999999 is beyond") == 0);
  auto junk = s.get("/v1/audit/proofs/inclusion?event_id=" + ids_a[2] + "&tree_size=x");
  CHECK(junk.status == 400);
  CHECK(junk.json["error"]["details"]["parameter"] == "tree_size");
  CHECK(s.get("/v1/audit/proofs/inclusion").json["error"]["details"]["parameter"] == "event_id");

  // More events, a second head; the consistency proof links the two heads.
  for (int i = 0; i < 9; ++i) ingest(s, tenant_b, 200 + i);
  auto second = s.call("POST", "/v1/audit/heads", "");
  REQUIRE(second.status == 201);
  CHECK(signature_ok(second.json, *raw));
  const std::uint64_t m = second.json["tree_size"];
  auto c = s.get("/v1/audit/proofs/consistency?first=" + std::to_string(n) + "&second=" + std::to_string(m));
  REQUIRE(c.status == 200);
  CHECK(c.json["first_root_hash"] == head["root_hash"]);
  CHECK(c.json["second_root_hash"] == second.json["root_hash"]);
  CHECK(merkle::verify_consistency(n, m, root, unhex(second.json["root_hash"]), path_of(c.json["path"])));
  CHECK(s.get("/v1/audit/proofs/consistency?first=1&second=2", tenant_a).status == 403);
  auto rev = s.get("/v1/audit/proofs/consistency?first=5&second=4");
  CHECK(rev.status == 400);
  CHECK(rev.json["error"]["details"]["parameter"] == "first");
  CHECK(s.get("/v1/audit/proofs/consistency?first=1").json["error"]["details"]["parameter"] == "second");

  // The latest head survives a restart (found again in the log).
  s.restart();
  CHECK(s.get("/v1/audit/heads/latest").json == second.json);
  CHECK(s.get("/v1/audit/public-key").json["public_key"] == key.json["public_key"]);
}

TEST_CASE("a head is published periodically only when the log grew", "[api][merkle]") {
  hooklog_server s({"--head-interval", "1"});
  ingest(s, kAdminKey, 1);
  nlohmann::json first;
  for (int i = 0; i < 100 && first.is_null(); ++i) {
    auto h = s.get("/v1/audit/heads/latest");
    if (h.status == 200) first = h.json;
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_FALSE(first.is_null());
  CHECK(first["tree_size"] == 1);  // the event
  // Nothing new but the head's own record: no further head.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(s.get("/v1/audit/heads/latest").json == first);
  CHECK(s.get("/v1/audit/head").json["seq"] == 2);
}

TEST_CASE("hooklog export --proof, proof verify and proof consistency", "[api][merkle][cli]") {
  hooklog_server s({"--head-interval", "0"});
  const std::string tenant_a = s.post("/v1/keys", {{"tenant", "a"}}).json["key"];
  for (int i = 0; i < 6; ++i) ingest(s, tenant_a, i);
  const std::string data = s.data_dir();
  const std::string dir = data + "/../";
  auto none = run_hooklog({"export", "--proof", "--data", data, "--out", dir + "b0.json"});
  CHECK(none.exit_code == 1);

  auto h1 = s.call("POST", "/v1/audit/heads", "");
  REQUIRE(h1.status == 201);
  std::ofstream(dir + "old.json") << h1.json.dump();
  auto root7 = [&] { return s.get("/v1/audit/proofs/consistency?first=7&second=7").json["first_root_hash"]; };
  CHECK(root7() == h1.json["root_hash"]);
  auto ex = run_hooklog({"export", "--proof", "--data", data, "--tenant", "a", "--out", dir + "bundle.json"});
  REQUIRE(ex.exit_code == 0);
  auto ok = run_hooklog({"proof", "verify", dir + "bundle.json"});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.rfind("OK: 6 events included in the signed tree head of size " +
                         std::to_string(h1.json["tree_size"].get<std::uint64_t>()), 0) == 0);
  const std::string pub = s.get("/v1/audit/public-key").json["public_key"];
  CHECK(run_hooklog({"proof", "verify", dir + "bundle.json", "--public-key", pub}).exit_code == 0);
  CHECK(root7() == h1.json["root_hash"]);

  // One byte changed in the bundle file.
  std::string bytes;
  {
    std::ifstream in(dir + "bundle.json", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto sig = bytes.find("\"signature\":\"") + 14;
  bytes[sig] = bytes[sig] == 'A' ? 'B' : 'A';
  std::ofstream(dir + "bad.json", std::ios::binary) << bytes;
  auto bad = run_hooklog({"proof", "verify", dir + "bad.json"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("head: the signature does not verify with the public key") != std::string::npos);

  // A newer head extends the old one; swapped, the check refuses.
  for (int i = 0; i < 3; ++i) ingest(s, tenant_a, 50 + i);
  CHECK(root7() == h1.json["root_hash"]);
  auto h2 = s.call("POST", "/v1/audit/heads", "");
  REQUIRE(h2.status == 201);
  CHECK(root7() == h1.json["root_hash"]);
  std::ofstream(dir + "new.json") << h2.json.dump();
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port());
  auto c = run_hooklog({"proof", "consistency", dir + "old.json", dir + "new.json", "--server", url,
                        "--key", kAdminKey});
  INFO(c.out);
  CHECK(c.exit_code == 0);
  CHECK(c.out.rfind("OK: tree size " + std::to_string(h2.json["tree_size"].get<std::uint64_t>()) +
                        " (root " + h2.json["root_hash"].get<std::string>() + ") extends",
                    0) == 0);
  auto swapped = run_hooklog({"proof", "consistency", dir + "new.json", dir + "old.json", "--server",
                              url, "--key", kAdminKey});
  CHECK(swapped.exit_code == 1);
  CHECK(swapped.out.find("BAD: OLD_HEAD's tree") == 0);
  // A head whose root was changed: its signature fails first.
  nlohmann::json forged = h2.json;
  forged["root_hash"] = h1.json["root_hash"];
  std::ofstream(dir + "forged.json") << forged.dump();
  auto f = run_hooklog({"proof", "consistency", dir + "old.json", dir + "forged.json", "--server", url,
                        "--key", kAdminKey});
  CHECK(f.exit_code == 1);
  CHECK(f.out.find("forged.json: the signature does not verify") != std::string::npos);
}

namespace {

// A server on 127.0.0.1 that answers every request with `body` (200, JSON), until destroyed.
class canned_server {
 public:
  explicit canned_server(std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          const ssize_t r = ::read(c, buf, sizeof buf);
          if (r <= 0) break;
          req.append(buf, static_cast<std::size_t>(r));
        }
        const std::string ans = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
        [[maybe_unused]] auto w = ::write(c, ans.data(), ans.size());
        ::close(c);
      }
    });
  }
  ~canned_server() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string body_;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a damaged stored Merkle node: verify names it, export and the proof route refuse", "[api][merkle][cli]") {
  hooklog_server s({"--head-interval", "0"});
  const std::string key = s.post("/v1/keys", {{"tenant", "a"}}).json["key"];
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(ingest(s, key, i));
  REQUIRE(s.call("POST", "/v1/audit/heads", "").status == 201);
  const std::string data = s.data_dir();
  auto sound = run_hooklog({"verify", "--data", data});
  INFO(sound.out);
  CHECK(sound.exit_code == 0);
  // Records: the key's, 8 events (seqs 2..9), the head of size 9.
  CHECK(sound.out.find("OK: Merkle tree of 10 leaves rebuilt, 8 stored subtree hashes match; the "
                       "latest signed head (tree size 9) matches it") != std::string::npos);
  s.kill_hard();
  flip_node(data, 1, 0);  // leaves 0..1: on the paths of records 3 and 4 in the tree of 9
  s.start();
  auto v = run_hooklog({"verify", "--data", data});
  INFO(v.out);
  CHECK(v.exit_code == 1);
  CHECK(v.out.find("BAD: Merkle tree damaged at level 1 index 0 (leaves 0..1): stored ") !=
        std::string::npos);
  auto ex = run_hooklog({"export", "--proof", "--data", data, "--out", data + "/../b.json"});
  INFO(ex.out);
  CHECK(ex.exit_code == 1);  // "Merkle tree damaged at the proof of record 3 …" on stderr
  CHECK(read_file(data + "/../b.json").empty());
  auto r = s.get("/v1/audit/proofs/inclusion?event_id=" + ids[1]);
  CHECK(r.status == 500);
  CHECK(r.json["error"]["code"] == "merkle_damaged");
  CHECK(r.json["error"]["message"].get<std::string>().rfind("Merkle tree damaged at the proof of record 3", 0) == 0);
  CHECK(s.get("/v1/audit/proofs/inclusion?event_id=" + ids[5]).status == 200);  // its path is sound
}

TEST_CASE("no head is signed over a damaged stored Merkle node", "[api][merkle]") {
  hooklog_server s({"--head-interval", "0"});
  const std::string key = s.post("/v1/keys", {{"tenant", "a"}}).json["key"];  // seq 1
  for (int i = 0; i < 19; ++i) ingest(s, key, i);                             // seqs 2..20
  auto first = s.call("POST", "/v1/audit/heads", "");
  REQUIRE(first.status == 201);
  REQUIRE(first.json["tree_size"] == 20);
  for (int i = 19; i < 24; ++i) ingest(s, key, i);  // seqs 22..26 (21 is the head)
  const std::string data = s.data_dir();
  s.kill_hard();
  // Leaves 16..23: across the signed head's size, in the root of the next one. The server
  // signed the root it gave, and a consistency proof from the head of 20 then failed.
  flip_node(data, 3, 2);
  s.start();
  for (int round = 0; round < 2; ++round) {  // the second from the subtrees it kept
    auto h = s.call("POST", "/v1/audit/heads", "");
    INFO(h.body);
    CHECK(h.status == 500);
    CHECK(h.json["error"]["code"] == "merkle_damaged");
    CHECK(h.json["error"]["message"].get<std::string>().find(
              "is not the root of the records' leaf hashes") != std::string::npos);
  }
  auto latest = s.get("/v1/audit/heads/latest");
  REQUIRE(latest.status == 200);
  CHECK(latest.json["tree_size"] == 20);  // nothing signed since
}

TEST_CASE("export --proof refuses a key the head does not verify with and takes --public-key", "[api][merkle][cli]") {
  hooklog_server s({"--head-interval", "0"});
  ingest(s, s.post("/v1/keys", {{"tenant", "a"}}).json["key"].get<std::string>(), 1);
  REQUIRE(s.call("POST", "/v1/audit/heads", "").status == 201);
  const std::string data = s.data_dir();
  const std::string dir = data + "/../";
  const std::string pub = s.get("/v1/audit/public-key").json["public_key"];
  // Another key file (as when the server ran with another --head-key-file).
  REQUIRE(head_signer::load("", dir).ok());  // creates <dir>/head.key
  auto wrong = run_hooklog({"export", "--proof", "--data", data, "--head-key-file", dir + "head.key",
                            "--out", dir + "w.json"});
  INFO(wrong.out);
  CHECK(wrong.exit_code == 1);  // "… does not verify with the key of <dir>/head.key" on stderr
  CHECK(read_file(dir + "w.json").empty());
  // The server's public key, as a cluster node's is given (no head.key there).
  std::filesystem::remove(data + "/head.key");
  auto by_pub = run_hooklog({"export", "--proof", "--data", data, "--public-key", pub, "--out", dir + "p.json"});
  INFO(by_pub.out);
  REQUIRE(by_pub.exit_code == 0);
  CHECK(run_hooklog({"proof", "verify", dir + "p.json", "--public-key", pub}).exit_code == 0);
}

TEST_CASE("proof consistency: a malformed key answer, and a head of size 0", "[api][merkle][cli]") {
  hooklog_server s({"--head-interval", "0"});
  const std::string dir = s.data_dir() + "/../";
  auto h0 = s.call("POST", "/v1/audit/heads", "");  // the empty tree
  REQUIRE(h0.status == 201);
  CHECK(h0.json["tree_size"] == 0);
  std::ofstream(dir + "h0.json") << h0.json.dump();
  ingest(s, s.post("/v1/keys", {{"tenant", "a"}}).json["key"].get<std::string>(), 1);
  auto h2 = s.call("POST", "/v1/audit/heads", "");
  REQUIRE(h2.status == 201);
  std::ofstream(dir + "h2.json") << h2.json.dump();
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port());
  auto ok = run_hooklog({"proof", "consistency", dir + "h0.json", dir + "h2.json", "--server", url,
                         "--key", kAdminKey});
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.rfind("OK: tree size " + std::to_string(h2.json["tree_size"].get<std::uint64_t>()) +
                         " (root " + h2.json["root_hash"].get<std::string>() +
                         ") extends tree size 0 (the empty tree)",
                     0) == 0);
  for (const std::string body : {"not json", "{}", "{\"public_key\":7}", "{\"public_key\":\"AAAA\"}"}) {
    canned_server bad(body);
    auto r = run_hooklog({"proof", "consistency", dir + "h0.json", dir + "h2.json", "--server",
                          bad.url(), "--key", kAdminKey});
    INFO(body << ": " << r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.rfind("BAD: the server's public key answer is malformed", 0) == 0);
  }
}

TEST_CASE("proof verify names an edited timestamp_us and refuses a duplicated event", "[api][merkle][cli]") {
  hooklog_server s({"--head-interval", "0"});
  const std::string key = s.post("/v1/keys", {{"tenant", "a"}}).json["key"];
  for (int i = 0; i < 3; ++i) ingest(s, key, i);
  REQUIRE(s.call("POST", "/v1/audit/heads", "").status == 201);
  const std::string data = s.data_dir();
  const std::string dir = data + "/../";
  REQUIRE(run_hooklog({"export", "--proof", "--data", data, "--out", dir + "b.json"}).exit_code == 0);
  const auto b = nlohmann::json::parse(read_file(dir + "b.json"));
  auto check = [&](nlohmann::json edited, const std::string& want) {
    std::ofstream(dir + "e.json", std::ios::binary) << edited.dump() << "\n";
    auto r = run_hooklog({"proof", "verify", dir + "e.json"});
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(want) != std::string::npos);
  };
  nlohmann::json e = b;
  e["head"]["timestamp_us"] = e["head"]["timestamp_us"].get<std::int64_t>() + 1;
  check(e, "head: field \"timestamp_us\" is not what the signed values give");
  e = b;
  e["head"]["timestamp"] = "2000-01-01T00:00:00.000000Z";
  check(e, "head: field \"timestamp\" is not what the signed values give");
  e = b;
  e["events"].push_back(b["events"][1]);
  check(e, "event 3 (" + b["events"][1]["event_id"].get<std::string>() + "): seq " +
               std::to_string(b["events"][1]["seq"].get<std::uint64_t>()) + " is in the bundle twice");
}
