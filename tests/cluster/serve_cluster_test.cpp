// `hooklog serve --cluster` end to end: real nats-server processes and real hooklog nodes on
// loopback (tests/support/nats_cluster.hpp, hooklog_server.hpp).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "engine/cluster/nats.hpp"
#include "engine/record.hpp"
#include "hooklog_build_paths.hpp"
#include "http/delivery/client.hpp"
#include "support/cluster_node.hpp"
#include "support/hooklog_server.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

// Posts one jelp event, again while the answer is 503 (the cluster is electing a leader; the same
// body is the same idempotency key, so a retry never stores it twice). Returns the 202 answer.
json post_until_accepted(hooklog_server& s, const std::string& body, int* retries = nullptr) {
  for (int attempt = 0; attempt < 60; ++attempt) {
    api_reply r;
    try {
      r = s.call("POST", kStatusChange, body);
    } catch (const std::exception&) {
      r.status = 0;  // connection closed by a timeout: try again
    }
    if (r.status == 202) return r.json;
    INFO(r.body);
    REQUIRE((r.status == 503 || r.status == 0));
    if (retries) ++*retries;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL("no 202 after 60 attempts");
  return {};
}

// Every event seq a node holds (source jelp), waiting first until it applied `min_seq`.
std::map<std::uint64_t, std::string> events_of(hooklog_server& s, std::uint64_t min_seq) {
  std::map<std::uint64_t, std::string> out;
  for (const auto& e : s.list_all("/v1/events?source=jelp&min_seq=" + std::to_string(min_seq)))
    out[e["seq"].get<std::uint64_t>()] = e["entity"]["id"].get<std::string>();
  return out;
}

}  // namespace

TEST_CASE(
    "concurrent ingest through three nodes on a 3-server NATS cluster is on every node "
    "with equal heads",
    "[cluster][serve]") {
  nats_cluster nats(3);
  // The three nodes of the new cell start at once: one creates the stream, the others wait for
  // its leader (JetStream timeouts at start are retried).
  std::vector<std::unique_ptr<hooklog_server>> nodes(3);
  {
    std::vector<std::thread> starters;
    for (int i = 0; i < 3; ++i)
      starters.emplace_back([&, i] {
        nodes[i] = std::make_unique<hooklog_server>(
            cluster_node_args(nats, "c3", "node" + std::to_string(i), 3));
      });
    for (auto& t : starters) t.join();
  }

  // Roles and readiness.
  auto health = nodes[1]->get("/healthz");
  REQUIRE(health.status == 200);
  CHECK(health.json["role"] == "cluster");
  CHECK(health.json["cell"] == "c3");
  CHECK(health.json["node_id"] == "node1");
  CHECK(health.json["lag"] == 0);
  auto ready = nodes[2]->get("/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.json["status"] == "ready");

  constexpr int kPerNode = 300;
  std::vector<std::map<std::uint64_t, std::string>> acked(3);
  std::vector<std::thread> writers;
  for (int n = 0; n < 3; ++n)
    writers.emplace_back([&, n] {
      for (int i = 0; i < kPerNode; ++i) {
        const std::string folio = "N" + std::to_string(n) + "-" + std::to_string(i);
        auto r = nodes[n]->call("POST", kStatusChange, jelp_status(folio, "NEW"));
        if (r.status == 202 && r.json["duplicate"] == false)
          acked[n][r.json["seq"].get<std::uint64_t>()] = folio;
      }
    });
  for (auto& w : writers) w.join();
  std::map<std::uint64_t, std::string> all;
  for (const auto& a : acked) all.insert(a.begin(), a.end());
  CHECK(all.size() == 3 * kPerNode);  // every event acknowledged once, each its own seq
  const std::uint64_t last = all.rbegin()->first;

  json first_head;
  for (auto& node : nodes) {
    auto held = events_of(*node, last);
    for (const auto& [seq, folio] : all) {
      INFO("seq " << seq);
      REQUIRE(held.count(seq) == 1);
      CHECK(held[seq] == folio);
    }
    auto h = head_at(*node, last);
    if (first_head.is_null()) first_head = h;
    CHECK(h["seq"] == first_head["seq"]);
    CHECK(h["hash"] == first_head["hash"]);
  }
  CHECK(first_head["seq"] == last);

  // Signed tree heads: one key for the cell (derived from the shared --secret-key), so a head
  // published through one node is every node's latest, with the same tree behind it.
  const auto pub0 = nodes[0]->get("/v1/audit/public-key");
  REQUIRE(pub0.status == 200);
  for (int n : {1, 2}) CHECK(nodes[n]->get("/v1/audit/public-key").json["public_key"] == pub0.json["public_key"]);
  auto head = nodes[1]->call("POST", "/v1/audit/heads", "");
  REQUIRE(head.status == 201);
  CHECK(head.json["tree_size"] == last);  // one leaf per seq on every node
  const auto head_seq = nodes[1]->get("/healthz").json["materialized_seq"].get<std::uint64_t>();
  for (int n : {0, 2}) {
    REQUIRE(nodes[n]->get("/v1/events?limit=1&min_seq=" + std::to_string(head_seq)).status == 200);
    auto latest = nodes[n]->get("/v1/audit/heads/latest");
    REQUIRE(latest.status == 200);
    CHECK(latest.json == head.json);
    // An event's inclusion proof from this node leads to the root the other node signed.
    auto proof = nodes[n]->get("/v1/audit/proofs/inclusion?event_id=" +
                               hooklog::event_id_for(all.begin()->first) +
                               "&tree_size=" + std::to_string(last));
    REQUIRE(proof.status == 200);
    CHECK(proof.json["root_hash"] == head.json["root_hash"]);
  }

  // Keys and endpoints written through one node take effect on the others.
  auto key = nodes[0]->post("/v1/keys", {{"tenant", "jelp"}});
  REQUIRE(key.status == 201);
  const std::string tenant_key = key.json["key"];
  auto ep = nodes[0]->post("/v1/endpoints", {{"url", "https://hooks.example.com/in"},
                                             {"events", {"order_update:*"}},
                                             {"tenant", "jelp"}});
  REQUIRE(ep.status == 201);
  const auto ep_seq = nodes[0]->get("/healthz").json["materialized_seq"].get<std::uint64_t>();
  for (int n : {1, 2}) {
    REQUIRE(nodes[n]->get("/v1/events?limit=1&min_seq=" + std::to_string(ep_seq)).status == 200);
    unsigned status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) {  // the key store follows the log
      status = nodes[n]->get("/v1/events?limit=1", tenant_key).status;
      if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(status == 200);
    std::size_t listed = 0;
    for (int i = 0; i < 100 && listed == 0; ++i) {  // the projection follows the log
      listed = nodes[n]->list_all("/v1/endpoints?tenant=jelp").size();
      if (listed == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(listed == 1);
  }
  auto metrics = nodes[0]->get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("\nhooklog_cluster_materialized_seq " + std::to_string(ep_seq) + "\n") !=
        std::string::npos);
  CHECK(metrics.body.find("hooklog_cluster_lag 0") != std::string::npos);
}

TEST_CASE("kill -9 of one NATS server under ingest loses nothing acknowledged",
          "[cluster][serve]") {
  nats_cluster nats(3);
  hooklog_server a(cluster_node_args(nats, "k", "a", 3));
  hooklog_server b(cluster_node_args(nats, "k", "b", 3));
  constexpr int kPerNode = 200;
  std::atomic<int> progress{0};
  std::vector<std::map<std::uint64_t, std::string>> acked(2);
  std::vector<int> retries(2, 0);
  std::vector<std::thread> writers;
  hooklog_server* nodes[2] = {&a, &b};
  for (int n = 0; n < 2; ++n)
    writers.emplace_back([&, n] {
      for (int i = 0; i < kPerNode; ++i) {
        const std::string folio = "K" + std::to_string(n) + "-" + std::to_string(i);
        auto j = post_until_accepted(*nodes[n], jelp_status(folio, "NEW"), &retries[n]);
        // A retry of an event the stream had stored answers as a duplicate of itself.
        acked[n][j["seq"].get<std::uint64_t>()] = folio;
        ++progress;
      }
    });
  while (progress.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  nats.kill_hard(0);  // the server both nodes are connected to (first in their lists)
  for (auto& w : writers) w.join();

  std::map<std::uint64_t, std::string> all;
  for (const auto& m : acked) all.insert(m.begin(), m.end());
  CHECK(all.size() == 2 * kPerNode);  // every event has its own seq: nothing stored twice
  const std::uint64_t last = all.rbegin()->first;
  json first_head;
  for (auto* node : nodes) {
    auto held = events_of(*node, last);
    CHECK(held == all);  // every acknowledged event, nothing else
    auto h = head_at(*node, last);
    if (first_head.is_null()) first_head = h;
    CHECK(h == first_head);
  }
  // What the failover cost (not asserted: it depends on where the stream leader was).
  auto m = a.get("/metrics");
  const auto at = m.body.find("\nhooklog_cluster_publish_retries_total ") + 1;
  WARN("HTTP answers retried: " << retries[0] + retries[1] << ", publisher retries on node a: "
                                << m.body.substr(at + 38, m.body.find('\n', at) - at - 38));
  nats.restart(0);
}

TEST_CASE("a node whose data directory is deleted rejoins and its head equals the others",
          "[cluster][serve]") {
  nats_cluster nats(1);
  hooklog_server a(cluster_node_args(nats, "w", "a", 1));
  hooklog_server b(cluster_node_args(nats, "w", "b", 1));
  std::uint64_t last = 0;
  for (int i = 0; i < 150; ++i) {
    auto r = a.call("POST", kStatusChange, jelp_status("W" + std::to_string(i), "NEW"));
    REQUIRE(r.status == 202);
    last = r.json["seq"].get<std::uint64_t>();
  }
  const json head_a = head_at(a, last);
  REQUIRE(head_at(b, last) == head_a);

  b.process().stop();
  std::filesystem::remove_all(b.data_dir());
  b.start();  // an empty data directory: catches up from the stream
  const json head_b = head_at(b, last);
  CHECK(head_b == head_a);
  auto ready = b.get("/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.json["materialized_seq"] == last);
  auto v = b.get("/v1/audit/verify");
  REQUIRE(v.status == 200);
  CHECK(v.json["ok"] == true);
  CHECK(v.json["head_hash"] == head_a["hash"]);
  // The cross-replica tamper check: this node's log against the other node's head.
  auto match = run_hooklog({"verify", "--data", b.data_dir(), "--against",
                            "http://127.0.0.1:" + std::to_string(a.port()), "--key", kAdminKey});
  CHECK(match.exit_code == 0);
  CHECK(match.out.find("MATCH: this log and http://127.0.0.1:" + std::to_string(a.port()) +
                       " have chain hash " + head_a["hash"].get<std::string>() + " at seq " +
                       std::to_string(last)) != std::string::npos);
  {
    hooklog_server other;  // a single node with another history
    REQUIRE(other.call("POST", kStatusChange, jelp_status("elsewhere", "NEW")).status == 202);
    auto mismatch =
        run_hooklog({"verify", "--data", b.data_dir(), "--against",
                     "http://127.0.0.1:" + std::to_string(other.port()), "--key", kAdminKey});
    CHECK(mismatch.exit_code == 1);
    CHECK(mismatch.out.find("MISMATCH: at seq 1 this log's chain hash is ") != std::string::npos);
  }
  // Writes through the rejoined node reach the other.
  auto r = b.call("POST", kStatusChange, jelp_status("after", "NEW"));
  REQUIRE(r.status == 202);
  const auto seq = r.json["seq"].get<std::uint64_t>();
  auto got =
      a.get("/v1/events/" + r.json["id"].get<std::string>() + "?min_seq=" + std::to_string(seq));
  CHECK(got.status == 200);
}

TEST_CASE("min_seq waits for the seq and then answers 503 min_seq_not_reached",
          "[cluster][serve]") {
  nats_cluster nats(1);
  // The cluster settings from the config file, by their flag names.
  temp_dir cfg_dir;
  const std::string cfg = (cfg_dir / "serve.json").string();
  {
    std::ofstream f(cfg);
    f << json{{"cluster", nats.urls()},
              {"cell", "m"},
              {"node-id", "from-file"},
              {"cluster-replicas", 1},
              {"secret-key", kClusterSecretKey}}
             .dump();
  }
  hooklog_server a({"--config", cfg});
  auto health = a.get("/healthz");
  CHECK(health.json["role"] == "cluster");
  CHECK(health.json["cell"] == "m");
  CHECK(health.json["node_id"] == "from-file");
  auto bad = a.get("/v1/events?min_seq=abc");
  CHECK(bad.status == 400);
  CHECK(bad.json["error"]["details"]["parameter"] == "min_seq");
  auto far = a.get("/v1/entities/order/x/timeline?tenant=jelp&min_seq=1000000");
  CHECK(far.status == 503);
  CHECK(far.json["error"]["code"] == "min_seq_not_reached");
  CHECK(far.json["error"]["details"]["applied_seq"] == 0);
  // Requests waiting for a seq hold no I/O thread: four of them (the server has one I/O thread
  // per core, two here) once froze every connection, /healthz too, for their 5 s.
  std::vector<std::thread> waiting;
  std::atomic<int> refused{0};
  for (int i = 0; i < 4; ++i)
    waiting.emplace_back([&] {
      hooklog::http::http_client own("127.0.0.1", a.port());  // one client per thread
      auto r = own.request("GET", "/v1/events?min_seq=1000000", {},
                           {{"Authorization", std::string("Bearer ") + kAdminKey}});
      if (r && r->status == 503) ++refused;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(a.get("/healthz").status == 200);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(1));
  for (auto& t : waiting) t.join();
  CHECK(refused == 4);
  // A seq that comes while its request waits is answered when it comes.
  std::atomic<bool> posted_ok{false};
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    hooklog::http::http_client own("127.0.0.1", a.port());
    auto posted = own.request("POST", kStatusChange, jelp_status("late", "NEW"),
                              {{"Authorization", std::string("Bearer ") + kAdminKey},
                               {"Content-Type", "application/json"}});
    posted_ok = posted && posted->status == 202;
  });
  auto got = a.get("/v1/events?limit=1&min_seq=1");
  later.join();
  CHECK(posted_ok);
  CHECK(got.status == 200);
}

TEST_CASE("bad cluster configuration is refused at start with a clear error", "[cluster][serve]") {
  temp_dir dir;
  auto run = [&](std::vector<std::string> args) {
    const std::string err = (dir / "stderr.txt").string();
    std::filesystem::remove(err);
    child_process p(HOOKLOG_BINARY, args, {}, err);
    auto st = p.wait_exit(std::chrono::seconds(30));
    REQUIRE(st);
    return std::make_pair(WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, read_file(err));
  };
  auto serve_on = [&](const std::string& data, std::vector<std::string> extra) {
    std::vector<std::string> args = {"serve", "--listen",    "127.0.0.1:0", "--data",
                                     data,    "--admin-key", kAdminKey};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  auto serve = [&](std::vector<std::string> extra) {
    return serve_on((dir / "data").string(), std::move(extra));
  };
  const std::string nowhere = "nats://127.0.0.1:" + std::to_string(free_port());
  {
    auto [code, err] =
        serve({"--cluster", nowhere, "--cell", "x", "--secret-key", kClusterSecretKey});
    CHECK(code == 1);
    CHECK(err.find("cannot reach NATS at " + nowhere) != std::string::npos);
  }
  {
    auto [code, err] = serve({"--cluster", nowhere, "--cell", "x"});
    CHECK(code == 2);
    CHECK(err.find("--cluster needs --secret-key") != std::string::npos);
  }
  {
    auto [code, err] = serve({"--cluster", nowhere, "--secret-key", kClusterSecretKey});
    CHECK(code == 2);
    CHECK(err.find("--cluster needs --cell NAME") != std::string::npos);
  }
  {
    auto [code, err] = serve(
        {"--cluster", "http://127.0.0.1:4222", "--cell", "x", "--secret-key", kClusterSecretKey});
    CHECK(code == 2);
    CHECK(err.find("cluster URL 'http://127.0.0.1:4222' is not nats://") != std::string::npos);
  }
  // The cell's stream exists with another maximum age than this node's.
  nats_cluster nats(1);
  {
    hooklog::cluster::connect_options o;
    o.urls = {nats.url(0)};
    auto c = hooklog::cluster::connection::connect(o);
    REQUIRE(c);
    auto js = hooklog::cluster::jetstream::open(**c);
    REQUIRE(js);
    hooklog::cluster::stream_settings s;
    s.cell = "other";
    s.replicas = 1;
    s.max_age = std::chrono::seconds(3600);
    REQUIRE(hooklog::cluster::ensure_stream(**js, s));
  }
  auto [code, err] = serve({"--cluster", nats.urls(), "--cell", "other", "--secret-key",
                            kClusterSecretKey, "--cluster-replicas", "1"});
  CHECK(code == 1);
  CHECK(err.find("stream HOOKLOG_OTHER exists with max age 3600 s, this node is configured for "
                 "none (--cluster-max-age); refusing to use it") != std::string::npos);

  // A node whose --secret-key or --lease-ttl-ms differ from the running cell's is refused: its
  // endpoint secrets would not open on the others (nor theirs here), and unequal TTLs let two
  // nodes hold one slot.
  {
    hooklog_server first({"--cluster", nats.urls(), "--cell", "shared", "--secret-key",
                          kClusterSecretKey, "--cluster-replicas", "1", "--node-id", "first"});
    auto [key_code, key_err] =
        serve_on((dir / "second").string(),
                 {"--cluster", nats.urls(), "--cell", "shared", "--secret-key",
                  std::string(64, '7'), "--cluster-replicas", "1", "--node-id", "second"});
    CHECK(key_code == 1);
    CHECK(key_err.find("cell 'shared' was started with another --secret-key than this node") !=
          std::string::npos);
    auto [ttl_code, ttl_err] =
        serve_on((dir / "third").string(),
                 {"--cluster", nats.urls(), "--cell", "shared", "--secret-key", kClusterSecretKey,
                  "--cluster-replicas", "1", "--node-id", "third", "--lease-ttl-ms", "9000"});
    CHECK(ttl_code == 1);
    CHECK(ttl_err.find("cell 'shared' runs with a lease TTL of 5000 ms, this node was started "
                       "with 9000 ms") != std::string::npos);
  }

  // A data directory belongs to one cell, or to single-node mode: never both histories.
  const std::string single = (dir / "single").string();
  {
    hooklog_server s({}, single);
    REQUIRE(s.call("POST", kStatusChange, jelp_status("S1", "NEW")).status == 202);
  }
  {
    auto [code, err] =
        serve_on(single, {"--cluster", nats.urls(), "--cell", "first", "--secret-key",
                          kClusterSecretKey, "--cluster-replicas", "1"});
    CHECK(code == 1);
    CHECK(err.find("data directory " + single +
                   " holds a single-node log (1 records): cluster mode starts from an empty "
                   "data directory or one of its cell") != std::string::npos);
  }
  const std::string node = (dir / "node").string();
  { hooklog_server n(cluster_node_args(nats, "first", "n1", 1), node); }
  {
    auto [code, err] = serve_on(node, {"--cluster", nats.urls(), "--cell", "second", "--secret-key",
                                       kClusterSecretKey, "--cluster-replicas", "1"});
    CHECK(code == 1);
    CHECK(err.find("data directory " + node + " belongs to cell first, not second (--cell)") !=
          std::string::npos);
  }
  {
    auto [code, err] = serve_on(node, {});
    CHECK(code == 1);
    CHECK(err.find("data directory " + node +
                   " is a node of cell first: start it with --cluster URLS --cell first") !=
          std::string::npos);
  }
  {
    auto [code, err] = run({"import", "--data", node, "--source", "jelp",
                            std::string(HOOKLOG_DATA_DIR) + "/samples/jelp/order_new.json"});
    CHECK(code == 2);
    CHECK(err.find("data directory " + node + " is a node of cell first") != std::string::npos);
  }
}
