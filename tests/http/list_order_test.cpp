// ?order=asc|desc on the listings (events, attempts, replays, endpoints) with the real
// `hooklog serve`: exact order, paging across pages in both directions, and the events'
// `prev` cursor.
#include <catch2/catch.hpp>

#include <algorithm>

#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

void post_events(hooklog_server& s, int n) {
  std::string batch;
  for (int i = 0; i < n; ++i)
    batch += json{{"id", "src-" + std::to_string(i)},
                  {"type", i % 2 ? "invoice.created" : "invoice.paid"},
                  {"tenant", "acme"},
                  {"timestamp",
                   "2024-05-01T12:00:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + "Z"},
                  {"data", {{"n", i}}}}
                 .dump() +
             "\n";
  auto r = s.call("POST", "/v1/sources/standard/events:batch?deliver=false", batch, kAdminKey,
                  {{"Content-Type", "application/x-ndjson"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.json["stored"] == n);
}

// Follows `next` from `target` (which has a query), collecting `field` of every item.
std::vector<json> pages(hooklog_server& s, const std::string& target, const std::string& field,
                        std::size_t* page_count = nullptr) {
  std::vector<json> out;
  std::string cursor;
  std::size_t n = 0;
  for (;;) {
    auto r = s.get(target + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    ++n;
    for (const auto& i : r.json["items"]) out.push_back(i[field]);
    if (r.json["next"].is_null()) break;
    cursor = r.json["next"];
  }
  if (page_count) *page_count = n;
  return out;
}

std::vector<json> seqs(int from, int to, int step) {
  std::vector<json> v;
  for (int i = from; step > 0 ? i <= to : i >= to; i += step) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("order: events newest first, in pages, by seq, type, tenant and occurred time",
          "[api][order]") {
  hooklog_server s;
  post_events(s, 25);  // seqs 1..25; odd seqs are invoice.paid
  std::size_t n = 0;
  CHECK(pages(s, "/v1/events?order=desc&limit=7", "seq", &n) == seqs(25, 1, -1));
  CHECK(n == 4);
  CHECK(pages(s, "/v1/events?order=asc&limit=7", "seq") == seqs(1, 25, 1));
  CHECK(pages(s, "/v1/events?limit=7", "seq") == seqs(1, 25, 1));
  CHECK(pages(s, "/v1/events?order=desc&limit=4&type=invoice.paid", "seq") == seqs(25, 1, -2));
  CHECK(pages(s, "/v1/events?order=desc&limit=4&tenant=acme", "seq") == seqs(25, 1, -1));
  CHECK(pages(s, "/v1/events?order=desc&limit=3&type=invoice.*", "seq") == seqs(25, 1, -1));
  // occurred times 12:00:00..12:00:24 for seqs 1..25: [12:00:05, 12:00:15) is seqs 6..15
  CHECK(pages(s,
              "/v1/"
              "events?order=desc&limit=4&time=occurred&from=2024-05-01T12:00:05Z&to=2024-05-01T12:"
              "00:15Z",
              "seq") == seqs(15, 6, -1));
  CHECK(pages(s, "/v1/events?order=desc&limit=4&time=occurred&from=2024-05-01T12:00:05Z", "seq") ==
        seqs(25, 6, -1));
  CHECK(pages(s, "/v1/events?order=desc&limit=4&entity_kind=none&entity_id=x", "seq").empty());

  // prev: from the second newest-first page, back to the first page (nearest first).
  auto p1 = s.get("/v1/events?order=desc&limit=5");
  CHECK(p1.json["prev"].is_null());
  auto p2 = s.get("/v1/events?order=desc&limit=5&cursor=" + p1.json["next"].get<std::string>());
  REQUIRE(p2.json["items"].size() == 5);
  CHECK(p2.json["items"][0]["seq"] == 20);
  auto back = s.get("/v1/events?order=asc&limit=5&cursor=" + p2.json["prev"].get<std::string>());
  std::vector<json> got;
  for (const auto& i : back.json["items"]) got.push_back(i["seq"]);
  CHECK(got == seqs(21, 25, 1));

  auto bad = s.get("/v1/events?order=newest");
  CHECK(bad.status == 400);
  CHECK(bad.json["error"]["code"] == "bad_parameter");
  CHECK(bad.json["error"]["details"]["parameter"] == "order");
}

TEST_CASE("order: attempts, replays and endpoints newest first, in pages", "[api][order]") {
  temp_dir d;
  receiver_proc rx(d, "rx", {});
  hooklog_server s({"--allow-private-targets"});
  // Endpoints in creation order e0..e5 (ids are random: not their id order).
  std::vector<json> created;
  for (int i = 0; i < 6; ++i) {
    auto e = s.post("/v1/endpoints", {{"url", rx.url("/e" + std::to_string(i))},
                                      {"tenant", "acme"},
                                      {"description", "e" + std::to_string(i)}});
    REQUIRE(e.status == 201);
    created.push_back(e.json["id"]);
  }
  std::vector<json> newest(created.rbegin(), created.rend());
  CHECK(pages(s, "/v1/endpoints?order=desc&limit=4", "id") == newest);
  CHECK(pages(s, "/v1/endpoints?order=asc&limit=4", "id") == created);
  CHECK(pages(s, "/v1/endpoints?limit=5&tenant=acme", "id") == created);

  // Replays in creation order.
  std::vector<json> replays;
  for (int i = 0; i < 5; ++i) {
    auto r = s.post("/v1/replays", {{"endpoint_id", created[static_cast<std::size_t>(i)]}});
    REQUIRE(r.status == 202);
    replays.push_back(r.json["id"]);
  }
  CHECK(pages(s, "/v1/replays?order=desc&limit=2", "id") ==
        std::vector<json>(replays.rbegin(), replays.rend()));
  CHECK(pages(s, "/v1/replays?limit=2", "id") == replays);

  // Attempts: 6 endpoints x 3 events = 18 attempt records, each with its seq.
  std::string batch;
  for (int i = 0; i < 3; ++i)
    batch += json{{"id", "live-" + std::to_string(i)}, {"type", "invoice.paid"}, {"tenant", "acme"}}
                 .dump() +
             "\n";
  REQUIRE(s.call("POST", "/v1/sources/standard/events:batch", batch, kAdminKey,
                 {{"Content-Type", "application/x-ndjson"}})
              .status == 200);
  REQUIRE(eventually([&] { return s.list_all("/v1/attempts").size() == 18; },
                     std::chrono::seconds(20)));
  auto asc =
      pages(s, "/v1/attempts?endpoint_id=" + created[2].get<std::string>() + "&limit=2", "seq");
  REQUIRE(asc.size() == 3);
  CHECK(std::is_sorted(asc.begin(), asc.end()));
  CHECK(pages(s,
              "/v1/attempts?order=desc&endpoint_id=" + created[2].get<std::string>() + "&limit=2",
              "seq") == std::vector<json>(asc.rbegin(), asc.rend()));
  // Over every endpoint the entity index orders by endpoint id, then seq; desc is its reverse.
  auto all_asc = pages(s, "/v1/attempts?limit=5", "seq");
  auto all_desc = pages(s, "/v1/attempts?order=desc&limit=5", "seq");
  REQUIRE(all_asc.size() == 18);
  CHECK(all_desc == std::vector<json>(all_asc.rbegin(), all_asc.rend()));
}

TEST_CASE("order: an endpoints page goes on after the cursor's endpoint was deleted",
          "[api][order]") {
  hooklog_server s;
  std::vector<json> created;
  for (int i = 0; i < 7; ++i) {
    auto e = s.post("/v1/endpoints", {{"url", "https://hooks.example.com/e" + std::to_string(i)},
                                      {"tenant", "acme"}});
    REQUIRE(e.status == 201);
    created.push_back(e.json["id"]);
  }
  for (const bool desc : {false, true}) {
    INFO((desc ? "desc" : "asc"));
    const std::string target = std::string("/v1/endpoints?limit=3&order=") + (desc ? "desc" : "asc");
    std::vector<json> order = created;
    if (desc) std::reverse(order.begin(), order.end());
    auto p1 = s.get(target);
    REQUIRE(p1.status == 200);
    REQUIRE(p1.json["items"].size() == 3);
    REQUIRE(p1.json["items"][2]["id"] == order[2]);
    // The page's last endpoint, which the cursor names, is deleted before the next page.
    REQUIRE(s.call("DELETE", "/v1/endpoints/" + order[2].get<std::string>()).status / 100 == 2);
    auto p2 = s.get(target + "&cursor=" + p1.json["next"].get<std::string>());
    INFO(p2.body);
    REQUIRE(p2.status == 200);
    std::vector<json> got;
    for (const auto& i : p2.json["items"]) got.push_back(i["id"]);
    CHECK(got == std::vector<json>(order.begin() + 3, order.begin() + 6));  // no gap, no repeat
    created.erase(std::find(created.begin(), created.end(), order[2]));
  }
  // A bare endpoint id (the cursor of earlier versions) still works while it exists.
  auto old = s.get("/v1/endpoints?limit=2&cursor=" + created[0].get<std::string>());
  REQUIRE(old.status == 200);
  CHECK(old.json["items"][0]["id"] == created[1]);
  CHECK(s.get("/v1/endpoints?cursor=ep_gone").status == 400);
}
