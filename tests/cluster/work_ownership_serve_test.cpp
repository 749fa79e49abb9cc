// Work ownership with real processes: 3 nats-servers, 3 `hooklog serve --cluster` nodes and a
// hooklog-receiver on loopback. Deliveries run on the node holding the endpoint's slot; a kill -9
// of that node hands them to another; a SIGSTOP past the lease fences the paused node; replays
// and endpoint changes made through one node take effect on the node that delivers.
#include <signal.h>

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <fstream>
#include <map>
#include <set>

#include "engine/time_util.hpp"
#include "http/delivery/cluster/slot_leases.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kMasterKey =
    "8f2a1c3e5b7d9f0e2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f";
constexpr int kNodes = 3;
constexpr int kEndpoints = 6;
constexpr std::uint32_t kSlots = 64;  // the default

struct cell {
  nats_cluster nats{3};
  temp_dir dir;
  std::vector<std::unique_ptr<hooklog_server>> nodes;
  cell() {
    for (int i = 0; i < kNodes; ++i)
      nodes.push_back(std::make_unique<hooklog_server>(
          std::vector<std::string>{"--allow-private-targets", "--cluster", nats.urls(), "--cell",
                                   "work", "--secret-key", kMasterKey},
          (dir.path() / ("node" + std::to_string(i))).string(),
          (dir.path() / ("node" + std::to_string(i) + ".log")).string()));
  }
  bool alive(int i) const { return nodes[i] != nullptr; }
  // The slots node i holds (its /healthz), empty when it does not answer.
  std::set<std::uint32_t> slots(int i) {
    auto h = nodes[i]->get("/healthz");
    std::set<std::uint32_t> out;
    if (h.status == 200 && h.json.contains("slots"))
      for (auto& s : h.json["slots"]["held"]) out.insert(s.get<std::uint32_t>());
    return out;
  }
  // Every slot held by exactly one of the running, not paused, nodes in `which`.
  bool partitioned(const std::vector<int>& which) {
    std::size_t n = 0;
    std::set<std::uint32_t> all;
    for (int i : which) {
      auto s = slots(i);
      n += s.size();
      all.insert(s.begin(), s.end());
    }
    return n == kSlots && all.size() == kSlots;
  }
  // Partitioned, and balanced: nobody above the fair share ceil(64 / n), so the last node to
  // take has at least 64 - (n - 1) * share (22 + 22 + 20 for three nodes, 32 + 32 for two).
  bool balanced(const std::vector<int>& which) {
    if (!partitioned(which)) return false;
    const std::size_t n = which.size(), share = (kSlots + n - 1) / n;
    for (int i : which)
      if (slots(i).size() > share || slots(i).size() < kSlots - (n - 1) * share) return false;
    return true;
  }
  int holder(const std::string& endpoint_id, const std::vector<int>& which) {
    const auto slot = cluster::slot_leases::slot_of(endpoint_id, kSlots);
    for (int i : which)
      if (slots(i).count(slot)) return i;
    return -1;
  }
};

std::string event_body(int endpoint, int n) {
  return json{{"id", "w-" + std::to_string(endpoint) + "-" + std::to_string(n)},
              {"type", "t" + std::to_string(endpoint) + ".created"},
              {"timestamp", "2024-02-10T00:00:00Z"},
              {"tenant", "t1"},
              {"data", {{"n", n}}}}
      .dump();
}

std::map<std::string, int> received(const receiver_proc& rx) {
  std::map<std::string, int> out;
  for (auto& l : rx.lines()) out[l["webhook_id"].get<std::string>()]++;
  return out;
}

bool all_arrived(const receiver_proc& rx, const std::set<std::string>& ids) {
  auto got = received(rx);
  for (auto& id : ids)
    if (!got.count(id)) return false;
  return true;
}

}  // namespace

TEST_CASE("work: a killed slot holder's deliveries are taken over, a paused one fences itself",
          "[cluster][ownership][serve]") {
  cell c;
  REQUIRE(eventually([&] { return c.balanced({0, 1, 2}); }, seconds(30)));
  // A slow receiver keeps deliveries queued and in flight (1 per endpoint at 300 ms).
  receiver_proc rx(c.dir, "rx", {"--secret", kSecret, "--delay-ms", "300"});
  std::vector<std::string> eps;
  for (int e = 0; e < kEndpoints; ++e) {
    auto r =
        c.nodes[e % kNodes]->post("/v1/endpoints", {{"url", rx.url()},
                                                    {"tenant", "t1"},
                                                    {"secret", kSecret},
                                                    {"max_in_flight", 1},
                                                    {"events", {"t" + std::to_string(e) + ".*"}}});
    REQUIRE(r.status == 201);
    eps.push_back(r.json["id"].get<std::string>());
  }
  // Every node sees every endpoint (read-your-writes through the stream).
  for (int i = 0; i < kNodes; ++i)
    for (auto& id : eps)
      REQUIRE(eventually([&] { return c.nodes[i]->get("/v1/endpoints/" + id).status == 200; }));

  std::set<std::string> ids;
  std::map<std::string, int> endpoint_of;  // webhook-id -> endpoint index
  auto ingest = [&](int n, const std::vector<int>& through, int only_endpoint = -1) {
    for (int k = 0; k < n; ++k)
      for (int e = 0; e < kEndpoints; ++e) {
        if (only_endpoint >= 0 && e != only_endpoint) continue;
        auto r = c.nodes[through[(k + e) % through.size()]]->call(
            "POST", "/v1/sources/standard/events", event_body(e, static_cast<int>(ids.size())));
        REQUIRE(r.status == 202);
        const std::string id = r.json["id"].get<std::string>();
        ids.insert(id);
        endpoint_of[id] = e;
      }
  };
  ingest(5, {0, 1, 2});
  REQUIRE(eventually([&] { return all_arrived(rx, ids); }, seconds(30)));

  // ---- kill -9 of the node holding the most endpoints --------------------------------------
  std::map<int, std::vector<int>> by_node;
  for (int e = 0; e < kEndpoints; ++e) by_node[c.holder(eps[e], {0, 1, 2})].push_back(e);
  REQUIRE(by_node.count(-1) == 0);
  int victim = 0;
  for (auto& [n, v] : by_node)
    if (v.size() > by_node[victim].size()) victim = n;
  std::vector<int> rest;
  for (int i = 0; i < kNodes; ++i)
    if (i != victim) rest.push_back(i);
  INFO("victim node " << victim << " holds " << by_node[victim].size() << " endpoints");
  const auto before = received(rx);
  ingest(8, rest);  // 8 more events per endpoint: one at a time, 300 ms each
  const std::int64_t kill_us = now_micros();
  c.nodes[victim]->kill_hard();
  REQUIRE(eventually([&] { return all_arrived(rx, ids); }, seconds(40)));
  // Failover: from the kill to the first request of a victim endpoint's event the receiver got
  // after it (received_at is taken when the request arrives; the line is written after the
  // receiver's delay). Only a successor can have sent it.
  std::int64_t first_after_us = -1;
  for (auto& l : rx.lines()) {
    const std::string id = l["webhook_id"].get<std::string>();
    if (!endpoint_of.count(id)) continue;
    const auto& mine = by_node[victim];
    if (std::find(mine.begin(), mine.end(), endpoint_of[id]) == mine.end()) continue;
    auto at = parse_rfc3339(l["received_at"].get<std::string>());
    REQUIRE(at);
    if (*at > kill_us && (first_after_us < 0 || *at < first_after_us)) first_after_us = *at;
  }
  REQUIRE(first_after_us > 0);
  const std::int64_t failover_ms = (first_after_us - kill_us) / 1000;
  REQUIRE(c.partitioned(rest));
  int repeats = 0;
  for (auto& [id, n] : received(rx)) repeats += n - 1;
  WARN("failover: kill -9 of the holder of "
       << by_node[victim].size() << " endpoints -> first delivery by its successor after "
       << failover_ms << " ms (lease ttl 5000 ms, heartbeat 1000 ms); " << ids.size()
       << " deliveries due, " << repeats << " repeats");
  // What was in flight at the kill (1 per endpoint of the victim), plus at most one per endpoint
  // handed back between the survivors: a survivor that takes more of the dead node's slots than
  // its share releases the extras to the other (a drain of one heartbeat, slot_leases.cpp), and
  // a delivery still in flight at that hand-back is recorded after the taker's catch-up gate
  // opened, so it can be sent again (at-least-once, docs/RELIABILITY.md; the SIGSTOP bound below
  // has the same form). Only the victim's slots move (the survivors' shares grow), so at most 2
  // per victim endpoint; a successor that sent again what the victim had finished would repeat 8
  // per endpoint. One CI run of the twelfth pass measured 4 repeats for 3 endpoints.
  CHECK(repeats <= 2 * static_cast<int>(by_node[victim].size()));
  // The attempts are in every surviving node's log (one successful attempt per event at least).
  for (int i : rest)
    for (int e = 0; e < kEndpoints; ++e)
      CHECK(eventually([&] {
        return c.nodes[i]->list_all("/v1/attempts?outcome=success&endpoint_id=" + eps[e]).size() >=
               static_cast<std::size_t>(13);
      }));

  // ---- SIGSTOP of a holder past its lease, then SIGCONT ---------------------------------------
  std::map<int, std::vector<int>> held;
  for (int e = 0; e < kEndpoints; ++e) held[c.holder(eps[e], rest)].push_back(e);
  REQUIRE(held.count(-1) == 0);
  const int paused = held[rest[0]].size() >= held[rest[1]].size() ? rest[0] : rest[1];
  const int other = paused == rest[0] ? rest[1] : rest[0];
  REQUIRE_FALSE(held[paused].empty());
  const auto before_pause = received(rx);
  ingest(8, {other});
  REQUIRE(eventually([&] { return received(rx).size() > before_pause.size(); }, seconds(10)));
  const pid_t pid = c.nodes[paused]->process().pid();
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  std::this_thread::sleep_for(milliseconds(6000));  // past the 5 s lease
  REQUIRE(eventually([&] { return c.partitioned({other}); }, seconds(5)));
  REQUIRE(::kill(pid, SIGCONT) == 0);
  REQUIRE(eventually([&] { return all_arrived(rx, ids); }, seconds(40)));
  // Both share the slots again, and the resumed node did not go on with the slots it lost.
  REQUIRE(eventually([&] { return c.balanced(rest); }, seconds(20)));
  int after_pause_repeats = 0;
  for (auto& [id, n] : received(rx))
    after_pause_repeats += n - (before_pause.count(id) ? before_pause.at(id) : 1);
  // Repeats since the pause: only what was in flight when it stopped (1 per endpoint it held).
  WARN("SIGSTOP of the holder of " << held[paused].size() << " endpoints past its 5 s lease: "
                                   << after_pause_repeats << " repeats since the pause");
  // It fenced itself (its first heartbeat after SIGCONT came too late) and took slots back by CAS.
  auto m = c.nodes[paused]->get("/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.body.find("\nhooklog_cluster_lease_fences_total 1\n") != std::string::npos);
  CHECK(m.body.find("\nhooklog_cluster_slots 64\n") != std::string::npos);
  // Repeats since the pause: what was in flight when it stopped (1 per endpoint it held), plus at
  // most one per endpoint handed back at the rebalance after SIGCONT: a delivery the other node
  // still had in flight at the hand-back is recorded after the resumed node's catch-up gate
  // (slot_ownership.hpp) opened, so the resumed node can send it again (at-least-once,
  // docs/RELIABILITY.md). What the other node had finished before the hand-back is not repeated.
  // A node that went on dispatching lost slots would repeat every delivery of the pause (8 per
  // endpoint).
  CHECK(after_pause_repeats <= 2 * static_cast<int>(held[paused].size()));

  // ---- an endpoint change and a replay made through a node that does not deliver them --------
  const int e0 = held[other].empty() ? held[paused][0] : held[other][0];
  const int owner = c.holder(eps[e0], rest);
  REQUIRE(owner >= 0);
  const int asker = owner == rest[0] ? rest[1] : rest[0];
  receiver_proc rx2(c.dir, "rx2", {"--secret", kSecret});
  auto patched =
      c.nodes[asker]->call("PATCH", "/v1/endpoints/" + eps[e0], json{{"url", rx2.url()}}.dump());
  REQUIRE(patched.status == 200);
  REQUIRE(eventually(
      [&] { return c.nodes[owner]->get("/v1/endpoints/" + eps[e0]).json["url"] == rx2.url(); }));
  std::set<std::string> to_rx2;
  {
    auto r = c.nodes[asker]->call("POST", "/v1/sources/standard/events", event_body(e0, 9999));
    REQUIRE(r.status == 202);
    to_rx2.insert(r.json["id"].get<std::string>());
  }
  REQUIRE(eventually([&] { return all_arrived(rx2, to_rx2); }, seconds(20)));
  auto rp = c.nodes[asker]->post(
      "/v1/replays", {{"endpoint_id", eps[e0]}, {"mode", "all"}, {"webhook_ids", "fresh"}});
  REQUIRE(rp.status == 202);
  const std::string replay = rp.json["id"].get<std::string>();
  REQUIRE(eventually(
      [&] {
        auto a = c.nodes[asker]->get("/v1/replays/" + replay);
        return a.json["state"] == "finished" && a.json["delivered"] == a.json["scheduled"] &&
               a.json["scheduled"].get<int>() > 0;
      },
      seconds(30)));
  // Every event of the endpoint: the replay was scanned and scheduled once, by the owner.
  int of_e0 = 1;  // the one sent to rx2
  for (auto& [id, e] : endpoint_of) of_e0 += e == e0;
  const int scheduled = c.nodes[owner]->get("/v1/replays/" + replay).json["scheduled"].get<int>();
  CHECK(scheduled == of_e0);
  std::size_t fresh = 0;
  for (auto& l : rx2.lines())
    if (l["webhook_id"].get<std::string>().rfind("msg_", 0) == 0) ++fresh;
  CHECK(fresh == static_cast<std::size_t>(scheduled));
}

TEST_CASE("work: a node with another slot count than its cell is refused at start",
          "[cluster][ownership][serve]") {
  nats_cluster nats(1);
  temp_dir dir;
  auto serve = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"serve",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data",
                                     (dir / name).string(),
                                     "--admin-key",
                                     kAdminKey,
                                     "--cluster",
                                     nats.urls(),
                                     "--cell",
                                     "slots",
                                     "--secret-key",
                                     kMasterKey,
                                     "--cluster-replicas",
                                     "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string err = (dir / (name + ".err")).string();
    child_process p(HOOKLOG_BINARY, args, {}, err);
    auto st = p.wait_exit(std::chrono::seconds(30));
    REQUIRE(st);
    std::ifstream in(err);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, text);
  };
  {
    auto [code, err] = serve("zero", {"--delivery-slots", "0"});
    CHECK(code == 2);
    CHECK(err.find("--delivery-slots") != std::string::npos);
  }
  // The first node of the cell sets its slot count (64); it keeps running.
  hooklog_server first({"--cluster", nats.urls(), "--cell", "slots", "--secret-key", kMasterKey,
                        "--cluster-replicas", "1", "--lease-ttl-ms", "2000"},
                       (dir / "first").string());
  REQUIRE(
      eventually([&] { return first.get("/healthz").json["slots"]["count"] == 64; }, seconds(10)));
  CHECK(first.get("/healthz").json["slots"]["of"] == 64);
  auto [code, err] = serve("second", {"--delivery-slots", "32"});
  CHECK(code == 1);
  CHECK(
      err.find("cell 'slots' splits delivery work into 64 slots, this node was started with 32") !=
      std::string::npos);
}
