// Catching up from a peer's snapshot (docs/CLUSTER.md, "Catching up from a snapshot"): a cell
// whose stream drops records after 2 s (--cluster-max-age 2; the duplicate window follows the
// maximum age down, as JetStream requires), two nodes that ingest, the records aged out of the
// stream, and a third node with an empty data directory: refused without --bootstrap-from,
// refused with a snapshot cut off midway, too short, corrupted or of another log (nothing
// half-written is left), and with
// a caught-up peer it joins, catches up and its head equals the others'.
// The cut-off and short snapshots come from a one-shot loopback peer that replays a real
// snapshot's answer (headers and bytes) and closes the connection early: a kill of a real peer
// mid-download is timing-dependent, the cut here is exact.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "engine/cluster/nats.hpp"
#include "hooklog_build_paths.hpp"
#include "support/cluster_node.hpp"
#include "support/hooklog_server.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

std::vector<std::string> snap_node_args(const nats_cluster& nats, const std::string& node_id) {
  return cluster_node_args(nats, "snap", node_id, 1, {"--cluster-max-age", "2"});
}

std::string header_of(const api_reply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

// Answers one GET with `reply`'s status line, its Hooklog-Snapshot-* headers and the first
// `send` bytes of its body (announced with its full Content-Length), then closes.
class one_shot_peer {
 public:
  one_shot_peer(const api_reply& reply, std::size_t send) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
    for (const char* h : {"Hooklog-Snapshot-Seq", "Hooklog-Snapshot-Hash", "Hooklog-Snapshot-Bytes",
                          "Hooklog-Snapshot-Cell"})
      head += std::string(h) + ": " + header_of(reply, h) + "\r\n";
    head +=
        "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n";
    thread_ = std::thread([this, out = head + reply.body.substr(0, send)] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string req;
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      for (std::size_t off = 0; off < out.size();) {
        const ssize_t n = ::send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::close(c);
    });
  }
  ~one_shot_peer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE(
    "cluster: a node whose stream aged out joins from a peer's snapshot, refused without "
    "--bootstrap-from and with a cut-off or short snapshot",
    "[cluster][snapshot]") {
  nats_cluster nats(1);
  hooklog_server a(snap_node_args(nats, "a"));
  hooklog_server b(snap_node_args(nats, "b"));
  for (int i = 0; i < 10; ++i)
    REQUIRE((i % 2 ? b : a)
                .call("POST", kStatusChange, jelp_status("E" + std::to_string(i), "NEW"))
                .status == 202);
  const std::uint64_t early_seq = head_at(a, 10)["seq"].get<std::uint64_t>();
  auto early = a.get("/v1/admin/snapshot");  // a snapshot that will fall short of the stream
  REQUIRE(early.status == 200);
  for (int i = 10; i < 20; ++i)
    REQUIRE((i % 2 ? b : a)
                .call("POST", kStatusChange, jelp_status("E" + std::to_string(i), "NEW"))
                .status == 202);
  const json head_a = head_at(a, early_seq + 10);
  const std::uint64_t last = head_a["seq"].get<std::uint64_t>();
  CHECK(head_at(b, last) == head_a);

  // The snapshot route: admin only; its headers state what the body holds.
  CHECK(a.get("/v1/admin/snapshot", "").status == 401);
  auto snap = a.get("/v1/admin/snapshot");
  REQUIRE(snap.status == 200);
  CHECK(header_of(snap, "Content-Type") == "application/octet-stream");
  CHECK(header_of(snap, "Hooklog-Snapshot-Seq") == std::to_string(last));
  CHECK(header_of(snap, "Hooklog-Snapshot-Hash") == head_a["hash"].get<std::string>());
  CHECK(header_of(snap, "Hooklog-Snapshot-Cell") == "snap");
  CHECK(header_of(snap, "Hooklog-Snapshot-Bytes") == std::to_string(snap.body.size()));
  CHECK(header_of(early, "Hooklog-Snapshot-Seq") == std::to_string(early_seq));

  // Every record ages out of the stream (2 s; JetStream expires on a timer of about that).
  {
    hooklog::cluster::connect_options o;
    o.urls = {nats.url(0)};
    auto c = hooklog::cluster::connection::connect(o);
    REQUIRE(c);
    auto js = hooklog::cluster::jetstream::open(**c);
    REQUIRE(js);
    std::uint64_t messages = 1;
    for (int i = 0; i < 100 && messages > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto st = hooklog::cluster::get_stream_state(**js, "snap");
      REQUIRE(st);
      messages = st->messages;
      if (messages == 0) CHECK(st->first_seq == last + 1);
    }
    REQUIRE(messages == 0);
  }

  temp_dir dir;
  const std::string data = (dir / "c").string();
  auto serve_c = [&](std::vector<std::string> extra) {
    const std::string err = (dir / "stderr.txt").string();
    std::filesystem::remove(err);
    std::vector<std::string> args = {"serve", "--listen",    "127.0.0.1:0", "--data",
                                     data,    "--admin-key", kAdminKey};
    auto node = snap_node_args(nats, "c");
    args.insert(args.end(), node.begin(), node.end());
    args.insert(args.end(), extra.begin(), extra.end());
    child_process p(HOOKLOG_BINARY, args, {}, err);
    auto st = p.wait_exit(std::chrono::seconds(30));
    REQUIRE(st);
    return std::make_pair(WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, read_file(err));
  };
  const std::string aged = "stream HOOKLOG_SNAP starts at seq " + std::to_string(last + 1) +
                           " (older messages aged out) but this node's log ends at 0: it cannot "
                           "catch up from the stream; start it with --bootstrap-from";
  {
    auto [code, err] = serve_c({});
    CHECK(code == 1);
    CHECK(err.find(aged) != std::string::npos);
  }
  {
    auto [code, err] = serve_c({"--bootstrap-from", "https://127.0.0.1:1"});
    CHECK(code == 2);
    CHECK(err.find("--bootstrap-from must be http://HOST:PORT (a node of the cell), not "
                   "'https://127.0.0.1:1'") != std::string::npos);
  }
  auto nothing_half_written = [&] {
    CHECK_FALSE(std::filesystem::exists(data + "/snapshot.partial"));
    auto v = run_hooklog({"verify", "--data", data});
    CHECK(v.out.find("0 records") != std::string::npos);
  };
  {  // cut off after half of its bytes
    one_shot_peer peer(snap, snap.body.size() / 2);
    auto [code, err] = serve_c({"--bootstrap-from", peer.url()});
    CHECK(code == 1);
    CHECK(err.find("snapshot from " + peer.url() + ": cut off after " +
                   std::to_string(snap.body.size() / 2) + " of " +
                   std::to_string(snap.body.size()) + " bytes") != std::string::npos);
    nothing_half_written();
  }
  {  // complete but short of the stream: it would leave a hole
    one_shot_peer peer(early, early.body.size());
    auto [code, err] = serve_c({"--bootstrap-from", peer.url()});
    CHECK(code == 1);
    CHECK(err.find("ends at seq " + std::to_string(early_seq) +
                   " but the stream now starts at seq " + std::to_string(last + 1) + ": seqs " +
                   std::to_string(early_seq + 1) + " to " + std::to_string(last) +
                   " would be missing") != std::string::npos);
    nothing_half_written();
  }

  {  // a byte of a record flipped in transit (same length): the chain does not verify
    api_reply bent = snap;
    const auto at = bent.body.find("\"E7\"");
    REQUIRE(at != std::string::npos);
    bent.body[at + 2] = '8';
    one_shot_peer peer(bent, bent.body.size());
    auto [code, err] = serve_c({"--bootstrap-from", peer.url()});
    CHECK(code == 1);
    CHECK(err.find("snapshot from " + peer.url() + ": the snapshot does not verify: seq ") !=
          std::string::npos);
    nothing_half_written();
  }
  {  // a single-node log is not a log of the cell
    hooklog_server single;
    REQUIRE(single.call("POST", kStatusChange, jelp_status("S", "NEW")).status == 202);
    auto other = single.get("/v1/admin/snapshot");
    REQUIRE(other.status == 200);
    one_shot_peer peer(other, other.body.size());
    auto [code, err] = serve_c({"--bootstrap-from", peer.url()});
    CHECK(code == 1);
    CHECK(err.find("snapshot from " + peer.url() +
                   ": it is a single-node log, not of cell snap (--cell)") != std::string::npos);
    nothing_half_written();
  }

  // From the caught-up peer b: joins, verifies, serves, and writes through it reach the others.
  const std::string peer_b = "http://127.0.0.1:" + std::to_string(b.port());
  std::vector<std::string> c_args = snap_node_args(nats, "c");
  c_args.insert(c_args.end(), {"--bootstrap-from", peer_b});
  hooklog_server c(c_args, data);
  CHECK(c.get("/readyz").status == 200);
  CHECK(head_at(c, last) == head_a);
  auto verified = c.get("/v1/audit/verify");
  CHECK(verified.json["ok"] == true);
  CHECK(verified.json["checked"] == last);
  CHECK(c.list_all("/v1/events?source=jelp").size() == 20);
  auto w = c.call("POST", kStatusChange, jelp_status("after", "NEW"));
  REQUIRE(w.status == 202);
  CHECK(w.json["seq"] == last + 1);
  CHECK(head_at(a, last + 1) == head_at(c, last + 1));
  CHECK(head_at(b, last + 1) == head_at(c, last + 1));
  // A restart of the bootstrapped node continues from its own log (the flag is then unused).
  c.restart();
  CHECK(head_at(c, last + 1) == head_at(a, last + 1));

  // A node that was down while what follows its log aged out: its log (last + 1) is replaced by
  // a snapshot that holds it.
  c.kill_hard();
  for (int i = 0; i < 5; ++i)
    REQUIRE(a.call("POST", kStatusChange, jelp_status("L" + std::to_string(i), "NEW")).status ==
            202);
  const json head_late = head_at(b, last + 6);
  {
    hooklog::cluster::connect_options o;
    o.urls = {nats.url(0)};
    auto conn = hooklog::cluster::connection::connect(o);
    REQUIRE(conn);
    auto js = hooklog::cluster::jetstream::open(**conn);
    REQUIRE(js);
    std::uint64_t first = 0;
    for (int i = 0; i < 100 && first <= last + 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto st = hooklog::cluster::get_stream_state(**js, "snap");
      REQUIRE(st);
      first = st->messages > 0 ? st->first_seq : st->last_seq + 1;
    }
    REQUIRE(first > last + 2);
  }
  {
    auto [code, err] = serve_c({});
    CHECK(code == 1);
    CHECK(err.find("but this node's log ends at " + std::to_string(last + 1) +
                   ": it cannot catch up from the stream; start it with --bootstrap-from") !=
          std::string::npos);
  }
  hooklog_server late(c_args, data);
  CHECK(head_at(late, last + 6) == head_late);
  CHECK(late.get("/v1/audit/verify").json["ok"] == true);
  CHECK(late.list_all("/v1/events?source=jelp").size() == 26);
}
