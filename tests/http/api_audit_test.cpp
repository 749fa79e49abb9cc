// The list pages of http/api_audit.cpp under --scan-limit with the real `hooklog serve`: a page
// of events or attempts whose filters match little of the walk stops at the bound with what it
// found (fewer than `limit` items, even none) and a cursor; following the cursors lists every
// match once.
#include <catch2/catch.hpp>

#include <algorithm>

#include "engine/bytes.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

// 300 events (seqs 1..300): even i invoice.paid, odd i invoice.created; tenant "rare" for
// i = 121, 141, 161 and 299 (all invoice.created), else "acme".
void post_sparse_events(hooklog_server& s) {
  std::string batch;
  for (int i = 0; i < 300; ++i) {
    const bool rare = i == 121 || i == 141 || i == 161 || i == 299;
    batch += json{{"id", "src-" + std::to_string(i)},
                  {"type", i % 2 ? "invoice.created" : "invoice.paid"},
                  {"tenant", rare ? "rare" : "acme"},
                  {"timestamp", "2024-05-01T12:00:00Z"},
                  {"data", {{"n", i}}}}
                 .dump() +
             "\n";
  }
  auto r = s.post_ndjson("/v1/sources/standard/events:batch?deliver=false", batch);
  REQUIRE(r.status == 200);
  REQUIRE(r.json["stored"] == 300);
}

struct paged {
  std::vector<std::size_t> sizes;  // items per page
  std::vector<json> seqs;
  std::vector<std::string> cursors;  // each page's `next`
};

paged follow_with(hooklog_server& s, const std::string& target, const std::string& key) {
  paged p;
  std::string cursor;
  for (;;) {
    REQUIRE(p.sizes.size() < 20);
    auto r = s.get(target + (cursor.empty() ? "" : "&cursor=" + cursor), key);
    REQUIRE(r.status == 200);
    p.sizes.push_back(r.json["items"].size());
    for (const auto& i : r.json["items"]) p.seqs.push_back(i["seq"]);
    if (r.json["next"].is_null()) return p;
    REQUIRE(r.json["next"].is_string());
    cursor = r.json["next"];
    p.cursors.push_back(cursor);
  }
}

paged follow(hooklog_server& s, const std::string& target) {
  return follow_with(s, target, kAdminKey);
}

}  // namespace

TEST_CASE("scan limit: event pages stop at the bound with a cursor and miss nothing",
          "[api][limits][scan_limit]") {
  hooklog_server s({"--no-deliver", "--scan-limit", "50"});
  post_sparse_events(s);

  // The type index drives (150 invoice.created events), the tenant filters: 50 examined a page.
  // Ascending: the first 50 hold none, the next 50 three, the last 50 one.
  auto asc = follow(s, "/v1/events?type=invoice.created&tenant=rare&limit=10");
  CHECK(asc.sizes == std::vector<std::size_t>{0, 3, 1});
  CHECK(asc.seqs == std::vector<json>{122, 142, 162, 300});

  auto desc = follow(s, "/v1/events?type=invoice.created&tenant=rare&limit=10&order=desc");
  CHECK(desc.sizes == std::vector<std::size_t>{1, 3, 0});
  CHECK(desc.seqs == std::vector<json>{300, 162, 142, 122});

  // `limit` still ends a page first: the bound only cuts a walk short.
  auto small = follow(s, "/v1/events?type=invoice.created&tenant=rare&limit=2");
  CHECK(small.sizes == std::vector<std::size_t>{0, 2, 1, 1});
  CHECK(small.seqs == asc.seqs);

  // A walk the bound never stops (the tenant index: four entries) is one page, no cursor.
  auto r = s.get("/v1/events?tenant=rare&limit=10");
  REQUIRE(r.status == 200);
  CHECK(r.json["items"].size() == 4);
  CHECK(r.json["next"].is_null());

  // The NDJSON stream goes on past the bound, chunk by chunk, to every match once.
  auto nd = s.call("GET", "/v1/events?type=invoice.created&tenant=rare", "", kAdminKey,
                   {{"Accept", "application/x-ndjson"}});
  REQUIRE(nd.status == 200);
  std::vector<json> streamed;
  std::size_t start = 0;
  while (start < nd.body.size()) {
    const auto end = nd.body.find('\n', start);
    REQUIRE(end != std::string::npos);
    streamed.push_back(json::parse(nd.body.substr(start, end - start))["seq"]);
    start = end + 1;
  }
  CHECK(streamed == asc.seqs);
}

TEST_CASE("scan limit: attempt pages of every endpoint stop at the bound for a tenant or outcome",
          "[api][limits][scan_limit]") {
  temp_dir d;
  receiver_proc rx(d, "rx", {});
  hooklog_server s({"--allow-private-targets", "--scan-limit", "5"});
  // Three endpoints of acme, one of rare; four acme events and one rare event: 13 attempts.
  // Without endpoint_id the entity index of endpoints drives, by endpoint id then seq: the
  // attempts and the 4 endpoint records, 17 entries.
  for (const char* tenant : {"acme", "acme", "acme", "rare"})
    REQUIRE(s.post("/v1/endpoints", {{"url", rx.url("/in")}, {"tenant", tenant}}).status == 201);
  std::string batch;
  for (int i = 0; i < 5; ++i)
    batch += json{{"id", "live-" + std::to_string(i)},
                  {"type", "invoice.paid"},
                  {"tenant", i == 4 ? "rare" : "acme"}}
                 .dump() +
             "\n";
  REQUIRE(s.post_ndjson("/v1/sources/standard/events:batch", batch).status == 200);
  REQUIRE(eventually([&] { return s.list_all("/v1/attempts").size() == 13; },
                     std::chrono::seconds(20)));

  // Five examined a page: four pages whatever the filters match.
  auto rare = follow(s, "/v1/attempts?tenant=rare&limit=10");
  CHECK(rare.sizes.size() == 4);
  CHECK(rare.seqs.size() == 1);
  auto dead = follow(s, "/v1/attempts?outcome=dead_letter&limit=10");
  CHECK(dead.sizes == std::vector<std::size_t>{0, 0, 0, 0});
  auto ok = follow(s, "/v1/attempts?outcome=success&limit=10&order=desc");
  CHECK(ok.sizes.size() == 4);
  auto all = follow(s, "/v1/attempts?limit=4");
  CHECK(all.sizes.size() >= 4);
  for (auto n : all.sizes) CHECK(n <= 4);
  REQUIRE(all.seqs.size() == 13);
  CHECK(ok.seqs == std::vector<json>(all.seqs.rbegin(), all.seqs.rend()));
  CHECK(std::find(all.seqs.begin(), all.seqs.end(), rare.seqs.at(0)) != all.seqs.end());
}

namespace {

std::string hex_of(std::string_view s) {
  return hooklog::bytes::to_hex(s.data(), s.size());
}

std::string tenant_key(hooklog_server& s, const std::string& tenant) {
  auto r = s.post("/v1/keys", {{"tenant", tenant}});
  REQUIRE(r.status == 201);
  return r.json["key"];
}

}  // namespace

TEST_CASE(
    "a cursor says nothing of the records a tenant's page skipped, and opens only for that "
    "tenant",
    "[api][limits][scan_limit][tenancy]") {
  // A page bounded by the scan limit ends at the last record it examined: on the entity, type
  // and endpoint indexes that is often another tenant's. Its position in the clear told a tenant
  // key another tenant's entity ids, endpoint ids and seqs.
  hooklog_server s({"--no-deliver", "--allow-private-targets", "--scan-limit", "2"});
  std::string batch;
  for (int i = 0; i < 3; ++i)
    batch += json{{"id", "a-" + std::to_string(i)},
                  {"type", "invoice.paid"},
                  {"tenant", "acme"},
                  {"entity", {{"kind", "customer"}, {"id", "SECRET-CUST-42"}}}}
                 .dump() +
             "\n";
  batch += json{{"id", "b-0"},
                {"type", "invoice.paid"},
                {"tenant", "beta"},
                {"entity", {{"kind", "customer"}, {"id", "B1"}}}}
               .dump() +
           "\n";
  REQUIRE(s.post_ndjson("/v1/sources/standard/events:batch", batch).json["stored"] == 4);
  std::vector<std::string> acme_endpoints;
  for (int i = 0; i < 3; ++i) {
    auto e = s.post("/v1/endpoints", {{"url", "http://127.0.0.1:9/in"}, {"tenant", "acme"}});
    REQUIRE(e.status == 201);
    acme_endpoints.push_back(e.json["id"]);
  }
  const std::string beta = tenant_key(s, "beta"), acme = tenant_key(s, "acme");

  // Beta asks for acme's entity: three entries walked two a page, none of them beta's.
  const std::string target = "/v1/events?entity_kind=customer&entity_id=SECRET-CUST-42";
  auto first = s.get(target, beta);
  REQUIRE(first.status == 200);
  CHECK(first.json["items"].empty());
  REQUIRE(first.json["next"].is_string());
  const std::string cursor = first.json["next"];
  CHECK(cursor.find(hex_of("SECRET-CUST-42")) == std::string::npos);
  CHECK(cursor.find(hex_of("customer")) == std::string::npos);
  auto second = s.get(target + "&cursor=" + cursor, beta);
  REQUIRE(second.status == 200);
  CHECK(second.json["items"].empty());
  CHECK(second.json["next"].is_null());

  // The cursor opens for beta only: not for another tenant, not for an admin key; a changed
  // digit or the position in the clear (the earlier form) is refused.
  for (const std::string& key : {acme, std::string(kAdminKey)}) {
    auto r = s.get(target + "&cursor=" + cursor, key);
    CHECK(r.status == 400);
    CHECK(r.json["error"]["details"]["parameter"] == "cursor");
  }
  std::string flipped = cursor;
  flipped[30] = flipped[30] == '0' ? '1' : '0';
  CHECK(s.get(target + "&cursor=" + flipped, beta).status == 400);
  const std::string clear = hex_of(std::string("customer\0SECRET-CUST-42\0", 24)) +
                            hex_of(std::string("\0\0\0\0\0\0\0\2", 8));
  auto old_form = s.get(target + "&cursor=" + clear, beta);
  CHECK(old_form.status == 400);
  CHECK(old_form.json["error"]["message"] ==
        "cursor is not one this server gave to this key (a cursor is bound to the key's tenant, "
        "or to admin keys)");

  // Following beta's cursors over the type index gives beta's event alone.
  auto typed = follow_with(s, "/v1/events?type=invoice.paid&limit=10", beta);
  CHECK(typed.seqs == std::vector<json>{4});
  for (const auto& c : typed.cursors) CHECK(c.find(hex_of("SECRET")) == std::string::npos);

  // Attempts of every endpoint walk the endpoints' entity keys: acme's endpoint ids stay hidden.
  auto attempts = follow_with(s, "/v1/attempts?limit=10", beta);
  CHECK(attempts.seqs.empty());
  CHECK(!attempts.cursors.empty());
  for (const auto& c : attempts.cursors)
    for (const auto& ep : acme_endpoints) CHECK(c.find(hex_of(ep)) == std::string::npos);

  // An admin's cursors page as before.
  auto admin = follow_with(s, "/v1/events?type=invoice.paid&limit=10", kAdminKey);
  CHECK(admin.seqs == std::vector<json>{1, 2, 3, 4});
}

TEST_CASE("min_seq on a single node: a seq not yet written is 503 at once, not a 5 s wait",
          "[api][min_seq]") {
  // Every seq a write answered here is applied before its answer; a higher one is no seq yet.
  // The wait held an I/O thread for 5 s per request: two of them froze a two-thread server.
  hooklog_server s({"--no-deliver"});
  REQUIRE(s.post_ndjson("/v1/sources/standard/events:batch", R"({"type":"a"})"
                                                             "\n")
              .json["stored"] == 1);
  CHECK(s.get("/v1/events?min_seq=1").status == 200);
  const auto t0 = std::chrono::steady_clock::now();
  auto far = s.get("/v1/events?min_seq=1000000000");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  CHECK(far.status == 503);
  CHECK(far.json["error"]["code"] == "min_seq_not_reached");
  CHECK(far.json["error"]["details"]["applied_seq"] == 1);
  CHECK(far.json["error"]["message"] ==
        "this node has applied the log up to seq 1, not yet 1000000000; retry");
  CHECK(hooklog::http::find_header(far.headers, "retry-after").value_or("") == "1");
}
