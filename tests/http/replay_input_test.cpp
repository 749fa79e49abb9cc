// Replays over the real server and receiver, from a review: an endpoint without a tenant (one a
// version before the check created) gets no tenant's events; a misspelled member of `entity` or
// of a cancel body is refused rather than ignored; a replay's times are its records', the same
// after a restart.
#include <catch2/catch.hpp>

#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"
#include "support/stored_records.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// 20 events, tenants acme and globex in turn, occurred times 12:00 to 12:19.
void post_events(hooklog_server& s) {
  std::string batch;
  for (int i = 0; i < 20; ++i) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "2024-05-01T12:%02d:00Z", i);
    batch += json{{"id", "e" + std::to_string(i)},
                  {"type", "order.updated"},
                  {"timestamp", ts},
                  {"tenant", i % 2 ? "globex" : "acme"},
                  {"entity", {{"kind", "order"}, {"id", "O" + std::to_string(i % 4)}}},
                  {"data", {{"n", i}}}}
                 .dump() +
             "\n";
  }
  auto r = s.post_ndjson("/v1/sources/standard/events:batch", batch);
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json["refused"] == 0);
}

// An endpoint of tenant acme at the receiver.
std::string acme_endpoint(hooklog_server& s, receiver_proc& rx) {
  auto ep = s.post("/v1/endpoints", {{"url", rx.url("/in")}, {"tenant", "acme"}, {"secret", kSecret}});
  INFO(ep.body);
  REQUIRE(ep.status == 201);
  return ep.json["id"];
}

json wait_done(hooklog_server& s, const std::string& id) {
  json last;
  REQUIRE(eventually([&] {
    last = s.get("/v1/replays/" + id).json;
    return last["state"] != "running";
  }));
  return last;
}

}  // namespace

TEST_CASE("replay: an endpoint with no tenant is sent no tenant's events", "[replay][security]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  const std::string data = (dir.path() / "data").string();
  // As a version that took "tenant":"" wrote it.
  store_record(data, endpoint_created_record(
                         "", "ep_blank",
                         json{{"id", "ep_blank"}, {"url", rx.url("/in")}, {"tenant", ""}, {"secret", kSecret}}
                             .dump()));
  hooklog_server s({"--allow-private-targets"}, data);
  post_events(s);
  // Sent every tenant's 20 events; and by occurred time, a walk out of seq order: 5 of 20,
  // one twice.
  for (const json& extra :
       {json::object(), json{{"time", "occurred"},
                             {"from", "2024-05-01T12:00:00Z"},
                             {"to", "2024-05-01T13:00:00Z"},
                             {"rate_limit", 4}}}) {
    json req = extra;
    req["endpoint_id"] = "ep_blank";
    auto r = s.post("/v1/replays", req);
    INFO(r.body);
    REQUIRE(r.status == 202);
    const json done = wait_done(s, r.json["id"]);
    INFO(done.dump());
    CHECK(done["state"] == "finished");
    CHECK(done["scheduled"] == 0);
    CHECK(done["delivered"] == 0);
  }
  CHECK(rx.lines().empty());
}

TEST_CASE("replay: unknown members of entity and of a cancel body are refused", "[replay]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  const std::string id = acme_endpoint(s, rx);
  post_events(s);
  // {"kind":"order","ID":"O1"} replayed every order.
  auto r = s.post("/v1/replays",
                  {{"endpoint_id", id}, {"entity", {{"kind", "order"}, {"ID", "O1"}}}});
  INFO(r.body);
  CHECK(r.status == 422);
  CHECK(r.json["error"]["code"] == "invalid_replay");
  CHECK(r.json["error"]["details"]["field"] == "/entity/ID");
  CHECK(r.json["error"]["message"] == "entity.ID: unknown field (entity takes kind and id)");
  CHECK(s.get("/v1/replays").json["items"].empty());

  auto slow = s.post("/v1/replays", {{"endpoint_id", id}, {"rate_limit", 1}});
  REQUIRE(slow.status == 202);
  const std::string rid = slow.json["id"];
  auto c = s.call("DELETE", "/v1/replays/" + rid, R"({"reasn":"typo","reason":"x"})");
  INFO(c.body);
  CHECK(c.status == 422);
  CHECK(c.json["error"]["details"]["field"] == "/reasn");
  c = s.call("DELETE", "/v1/replays/" + rid, R"({"reason":5})");
  CHECK(c.status == 422);
  CHECK(c.json["error"]["details"]["field"] == "/reason");
  CHECK(s.get("/v1/replays/" + rid).json["state"] == "running");
  c = s.call("DELETE", "/v1/replays/" + rid, R"({"reason":"done with it"})");
  CHECK(c.status == 200);
  CHECK(c.json["state"] == "cancelled");
}

TEST_CASE("replay: created_at and finished_at are its records' times, the same after a restart",
          "[replay]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  const std::string ep = acme_endpoint(s, rx);
  post_events(s);
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}});
  REQUIRE(r.status == 202);
  const std::string id = r.json["id"];
  const json done = wait_done(s, id);
  REQUIRE(done["state"] == "finished");
  auto slow = s.post("/v1/replays", {{"endpoint_id", ep}, {"rate_limit", 1}});
  REQUIRE(slow.status == 202);
  const std::string sid = slow.json["id"];
  auto cancelled = s.call("DELETE", "/v1/replays/" + sid);
  REQUIRE(cancelled.status == 200);
  s.restart();
  const json again = s.get("/v1/replays/" + id).json;
  CHECK(again["created_at"] == r.json["created_at"]);
  CHECK(again["finished_at"] == done["finished_at"]);
  const json c2 = s.get("/v1/replays/" + sid).json;
  CHECK(c2["created_at"] == slow.json["created_at"]);
  CHECK(c2["finished_at"] == cancelled.json["finished_at"]);
}

TEST_CASE("replay: event_id replays that event only, not the rest of its batch", "[replay]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  const std::string ep = acme_endpoint(s, rx);
  // One batch: one commit, one recorded µs for all of it (the console replayed that µs).
  auto b = s.post_ndjson("/v1/sources/standard/events:batch?deliver=false",
                         R"({"id":"a","type":"t.same","tenant":"acme","data":{"n":1}})"
                         "\n"
                         R"({"id":"b","type":"t.same","tenant":"acme","data":{"n":2}})"
                         "\n"
                         R"({"id":"c","type":"t.same","tenant":"acme","data":{"n":3}})"
                         "\n");
  INFO(b.body);
  REQUIRE(b.status == 200);
  const std::string second = b.json["items"][1]["id"];
  auto r = s.post("/v1/replays", {{"endpoint_id", ep}, {"event_id", second}});
  INFO(r.body);
  REQUIRE(r.status == 202);
  CHECK(r.json["request"]["event_id"] == second);
  const json done = wait_done(s, r.json["id"]);
  CHECK(done["scheduled"] == 1);
  REQUIRE(eventually([&] { return rx.lines().size() == 1; }));
  CHECK(json::parse(rx.lines()[0]["body"].get<std::string>())["data"]["n"] == 2);
  auto bad = s.post("/v1/replays", {{"endpoint_id", ep}, {"event_id", "evt_zz"}});
  CHECK(bad.status == 422);
  CHECK(bad.json["error"]["details"]["field"] == "/event_id");
}
