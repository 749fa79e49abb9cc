// Replays with the real server and the real receiver: modes, restart mid-replay,
// cancel, tenant isolation, live latency while a replay runs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

// n events of tenant acme: invoice INV-<i % entities>, alternating paid / created.
void post_events(hooklog_server& s, int n, int entities = 10, int first = 0, const std::string& q = "") {
  std::string batch;
  for (int i = first; i < first + n; ++i) {
    nlohmann::json e = {{"id", "evt_src_" + std::to_string(i)},
                        {"type", i % 2 ? "invoice.created" : "invoice.paid"},
                        {"timestamp", "2024-05-01T12:00:00Z"},
                        {"tenant", "acme"},
                        {"entity", {{"kind", "invoice"}, {"id", "INV-" + std::to_string(i % entities)}}},
                        {"data", {{"n", i}}}};
    batch += e.dump() + "\n";
  }
  auto r = s.call("POST", "/v1/sources/standard/events:batch" + q, batch, kAdminKey,
                  {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.json["refused"] == 0);
}

std::string add_endpoint(hooklog_server& s, const std::string& url, nlohmann::json extra = {}) {
  nlohmann::json body = {{"url", url}, {"tenant", "acme"}, {"ordering", "entity"}, {"events", {"invoice.*"}}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  auto r = s.post("/v1/endpoints", body);
  REQUIRE(r.status == 201);
  return r.json["id"];
}

nlohmann::json wait_replay(hooklog_server& s, const std::string& id, std::uint64_t delivered_plus_failed,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  nlohmann::json last;
  eventually(
      [&] {
        last = s.get("/v1/replays/" + id).json;
        return last["state"] != "running" &&
               last["delivered"].get<std::uint64_t>() + last["failed"].get<std::uint64_t>() >= delivered_plus_failed;
      },
      timeout);
  return last;
}

// webhook ids in arrival order, per entity (from the body), checked ascending.
void check_order_per_entity(const std::vector<nlohmann::json>& lines) {
  std::map<std::string, std::uint64_t> last;
  for (const auto& l : lines) {
    auto body = nlohmann::json::parse(l["body"].get<std::string>());
    const std::string ent = body["entity"]["id"];
    const std::uint64_t seq = std::stoull(l["webhook_id"].get<std::string>().substr(4), nullptr, 16);
    CHECK(seq > last[ent]);
    last[ent] = seq;
  }
}

}  // namespace

TEST_CASE("replay: an endpoint added after 1,000 events gets them in each mode", "[replay]") {
  temp_dir d;
  receiver_proc ok(d, "ok", {});
  receiver_proc flaky(d, "flaky", {"--status-mix", "200:1,500:1"});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 1000);
  const std::string ep = add_endpoint(s, ok.url());

  // missing: everything (it never received anything).
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}, {"mode", "missing"}, {"rate_limit", 20000}});
  REQUIRE(r.status == 202);
  CHECK(r.json["state"] == "running");
  const std::string id = r.json["id"];
  auto done = wait_replay(s, id, 1000);
  CHECK(done["state"] == "finished");
  CHECK(done["scheduled"] == 1000);
  CHECK(done["delivered"] == 1000);
  auto lines = ok.lines();
  REQUIRE(lines.size() == 1000);
  std::set<std::string> ids;
  for (const auto& l : lines) {
    ids.insert(l["webhook_id"].get<std::string>());
    CHECK(l["headers"]["webhook-replay"] == id);
  }
  CHECK(ids.size() == 1000);
  check_order_per_entity(lines);

  // missing again: nothing left to send.
  r = s.post("/v1/replays", {{"endpoint_id", ep}, {"mode", "missing"}, {"rate_limit", 20000}});
  REQUIRE(r.status == 202);
  done = wait_replay(s, r.json["id"], 0);
  CHECK(done["state"] == "finished");
  CHECK(done["scanned"] == 1000);
  CHECK(done["scheduled"] == 0);

  // all, with a type filter: the 500 paid ones again.
  r = s.post("/v1/replays", {{"endpoint_id", ep}, {"mode", "all"}, {"types", {"invoice.paid"}}, {"rate_limit", 20000}});
  REQUIRE(r.status == 202);
  done = wait_replay(s, r.json["id"], 500);
  CHECK(done["scheduled"] == 500);
  CHECK(eventually([&] { return ok.lines().size() == 1500; }));

  // failed: an endpoint that fails every other request, one attempt each.
  const std::string ep2 = add_endpoint(s, flaky.url(), {{"retry", {{"strategy", "fixed"}, {"base_ms", 10}, {"max_attempts", 1}}},
                                                        {"events", {"*"}}, {"max_in_flight", 1}});
  r = s.post("/v1/replays", {{"endpoint_id", ep2}, {"mode", "all"}, {"entity", {{"kind", "invoice"}, {"id", "INV-3"}}},
                             {"rate_limit", 20000}});
  REQUIRE(r.status == 202);
  done = wait_replay(s, r.json["id"], 100);
  CHECK(done["scheduled"] == 100);
  CHECK(done["delivered"] == 50);
  CHECK(done["failed"] == 50);
  r = s.post("/v1/replays", {{"endpoint_id", ep2}, {"mode", "failed"}, {"rate_limit", 20000}});
  REQUIRE(r.status == 202);
  done = wait_replay(s, r.json["id"], 50);
  CHECK(done["scheduled"] == 50);
  // The list shows them all.
  auto list = s.get("/v1/replays?endpoint_id=" + ep2);
  CHECK(list.json["items"].size() == 2);
}

TEST_CASE("replay: restart mid-replay, then it finishes with nothing missing", "[replay]") {
  temp_dir d;
  receiver_proc ok(d, "ok", {});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 1000);
  const std::string ep = add_endpoint(s, ok.url());
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}, {"rate_limit", 400}});
  REQUIRE(r.status == 202);
  const std::string id = r.json["id"];
  REQUIRE(eventually([&] { return ok.lines().size() >= 200; }));
  s.restart();
  auto mid = s.get("/v1/replays/" + id).json;
  CHECK(mid["state"] == "running");
  CHECK(mid["scanned_to"].get<std::uint64_t>() > 0);
  auto done = wait_replay(s, id, 1000);
  CHECK(done["state"] == "finished");
  auto lines = ok.lines();
  std::set<std::string> ids;
  for (const auto& l : lines) ids.insert(l["webhook_id"].get<std::string>());
  CHECK(ids.size() == 1000);
  CHECK(lines.size() - ids.size() <= 8);  // only what was in flight is sent twice
}

TEST_CASE("replay: cancel stops it, tenant keys see only their own", "[replay]") {
  temp_dir d;
  receiver_proc ok(d, "ok", {});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 1000);
  const std::string ep = add_endpoint(s, ok.url());
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}, {"rate_limit", 100}});
  REQUIRE(r.status == 202);
  const std::string id = r.json["id"];
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto c = s.call("DELETE", "/v1/replays/" + id);
  REQUIRE(c.status == 200);
  CHECK(c.json["state"] == "cancelled");
  CHECK(s.call("DELETE", "/v1/replays/" + id).status == 409);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto n = ok.lines().size();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(ok.lines().size() == n);
  CHECK(n < 1000);
  CHECK(s.get("/v1/replays/" + id).json["state"] == "cancelled");

  // Tenant isolation.
  auto k = s.post("/v1/keys", {{"tenant", "other"}});
  REQUIRE(k.status == 201);
  const std::string other = k.json["key"];
  CHECK(s.post("/v1/replays", {{"endpoint_id", ep}}, other).status == 404);
  // A time in microseconds outside what RFC 3339 writes is refused naming the field (before,
  // 2^64 - 1 was taken as -1, the epoch, and the replay ran from the beginning).
  auto wrapped = s.post("/v1/replays", {{"endpoint_id", ep}, {"from", UINT64_MAX}});
  CHECK(wrapped.status == 422);
  CHECK(wrapped.json["error"]["message"] ==
        "from: 18446744073709551615 microseconds is past the year 9999");
  CHECK(wrapped.json["error"]["details"]["field"] == "/from");
  auto early = s.post("/v1/replays", {{"endpoint_id", ep}, {"to", INT64_MIN}});
  CHECK(early.status == 422);
  CHECK(early.json["error"]["message"] ==
        "to: -9223372036854775808 microseconds is outside the years 1 to 9999");
  CHECK(s.get("/v1/replays/" + id, other).status == 404);
  CHECK(s.get("/v1/replays", other).json["items"].empty());
  CHECK(s.call("DELETE", "/v1/replays/" + id, "", other).status == 404);
  auto oe = s.post("/v1/endpoints", {{"url", ok.url("/other")}}, other);
  REQUIRE(oe.status == 201);
  r = s.post("/v1/replays", {{"endpoint_id", oe.json["id"]}, {"rate_limit", 10000}}, other);
  REQUIRE(r.status == 202);
  auto done = wait_replay(s, r.json["id"], 0);
  CHECK(done["scanned"] == 0);  // acme's events are not other's
  CHECK(done["tenant"] == "other");
  // An endpoint created with replay_from gets history in the same request.
  auto ne = s.post("/v1/endpoints", {{"url", ok.url("/new")}, {"tenant", "acme"}, {"replay_from", "2000-01-01T00:00:00Z"}});
  REQUIRE(ne.status == 201);
  REQUIRE(ne.json.contains("replay"));
  CHECK(ne.json["replay"]["state"] == "running");
  CHECK(s.get("/v1/replays/" + ne.json["replay"]["id"].get<std::string>()).status == 200);
  CHECK(s.call("DELETE", "/v1/replays/" + ne.json["replay"]["id"].get<std::string>()).status == 200);
}

TEST_CASE("replay: a cancelled replay's counters stay as the cancel answered them", "[replay]") {
  // Attempts in flight at the cancel landed later and were counted, or not, depending on whether
  // another replay kept the manager following, and again after a restart.
  temp_dir d;
  receiver_proc slow(d, "slow", {"--delay-ms", "1500"});
  receiver_proc ok(d, "ok", {});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 40);
  const std::string ep = add_endpoint(s, slow.url(), {{"max_in_flight", 8}});
  // Another replay, slow by its rate, keeps the manager following attempts past the cancel.
  const std::string other = add_endpoint(s, ok.url("/other"));
  REQUIRE(s.post("/v1/replays", {{"endpoint_id", other}, {"rate_limit", 4}}).status == 202);
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}});
  REQUIRE(r.status == 202);
  const std::string id = r.json["id"];
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // one wave answered, one in flight
  auto c = s.call("DELETE", "/v1/replays/" + id);
  REQUIRE(c.status == 200);
  const auto delivered = c.json["delivered"];
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the wave in flight lands
  CHECK(s.get("/v1/replays/" + id).json["delivered"] == delivered);
  s.restart();
  CHECK(s.get("/v1/replays/" + id).json["delivered"] == delivered);
}

TEST_CASE("replay: live deliveries keep their latency while a replay runs", "[replay]") {
  temp_dir d;
  receiver_proc ok(d, "ok", {});
  receiver_proc live(d, "live", {});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 3000, 50);
  const std::string ep = add_endpoint(s, ok.url(), {{"ordering", "none"}});
  const std::string live_ep = add_endpoint(s, live.url(), {{"ordering", "none"}, {"events", {"live.*"}}});
  (void)live_ep;
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}, {"rate_limit", 5000}});
  REQUIRE(r.status == 202);
  std::vector<double> ms;
  for (int i = 0; i < 40; ++i) {
    nlohmann::json e = {{"id", "live_" + std::to_string(i)}, {"type", "live.ping"}, {"tenant", "acme"},
                        {"timestamp", "2024-05-01T12:00:00Z"}};
    const auto t0 = std::chrono::steady_clock::now();
    auto p = s.call("POST", "/v1/sources/standard/events", e.dump());
    REQUIRE(p.status == 202);
    REQUIRE(eventually([&] { return live.lines().size() == static_cast<std::size_t>(i + 1); },
                       std::chrono::seconds(5)));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double p99 = ms[ms.size() * 99 / 100];
  INFO("live p99 ms under replay: " << p99);
  CHECK(p99 < 500);
  CHECK(s.get("/v1/replays/" + r.json["id"].get<std::string>()).json["scheduled"].get<std::uint64_t>() > 0);
}

// `hooklog replay --wait` ends once nothing queued serves the replay, however its items end. Here
// every event was queued by live delivery before the replay reached it: the replay relies on those
// items (it delivers nothing itself), so before, deliveries_outstanding stayed at the events'
// count (scheduled - delivered - failed) and --wait looped forever.
TEST_CASE("replay: --wait ends when the live items it relies on dead-letter or go with the endpoint",
          "[replay]") {
  temp_dir d;
  receiver_proc bad(d, "bad", {"--status-mix", "500:1"});
  for (const bool delete_endpoint : {false, true}) {
    INFO((delete_endpoint ? "endpoint deleted" : "live items retried, then dead-lettered"));
    hooklog_server s({"--allow-private-targets"});
    const std::string url = "http://127.0.0.1:" + std::to_string(s.port());
    // Dead after 3 attempts 1.5 s apart (the replay relies on them well before), or retried
    // every minute until the endpoint goes.
    const std::string ep = add_endpoint(
        s, bad.url(),
        {{"retry", {{"strategy", "fixed"}, {"base_ms", delete_endpoint ? 60'000 : 1500}, {"max_attempts", delete_endpoint ? 20 : 3}}}});
    post_events(s, 5, 5);
    run_result cli{-2, ""};
    std::thread waiter([&] {
      cli = run_hooklog({"replay", "--server", url, "--key", kAdminKey, "--endpoint", ep, "--mode", "all",
                         "--from", "2000-01-01T00:00:00Z", "--wait"},
                        std::chrono::seconds(40));
    });
    std::string id;
    eventually([&] {  // the replay scanned everything: it relies on the 5 live items
      auto l = s.get("/v1/replays?endpoint_id=" + ep).json;
      if (l["items"].empty()) return false;
      id = l["items"][0]["id"];
      return l["items"][0]["state"] == "finished";
    });
    auto r = s.get("/v1/replays/" + id).json;
    CHECK(r["scheduled"] == 5);
    CHECK(r["delivered"] == 0);
    if (delete_endpoint) {
      CHECK(r["left"]["deliveries_outstanding"] == 5);  // retried every minute
      REQUIRE(s.call("DELETE", "/v1/endpoints/" + ep).status == 200);
    }
    waiter.join();
    INFO(cli.out);
    CHECK(cli.exit_code == 0);  // finished (before: the test's 40 s bound killed it)
    r = s.get("/v1/replays/" + id).json;
    CHECK(r["state"] == "finished");
    CHECK(r["left"]["deliveries_outstanding"] == 0);
  }
}
