// The list pages of http/api_audit.cpp under --scan-limit with the real `hooklog serve`: a page
// of events or attempts whose filters match little of the walk stops at the bound with what it
// found (fewer than `limit` items, even none) and a cursor; following the cursors lists every
// match once.
#include <catch2/catch.hpp>

#include <algorithm>

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
};

paged follow(hooklog_server& s, const std::string& target) {
  paged p;
  std::string cursor;
  for (;;) {
    REQUIRE(p.sizes.size() < 20);
    auto r = s.get(target + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    p.sizes.push_back(r.json["items"].size());
    for (const auto& i : r.json["items"]) p.seqs.push_back(i["seq"]);
    if (r.json["next"].is_null()) return p;
    REQUIRE(r.json["next"].is_string());
    cursor = r.json["next"];
  }
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
