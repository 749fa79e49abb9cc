// Integration tests of the /v1 API against the real `hooklog serve` binary.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <set>

#include "support/hooklog_server.hpp"
#include "hooklog_build_paths.hpp"

using namespace hooklog::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Every sample, as (source, type, body); the type is the file name (':' written as "--").
struct sample {
  std::string source, type, body;
};
std::vector<sample> all_samples() {
  std::vector<sample> out;
  for (const auto& dir : fs::directory_iterator(fs::path(HOOKLOG_DATA_DIR) / "samples")) {
    for (const auto& f : fs::directory_iterator(dir.path())) {
      std::string type = f.path().stem().string();
      if (auto p = type.find("--"); p != std::string::npos) type.replace(p, 2, ":");
      out.push_back({dir.path().filename().string(), type, read_file(f.path())});
    }
  }
  std::sort(out.begin(), out.end(), [](const sample& a, const sample& b) {
    return std::tie(a.source, a.type) < std::tie(b.source, b.type);
  });
  return out;
}

std::string ingest_path(const std::string& source, const std::string& type = "") {
  return "/v1/sources/" + source + "/events" + (type.empty() ? "" : "?type=" + type);
}

std::string new_tenant_key(hooklog_server& s, const std::string& tenant) {
  auto r = s.post("/v1/keys", {{"tenant", tenant}});
  REQUIRE(r.status == 201);
  REQUIRE(r.json["tenant"] == tenant);
  return r.json["key"];
}

}  // namespace

TEST_CASE("health routes answer without a key, /metrics needs an admin key", "[api]") {
  hooklog_server s;
  auto h = s.get("/healthz", "");
  CHECK(h.status == 200);
  CHECK(h.json["status"] == "ok");
  auto r = s.get("/readyz", "");
  CHECK(r.status == 200);
  // /metrics shows every tenant's counts: not without a key, not with a tenant's key.
  auto anonymous = s.get("/metrics", "");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.json["error"]["code"] == "unauthorized");
  auto tenant = s.get("/metrics", new_tenant_key(s, "t1"));
  CHECK(tenant.status == 403);
  CHECK(tenant.json["error"]["message"] == "this route needs an admin key");
  auto m = s.get("/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("hooklog_log_head_seq") != std::string::npos);
  // Both environments of the log are counted: log/ and log/index/ (pages of 4 KiB in use).
  for (const char* name : {"\nhooklog_log_size_bytes ", "\nhooklog_log_index_size_bytes "}) {
    const auto at = m.body.find(name);
    REQUIRE(at != std::string::npos);
    const double bytes = std::stod(m.body.substr(at + std::strlen(name)));
    CHECK(bytes >= 4096);
    CHECK(static_cast<std::uint64_t>(bytes) % 4096 == 0);
  }
  CHECK(m.body.find("hooklog_http_requests_total{route=\"/healthz\",method=\"GET\",code=\"200\"} 1") != std::string::npos);
}

TEST_CASE("the metrics listener (--metrics-listen) serves /metrics without a key and nothing else",
          "[api]") {
  hooklog_server s({"--metrics-listen", "127.0.0.1:0"});
  auto line = s.process().read_line(std::chrono::seconds(10));
  REQUIRE(line);
  REQUIRE(line->rfind("metrics: ", 0) == 0);
  auto addr = parse_listening_line(line->substr(9));
  REQUIRE(addr);
  CHECK(addr->port != s.port());
  hooklog::http::http_client scraper(addr->host, addr->port);
  auto m = scraper.get("/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->body.find("hooklog_log_head_seq") != std::string::npos);
  auto h = scraper.get("/readyz");
  REQUIRE(h);
  CHECK(h->status == 200);
  // The API is not served there, with or without a key.
  auto api = scraper.get("/v1/events", {{"Authorization", std::string("Bearer ") + kAdminKey}});
  REQUIRE(api);
  CHECK(api->status == 404);
  CHECK(nlohmann::json::parse(api->body)["error"]["message"] ==
        "this listener serves only GET /metrics, /healthz and /readyz");
  // The main listener still wants the admin key.
  CHECK(s.get("/metrics", "").status == 401);
}

TEST_CASE("every sample of every source is ingested and queryable", "[api]") {
  hooklog_server s;
  const auto samples = all_samples();
  REQUIRE(samples.size() >= 56);
  std::set<std::uint64_t> seqs;
  for (const auto& smp : samples) {
    auto r = s.call("POST", ingest_path(smp.source, smp.type), smp.body);
    INFO(smp.source << " " << smp.type << ": " << r.body);
    REQUIRE(r.status == 202);
    CHECK(r.json["type"] == smp.type);
    CHECK(r.json["duplicate"] == false);
    CHECK(r.json["id"].get<std::string>().rfind("evt_", 0) == 0);
    seqs.insert(r.json["seq"].get<std::uint64_t>());
  }
  CHECK(seqs.size() == samples.size());
  // The catalog lists the 56 seed types (+ the standard envelope's none).
  auto cat = s.get("/v1/event-types");
  REQUIRE(cat.status == 200);
  CHECK(cat.json["items"].size() == 56);
  // Page through the events.
  std::size_t seen = 0;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto r = s.get("/v1/events?limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    seen += r.json["items"].size();
    if (r.json["next"].is_null()) break;
    cursor = r.json["next"];
  }
  CHECK(seen == samples.size());
  // One event's detail keeps the body byte for byte.
  auto first = s.get("/v1/events/evt_0000000000000001");
  REQUIRE(first.status == 200);
  CHECK(first.json["body"] == samples[0].body);
  // Filters: by type glob and by source.
  auto jobs = s.get("/v1/events?type=job.*");
  CHECK(jobs.json["items"].size() == 5);
  // A '*' anywhere but at the end is refused, not answered with an empty page.
  auto inner = s.get("/v1/events?type=*.paid");
  CHECK(inner.status == 400);
  CHECK(inner.json["error"]["message"] ==
        "type '*.paid' has a '*' before its end: a type is exact, a prefix ending in '*' (job.*) "
        "or '*'");
  CHECK(inner.json["error"]["details"] == nlohmann::json{{"parameter", "type"}});
  auto oms = s.get("/v1/events?source=oms&limit=100");
  CHECK(oms.json["items"].size() == 18);
  // NDJSON streams everything, with bodies.
  auto nd = s.call("GET", "/v1/events", "", kAdminKey, {{"Accept", "application/x-ndjson"}});
  REQUIRE(nd.status == 200);
  CHECK(static_cast<std::size_t>(std::count(nd.body.begin(), nd.body.end(), '\n')) == samples.size());
}

TEST_CASE("ingest refusals say what and where, and store nothing", "[api]") {
  hooklog_server s;
  auto bad = s.call("POST", ingest_path("jelp", "order_new"), "{\n  \"folio\": 12,\n  oops\n}");
  CHECK(bad.status == 400);
  CHECK(bad.json["error"]["code"] == "bad_json");
  CHECK(bad.json["error"]["details"]["line"] == 3);
  auto missing = s.call("POST", ingest_path("eudr"), R"({"event":"dds.submitted","timestamp":"2024-01-15T10:30:00Z","integrationId":"int_abc","data":{}})");
  CHECK(missing.status == 422);
  CHECK(missing.json["error"]["code"] == "missing_field");
  CHECK(missing.json["error"]["message"].get<std::string>().find("ddsNumber") != std::string::npos);
  auto wrong = s.call("POST", ingest_path("jelp", "order_update:status_change"),
                      R"({"timestamp":"2024-02-09T23:33:38Z","folio":42,"workspace":"jelp","status":"TRANSIT"})");
  CHECK(wrong.status == 422);
  CHECK(wrong.json["error"]["code"] == "wrong_type");
  auto big = s.call("POST", ingest_path("standard"), "{\"x\":\"" + std::string(2 << 20, 'a') + "\"}");
  CHECK(big.status == 413);
  auto unknown = s.call("POST", ingest_path("nope"), "{}");
  CHECK(unknown.status == 404);
  CHECK(unknown.json["error"]["code"] == "unknown_source");
  auto form = s.call("POST", ingest_path("standard"), "a=b", kAdminKey,
                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(form.status == 415);
  auto noroute = s.get("/v1/nothing-here");
  CHECK(noroute.status == 404);
  auto method = s.call("PUT", "/v1/events");
  CHECK(method.status == 405);
  auto head = s.get("/v1/audit/head");
  CHECK(head.json["seq"] == 0);  // nothing was stored
}

TEST_CASE("keys: none, wrong, revoked, and tenant keys on admin routes", "[api]") {
  hooklog_server s;
  CHECK(s.get("/v1/events", "").status == 401);
  CHECK(s.get("/v1/events", "wrong").status == 401);
  const std::string a = new_tenant_key(s, "tenant-a");
  CHECK(s.get("/v1/events", a).status == 200);
  CHECK(s.get("/v1/keys", a).status == 403);
  CHECK(s.get("/v1/audit/verify", a).status == 403);
  auto keys = s.get("/v1/keys");
  REQUIRE(keys.status == 200);
  const std::string id = keys.json["items"][0]["id"];
  CHECK(s.call("DELETE", "/v1/keys/" + id).status == 200);
  CHECK(s.get("/v1/events", a).status == 401);
  // Issued keys survive a restart; revoked ones stay revoked.
  const std::string b = new_tenant_key(s, "tenant-b");
  s.restart();
  CHECK(s.get("/v1/events", b).status == 200);
  CHECK(s.get("/v1/events", a).status == 401);
  // An ingest-only key ingests its source and nothing else.
  auto ik = s.post("/v1/keys", {{"tenant", "t-ingest"}, {"ingest_source", "eudr"}});
  REQUIRE(ik.status == 201);
  const std::string ingest_key = ik.json["key"];
  CHECK(s.call("POST", ingest_path("eudr"), data_file("samples/eudr/dds.approved.json"), ingest_key).status == 202);
  CHECK(s.call("POST", ingest_path("jelp", "order_new"), data_file("samples/jelp/order_new.json"), ingest_key).status == 403);
  CHECK(s.get("/v1/events", ingest_key).status == 403);
}

TEST_CASE("idempotent ingest answers the original", "[api]") {
  hooklog_server s;
  const std::string body = data_file("samples/crowdsender/statusUpdated.json");
  auto a = s.call("POST", ingest_path("crowdsender"), body, kAdminKey, {{"Idempotency-Key", "k-1"}});
  auto b = s.call("POST", ingest_path("crowdsender"), body, kAdminKey, {{"Idempotency-Key", "k-1"}});
  REQUIRE(a.status == 202);
  REQUIRE(b.status == 202);
  CHECK(a.json["duplicate"] == false);
  CHECK(b.json["duplicate"] == true);
  CHECK(a.json["seq"] == b.json["seq"]);
  CHECK(s.get("/v1/audit/head").json["seq"] == 1);
}

TEST_CASE("batch ingest: one group, a bad line rejects only itself", "[api]") {
  hooklog_server s;
  std::string nd;
  nd += json::parse(data_file("samples/eudr/dds.status_changed.json")).dump() + "\n";
  nd += "{not json}\n";
  nd += "\n";
  nd += json::parse(data_file("samples/eudr/dds.approved.json")).dump() + "\n";
  auto r = s.call("POST", "/v1/sources/eudr/events:batch", nd, kAdminKey,
                  {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(r.status == 200);
  CHECK(r.json["stored"] == 2);
  CHECK(r.json["refused"] == 1);
  REQUIRE(r.json["items"].size() == 3);
  CHECK(r.json["items"][0]["line"] == 1);
  CHECK(r.json["items"][1]["line"] == 2);
  CHECK(r.json["items"][1]["error"]["code"] == "bad_json");
  CHECK(r.json["items"][2]["line"] == 4);
  CHECK(r.json["items"][2]["seq"] == 2);
}

TEST_CASE("batch ingest: the answer's bytes are the compact sorted-key JSON document", "[api]") {
  hooklog_server s;
  const std::string first =
      R"({"id":"e1","type":"order.updated","tenant":"t1","entity":{"kind":"order","id":"o\"1\\é"}})";
  std::string nd = first + "\n";
  nd += "{not json}\n";
  nd += std::string(R"({"id":"e2","type":"ordér.créé","tenant":"t\"2","entity":{"kind":"k","id":"\\"}})") + "\n";
  nd += first + "\n";  // the same id: a duplicate
  // A control character in the answer (escaped): in a refusal's message quoting the value (ids,
  // types, tenants and statuses refuse them).
  nd += std::string(R"({"id":"e3","type":"a","timestamp":"\u0001"})") + "\n";
  auto r = s.call("POST", "/v1/sources/standard/events:batch", nd, kAdminKey,
                  {{"Content-Type", "application/x-ndjson"}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  // The answer is written without nlohmann objects: it must be what dump() gives for the same
  // document (sorted keys, no spaces, the same escapes).
  CHECK(r.body == r.json.dump());
  CHECK(r.json["stored"] == 2);
  CHECK(r.json["duplicates"] == 1);
  CHECK(r.json["refused"] == 2);
  REQUIRE(r.json["items"].size() == 5);
  CHECK(r.json["items"][0] == json{{"line", 1},
                                   {"seq", 1},
                                   {"id", "evt_0000000000000001"},
                                   {"type", "order.updated"},
                                   {"tenant", "t1"},
                                   {"entity", {{"kind", "order"}, {"id", "o\"1\\é"}}},
                                   {"duplicate", false}});
  CHECK(r.json["items"][1]["line"] == 2);
  CHECK(r.json["items"][1]["error"]["code"] == "bad_json");
  CHECK(r.json["items"][2]["type"] == "ordér.créé");
  CHECK(r.json["items"][2]["tenant"] == "t\"2");
  CHECK(r.json["items"][2]["entity"] == json{{"kind", "k"}, {"id", "\\"}});
  CHECK(r.json["items"][3]["duplicate"] == true);
  CHECK(r.json["items"][3]["seq"] == 1);
  CHECK(r.json["items"][4]["error"]["message"] ==
        "field /timestamp must be an RFC 3339 time, got \"\u0001\"");
  CHECK(r.body.find(R"(got \"\u0001\")") != std::string::npos);
}

TEST_CASE("a jelp order's timeline over HTTP, across a restart", "[api]") {
  hooklog_server s;
  CHECK(s.call("POST", ingest_path("jelp", "order_new"), R"({"folio":"F1","orderStep":"PENDING","createdAt":"2024-02-10T00:00:00Z","workspaceData":{"slug":"jelp"}})").status == 202);
  CHECK(s.call("POST", ingest_path("jelp", "order_update:status_change"), R"({"folio":"F1","status":"TRANSIT","timestamp":"2024-02-10T00:10:00Z","workspace":"jelp"})").status == 202);
  CHECK(s.call("POST", ingest_path("jelp"), R"({"folio":"F1","status":"COMPLETED","queueName":"complete_order","timestamp":"2024-02-10T00:20:00Z","workspace":"jelp"})").status == 202);
  for (int round = 0; round < 2; ++round) {
    auto t = s.get("/v1/entities/order/F1/timeline");
    INFO(t.body);
    REQUIRE(t.status == 200);
    auto& tr = t.json["transitions"];
    REQUIRE(tr.size() == 3);
    CHECK(tr[0]["to"] == "PENDING");
    CHECK(tr[1]["from"] == "PENDING");
    CHECK(tr[1]["to"] == "TRANSIT");
    CHECK(tr[2]["to"] == "COMPLETED");
    CHECK(tr[2]["occurred_at"] == "2024-02-10T00:20:00.000000Z");
    CHECK(tr[2]["seq"] == 3);
    s.restart();  // a restart between ingest and query loses nothing
  }
  CHECK(s.get("/v1/entities/order/NOPE/timeline").status == 404);
  auto v = s.get("/v1/audit/verify");
  CHECK(v.json["ok"] == true);
  CHECK(v.json["checked"] == 3);
}

TEST_CASE("endpoints: create, read, update, rotate, disable, delete", "[api]") {
  hooklog_server s;
  auto c = s.post("/v1/endpoints", {{"url", "https://hooks.example.com/in"}, {"events", {"job.*", "order_update:*"}}, {"tenant", "t1"}});
  INFO(c.body);
  REQUIRE(c.status == 201);
  const std::string id = c.json["id"];
  CHECK(c.json["secret"].get<std::string>().rfind("whsec_", 0) == 0);
  CHECK(c.json["tenant"] == "t1");
  auto g = s.get("/v1/endpoints/" + id);
  REQUIRE(g.status == 200);
  CHECK(g.json["secret"] == "***");
  CHECK(g.json["events"] == json({"job.*", "order_update:*"}));
  auto bad = s.post("/v1/endpoints", {{"url", "ftp://x"}});
  CHECK(bad.status == 422);
  CHECK(bad.json["error"]["details"]["field"] == "/url");
  auto unknown = s.post("/v1/endpoints", {{"url", "https://x.example"}, {"colour", "red"}});
  CHECK(unknown.status == 422);
  auto p = s.call("PATCH", "/v1/endpoints/" + id, R"({"events":["*"],"description":"all"})");
  REQUIRE(p.status == 200);
  CHECK(s.get("/v1/endpoints/" + id).json["description"] == "all");
  CHECK(s.call("PATCH", "/v1/endpoints/" + id, R"({"tenant":"t2"})").status == 422);
  auto rot = s.post("/v1/endpoints/" + id + "/rotate-secret", json::object());
  REQUIRE(rot.status == 200);
  CHECK(rot.json["secret"] != c.json["secret"]);
  CHECK(s.get("/v1/endpoints/" + id).json["previous_secrets"].size() == 1);
  // A PATCH after the rotation answers the endpoint as it is: the old secret still signs.
  auto p2 = s.call("PATCH", "/v1/endpoints/" + id, R"({"description":"rotated"})");
  REQUIRE(p2.status == 200);
  CHECK(p2.json["previous_secrets"].size() == 1);
  CHECK(s.get("/v1/endpoints/" + id).json["previous_secrets"].size() == 1);
  auto d = s.post("/v1/endpoints/" + id + "/disable", {{"reason", "maintenance"}});
  REQUIRE(d.status == 200);
  CHECK(s.get("/v1/endpoints/" + id).json["disabled"] == true);
  CHECK(s.get("/v1/endpoints/" + id).json["disabled_reason"] == "maintenance");
  CHECK(s.post("/v1/endpoints/" + id + "/enable", json::object()).json["disabled"] == false);
  CHECK(s.get("/v1/endpoints").json["items"].size() == 1);
  CHECK(s.call("DELETE", "/v1/endpoints/" + id).status == 200);
  CHECK(s.get("/v1/endpoints/" + id).status == 404);
  CHECK(s.get("/v1/endpoints").json["items"].empty());
}

TEST_CASE("tenant isolation: another tenant's anything is 404, never listed", "[api][tenants]") {
  hooklog_server s;
  const std::string a = new_tenant_key(s, "tenant-a");
  const std::string b = new_tenant_key(s, "tenant-b");
  // A's ingest is in A's tenant whatever the payload says (eudr's integrationId).
  auto ev = s.call("POST", ingest_path("eudr"), data_file("samples/eudr/dds.submitted.json"), a);
  REQUIRE(ev.status == 202);
  CHECK(ev.json["tenant"] == "tenant-a");
  const std::string evt = ev.json["id"];
  auto ep = s.post("/v1/endpoints", {{"url", "https://a.example/hook"}, {"tenant", "tenant-b"}}, a);
  REQUIRE(ep.status == 201);
  CHECK(ep.json["tenant"] == "tenant-a");
  const std::string epid = ep.json["id"];

  CHECK(s.get("/v1/events/" + evt, b).status == 404);
  CHECK(s.get("/v1/events", b).json["items"].empty());
  CHECK(s.get("/v1/events?tenant=tenant-a", b).json["items"].empty());
  CHECK(s.get("/v1/endpoints", b).json["items"].empty());
  CHECK(s.get("/v1/endpoints/" + epid, b).status == 404);
  CHECK(s.call("PATCH", "/v1/endpoints/" + epid, R"({"description":"x"})", b).status == 404);
  CHECK(s.call("DELETE", "/v1/endpoints/" + epid, "", b).status == 404);
  CHECK(s.post("/v1/endpoints/" + epid + "/disable", json::object(), b).status == 404);
  CHECK(s.post("/v1/endpoints/" + epid + "/rotate-secret", json::object(), b).status == 404);
  CHECK(s.get("/v1/entities/dds/DDS-2024-00042/timeline", b).status == 404);
  CHECK(s.get("/v1/attempts", b).json["items"].empty());
  // A sees its own.
  CHECK(s.get("/v1/events/" + evt, a).status == 200);
  CHECK(s.get("/v1/events", a).json["items"].size() == 1);
  CHECK(s.get("/v1/endpoints/" + epid, a).status == 200);
  CHECK(s.get("/v1/entities/dds/DDS-2024-00042/timeline", a).status == 200);
}

TEST_CASE("abusive clients get their answer or are closed, the server keeps serving", "[api][abuse]") {
  hooklog_server s({"--read-timeout", "1"});
  {
    raw_connection garbage("127.0.0.1", s.port());
    garbage.send("THIS IS NOT HTTP\r\n\r\n");
    const std::string reply = garbage.read_until_close(std::chrono::seconds(3));
    CHECK(reply.find("400") != std::string::npos);
  }
  {
    raw_connection half("127.0.0.1", s.port());
    half.send("POST /v1/sources/standard/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":");
    CHECK(half.closed_within(std::chrono::seconds(5)));
  }
  {
    raw_connection silent("127.0.0.1", s.port());
    CHECK(silent.closed_within(std::chrono::seconds(5)));
  }
  CHECK(s.get("/healthz", "").status == 200);
  CHECK(s.get("/v1/audit/head").json["seq"] == 0);  // nothing half-written
}
