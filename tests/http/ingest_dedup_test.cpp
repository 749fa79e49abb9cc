// Ingest over HTTP with the real `hooklog serve`: resends without an event id are duplicates
// (the source's "dedup"), kept in the log, per tenant, shared with `hooklog import`.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kStatusChange = "/v1/sources/jelp/events?type=order_update:status_change";

}  // namespace

TEST_CASE("ingest: a jelp resend without a key is a duplicate, stored and delivered once",
          "[api][dedup]") {
  temp_dir dir;
  receiver_proc rx(dir, "rx", {"--secret", kSecret});
  hooklog_server s({"--allow-private-targets"});
  auto ep = s.post(
      "/v1/endpoints",
      {{"url", rx.url()}, {"events", {"order_update:*"}}, {"tenant", "jelp"}, {"secret", kSecret}});
  REQUIRE(ep.status == 201);

  const std::string transit = jelp_status("F1", "TRANSIT");
  auto first = s.call("POST", kStatusChange, transit);
  REQUIRE(first.status == 202);
  CHECK(first.json["duplicate"] == false);
  CHECK(first.json["id"] == "evt_0000000000000002");  // seq 1 is the endpoint
  // The platform retries: the same bytes again, no Idempotency-Key.
  auto again = s.call("POST", kStatusChange, transit);
  REQUIRE(again.status == 202);
  CHECK(again.json == json{{"duplicate", true},
                           {"id", "evt_0000000000000002"},
                           {"seq", 2},
                           {"tenant", "jelp"},
                           {"type", "order_update:status_change"},
                           {"entity", {{"kind", "order"}, {"id", "F1"}}}});
  // A different body is a new event; so is the same body under another type.
  const std::string completed = jelp_status("F1", "COMPLETED", "2024-02-10T00:20:00Z");
  auto other = s.call("POST", kStatusChange, completed);
  REQUIRE(other.status == 202);
  CHECK(other.json["duplicate"] == false);
  CHECK(other.json["seq"] > 2);  // (delivery attempts take sequence numbers too)
  auto retyped = s.call("POST", "/v1/sources/jelp/events?type=order_update:comment", transit);
  REQUIRE(retyped.status == 202);
  CHECK(retyped.json["duplicate"] == false);
  CHECK(retyped.json["seq"] > other.json["seq"]);
  // One event stored per distinct (type, body).
  auto stored = s.get("/v1/events?source=jelp");
  REQUIRE(stored.status == 200);
  std::set<std::uint64_t> seqs;
  for (const auto& e : stored.json["items"]) seqs.insert(e["seq"].get<std::uint64_t>());
  CHECK(seqs == std::set<std::uint64_t>{2, other.json["seq"].get<std::uint64_t>(),
                                        retyped.json["seq"].get<std::uint64_t>()});

  // Every stored event is delivered once; the repeat was never stored, so never delivered.
  auto delivered = [&](const json& answer) {
    auto d = s.get("/v1/events/" + answer["id"].get<std::string>());
    return d.json["deliveries"].size() == 1 && d.json["deliveries"][0]["state"] == "delivered";
  };
  REQUIRE(eventually(
      [&] { return delivered(first.json) && delivered(other.json) && delivered(retyped.json); },
      std::chrono::seconds(20)));
  const auto lines = rx.lines();  // the receiver logs a request before answering it
  REQUIRE(lines.size() == 3);
  std::multiset<std::string> seen;
  for (const auto& l : lines) {
    seen.insert(l["event_type"].get<std::string>() + " " + l["body"].get<std::string>());
  }
  CHECK(seen == std::multiset<std::string>{"order_update:status_change " + transit,
                                           "order_update:status_change " + completed,
                                           "order_update:comment " + transit});
}

TEST_CASE("ingest: content dedup is per tenant, survives a restart, and yields to a key",
          "[api][dedup]") {
  hooklog_server s;
  const std::string body = jelp_status("F2", "TRANSIT");
  auto a = s.call("POST", kStatusChange, body);
  REQUIRE(a.status == 202);
  CHECK(a.json["seq"] == 1);
  // The same body for another tenant (a tenant key forces its tenant) is that tenant's event.
  auto key = s.post("/v1/keys", {{"tenant", "other"}});
  REQUIRE(key.status == 201);
  auto b = s.call("POST", kStatusChange, body, key.json["key"].get<std::string>());
  REQUIRE(b.status == 202);
  CHECK(b.json["duplicate"] == false);
  CHECK(b.json["tenant"] == "other");
  CHECK(b.json["seq"] == 3);  // seq 2 is the key
  auto b2 = s.call("POST", kStatusChange, body, key.json["key"].get<std::string>());
  CHECK(b2.json["duplicate"] == true);
  CHECK(b2.json["seq"] == 3);

  // The key lives in the log's idempotency index: a restart keeps it.
  s.restart();
  auto c = s.call("POST", kStatusChange, body);
  REQUIRE(c.status == 202);
  CHECK(c.json["duplicate"] == true);
  CHECK(c.json["id"] == "evt_0000000000000001");
  CHECK(c.json["seq"] == 1);

  // An explicit Idempotency-Key wins over the content: the same body under a new key is new,
  // and that key's repeat is its duplicate; the key with another body is refused (issue 13).
  auto k1 = s.call("POST", kStatusChange, body, kAdminKey, {{"Idempotency-Key", "k-1"}});
  REQUIRE(k1.status == 202);
  CHECK(k1.json["duplicate"] == false);
  CHECK(k1.json["seq"] == 4);
  auto k1again = s.call("POST", kStatusChange, body, kAdminKey, {{"Idempotency-Key", "k-1"}});
  CHECK(k1again.json["duplicate"] == true);
  CHECK(k1again.json["seq"] == 4);
  auto k1other = s.call("POST", kStatusChange, jelp_status("F9", "X"), kAdminKey,
                        {{"Idempotency-Key", "k-1"}});
  CHECK(k1other.status == 422);
  CHECK(k1other.json["error"]["code"] == "idempotency_key_reused");
  CHECK(k1other.json["error"]["details"]["header"] == "Idempotency-Key");
  CHECK(s.get("/v1/audit/head").json["seq"] == 4);
  auto event = s.get("/v1/events/evt_0000000000000001");
  REQUIRE(event.status == 200);
  CHECK(event.json["idempotency_key"].get<std::string>().rfind("sha256:", 0) == 0);
}

TEST_CASE("ingest batch: repeated lines are duplicates of the first", "[api][dedup]") {
  hooklog_server s;
  const std::string a = jelp_status("F3", "TRANSIT");
  const std::string b = jelp_status("F3", "COMPLETED", "2024-02-10T00:20:00Z");
  auto r = s.post_ndjson("/v1/sources/jelp/events:batch?type=order_update:status_change",
                         a + "\n" + a + "\r\n" + b + "\n\n" + a + "\n");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json["stored"] == 2);
  CHECK(r.json["duplicates"] == 2);
  CHECK(r.json["refused"] == 0);
  REQUIRE(r.json["items"].size() == 4);
  CHECK(r.json["items"][0]["duplicate"] == false);
  CHECK(r.json["items"][0]["seq"] == 1);
  CHECK(r.json["items"][1]["duplicate"] == true);  // CRLF: the line without its CR
  CHECK(r.json["items"][1]["seq"] == 1);
  CHECK(r.json["items"][2]["seq"] == 2);
  CHECK(r.json["items"][3]["line"] == 5);
  CHECK(r.json["items"][3]["duplicate"] == true);
  CHECK(r.json["items"][3]["id"] == "evt_0000000000000001");
  // The batch and the single route derive the same key.
  auto single = s.call("POST", kStatusChange, b);
  CHECK(single.json["duplicate"] == true);
  CHECK(single.json["seq"] == 2);
  // A batch again: all duplicates.
  auto again = s.post_ndjson("/v1/sources/jelp/events:batch?type=order_update:status_change",
                             a + "\n" + b + "\n");
  CHECK(again.json["stored"] == 0);
  CHECK(again.json["duplicates"] == 2);
  CHECK(s.get("/v1/audit/head").json["seq"] == 2);
}

TEST_CASE("ingest: a body imported by hooklog import is a duplicate over HTTP", "[api][dedup]") {
  temp_dir dir;
  const std::string data = (dir / "data").string();
  const std::string file = (dir / "jelp.ndjson").string();
  const std::string body = jelp_status("F4", "TRANSIT");
  std::ofstream(file, std::ios::binary) << body << "\n";
  auto imp = run_hooklog(
      {"import", "--data", data, "--source", "jelp", "--type", "order_update:status_change", file});
  CHECK(imp.exit_code == 0);
  CHECK(imp.out.find("imported: 1 stored, 0 duplicate, 0 refused") != std::string::npos);
  hooklog_server s({}, data);
  auto r = s.call("POST", kStatusChange, body);
  REQUIRE(r.status == 202);
  CHECK(r.json["duplicate"] == true);
  CHECK(r.json["id"] == "evt_0000000000000001");
}
