// Replays keep the original webhook-id unless the replay asks for "fresh" ids: one per
// (replay, event), the same after a restart; with the real `hooklog serve` and receiver.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "http/delivery/delivery_fixture.hpp"
#include "http/delivery/replay_spec.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

void post_events(hooklog_server& s, int n) {
  std::string batch;
  for (int i = 0; i < n; ++i)
    batch += json{{"id", "src-" + std::to_string(i)},
                  {"type", "invoice.paid"},
                  {"tenant", "acme"},
                  {"data", {{"n", i}}}}
                 .dump() +
             "\n";
  auto r = s.call("POST", "/v1/sources/standard/events:batch?deliver=false", batch, kAdminKey,
                  {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.json["stored"] == n);
}

json wait_done(hooklog_server& s, const std::string& id, std::uint64_t n) {
  json last;
  eventually(
      [&] {
        last = s.get("/v1/replays/" + id).json;
        return last["state"] == "finished" && last["delivered"].get<std::uint64_t>() >= n;
      },
      std::chrono::seconds(60));
  return last;
}

}  // namespace

TEST_CASE("replay: webhook_ids original keeps the event id, fresh sends a new stable one",
          "[replay][webhook-id]") {
  temp_dir d;
  receiver_proc rx(d, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 300);
  auto ep = s.post("/v1/endpoints", {{"url", rx.url()}, {"tenant", "acme"}, {"secret", kSecret}});
  REQUIRE(ep.status == 201);

  // The default: the original ids (evt_...), recorded in the replay's request.
  auto orig = s.post("/v1/replays", {{"endpoint_id", ep.json["id"]}});
  REQUIRE(orig.status == 202);
  CHECK(orig.json["request"]["webhook_ids"] == "original");
  CHECK(wait_done(s, orig.json["id"], 300)["delivered"] == 300);

  // Fresh ids, slowly, with a restart in the middle.
  auto fresh =
      s.post("/v1/replays",
             {{"endpoint_id", ep.json["id"]}, {"webhook_ids", "fresh"}, {"rate_limit", 200}});
  REQUIRE(fresh.status == 202);
  const std::string rid = fresh.json["id"];
  CHECK(fresh.json["request"]["webhook_ids"] == "fresh");
  REQUIRE(eventually([&] { return rx.lines().size() >= 350; }, std::chrono::seconds(30)));
  s.restart();
  CHECK(s.get("/v1/replays/" + rid).json["request"]["webhook_ids"] == "fresh");
  CHECK(wait_done(s, rid, 300)["delivered"] == 300);

  std::set<std::string> originals, fresh_ids;
  for (const auto& l : rx.lines()) {
    INFO(l.dump());
    CHECK(l["signature_ok"] == true);  // signed over the id actually sent
    const std::string id = l["webhook_id"];
    const std::string replay = l["headers"].value("webhook-replay", "");
    const auto body = json::parse(l["body"].get<std::string>());
    if (replay == orig.json["id"]) {
      CHECK(id.rfind("evt_", 0) == 0);
      originals.insert(id);
    } else {
      REQUIRE(replay == rid);
      // Deterministic per (replay, event): the seq is the event's (events are seqs 1..300).
      const std::uint64_t seq = static_cast<std::uint64_t>(body["data"]["n"].get<int>()) + 1;
      CHECK(id == hooklog::http::fresh_webhook_id(rid, seq));
      CHECK(id.rfind("msg_", 0) == 0);
      fresh_ids.insert(id);
    }
  }
  CHECK(originals.size() == 300);
  CHECK(fresh_ids.size() == 300);  // an in-flight resend after the restart reuses its id

  auto bad = s.post("/v1/replays", {{"endpoint_id", ep.json["id"]}, {"webhook_ids", "new"}});
  CHECK(bad.status == 422);
  CHECK(bad.json["error"]["code"] == "invalid_replay");
  CHECK(bad.json["error"]["details"]["field"] == "/webhook_ids");
}

// A replay's state is rebuilt at start from the replay's own records: an event that names the
// entity ("replay", its id), as a producer's payload may, changes nothing.
TEST_CASE("replay: an event under the replay's entity does not change the replay after a restart",
          "[replay]") {
  temp_dir d;
  receiver_proc rx(d, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  post_events(s, 5);
  auto ep = s.post("/v1/endpoints", {{"url", rx.url()}, {"tenant", "acme"}, {"secret", kSecret}});
  REQUIRE(ep.status == 201);
  auto rp = s.post("/v1/replays", {{"endpoint_id", ep.json["id"]}});
  REQUIRE(rp.status == 202);
  const std::string rid = rp.json["id"];
  const json before = wait_done(s, rid, 5);
  REQUIRE(before["delivered"] == 5);

  s.kill_hard();
  {
    hooklog::log_options o;
    o.dir = s.data_dir();
    auto log = hooklog::event_log::open(o);
    REQUIRE(log.ok());
    hooklog::record r;
    r.kind = hooklog::record_kind::event_received;
    r.tenant = "acme";
    r.source = "standard";
    r.type = "invoice.paid";
    r.entity_kind = "replay";
    r.entity_id = rid;
    r.body = json{{"state", "running"},   {"scanned", 123456789}, {"scanned_to", 999999},
                  {"scheduled", 424242},  {"delivered", 987654321}, {"failed", 7},
                  {"counted_to", 999999}}
                 .dump();
    std::vector<hooklog::record> v{r};
    auto out = (*log)->append(v);
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].ok());
  }
  s.start();
  // After the kill -9 the replay's counts are counted again from the log's attempts once the
  // server runs (a read right after the start can come before that): wait until they are back
  // where they were. The forged event's numbers never match them.
  const auto keys = {"scanned", "scanned_to", "scheduled", "delivered", "failed"};
  json after;
  eventually(
      [&] {
        after = s.get("/v1/replays/" + rid).json;
        for (const char* k : keys)
          if (after[k] != before[k]) return false;
        return after["state"] == "finished";
      },
      std::chrono::seconds(10));
  INFO(after.dump());
  CHECK(after["state"] == "finished");
  for (const char* k : keys) CHECK(after[k] == before[k]);
}
