// Delivery with the real hooklog-receiver (and, where the receiver cannot answer what a test
// needs, the real http_server in-process) on loopback.
#include <catch2/catch.hpp>

#include "engine/secret_box.hpp"

#include <atomic>
#include <map>
#include <thread>

#include "engine/record.hpp"
#include "engine/time_util.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "http/delivery/signature.hpp"
#include "http/server.hpp"
#include "projections/pending.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

json fixed_retry(int base_ms, int attempts, const char* strategy = "fixed") {
  return json{{"strategy", strategy}, {"base_ms", base_ms}, {"max_attempts", attempts}, {"max_ms", 60000}};
}

// True once `rcv` has been sent the event of `seq`.
bool received(receiver_proc& rcv, std::uint64_t seq) {
  for (auto& l : rcv.lines())
    if (l["webhook_id"] == event_id_for(seq)) return true;
  return false;
}
}  // namespace

TEST_CASE("delivery: signed, byte-for-byte, recorded", "[delivery]") {
  delivery_fixture f;
  receiver_proc rcv(f.dir, "r", {"--secret", kSecret});
  f.add_endpoint("ep1", {{"url", rcv.url("/in?x=1")}, {"secret", kSecret},
                         {"headers", {{"x-extra", "yes"}}},
                         {"auth", {{"type", "bearer"}, {"token", "tok123"}}}});
  const std::string body = "{\"order\": \"42AT8WT\",  \"n\":1.50, \"s\":\"\\u00e9\"}";
  auto seq = f.add_event("42AT8WT", body);
  REQUIRE(eventually([&] { return rcv.lines().size() == 1; }));
  auto l = rcv.lines()[0];
  CHECK(l["signature_ok"] == true);
  CHECK(l["webhook_id"] == event_id_for(seq));
  CHECK(l["event_type"] == "order.updated");
  CHECK(l["body"] == body);
  CHECK(l["method"] == "POST");
  CHECK(l["target"] == "/in?x=1");
  CHECK(l["headers"]["content-type"] == "application/json");
  CHECK(l["headers"]["x-extra"] == "yes");
  CHECK(l["headers"]["authorization"] == "Bearer tok123");
  REQUIRE(eventually([&] { return f.attempts("ep1").size() == 1; }));
  auto a = f.attempts("ep1")[0];
  CHECK(a["outcome"] == "success");
  CHECK(a["status"] == 200);
  CHECK(a["attempt"] == 1);
  CHECK(a["latency_us"].get<std::int64_t>() > 0);
  CHECK(a["response_excerpt"] == "{\"ok\":true}");
  CHECK(a["response_headers"].is_array());
  // The pending queue is empty afterwards.
  REQUIRE(eventually([&] {
    auto t = f.runner->store().begin_read();
    auto c = f.runner->queue().counts(*t, "ep1");
    return c && c->queued == 0;
  }));
}

TEST_CASE("delivery: retries follow fixed, linear and exponential schedules, same webhook-id", "[delivery]") {
  delivery_fixture f;
  // Rotation 500, 500, 500, 200: three failures then a success, per receiver.
  receiver_proc fixed(f.dir, "fixed", {"--status-mix", "500:3,200:1"});
  receiver_proc linear(f.dir, "linear", {"--status-mix", "500:3,200:1"});
  receiver_proc expo(f.dir, "expo", {"--status-mix", "500:3,200:1"});
  f.add_endpoint("fixed", {{"url", fixed.url()}, {"secret", kSecret}, {"retry", fixed_retry(200, 5)}});
  f.add_endpoint("linear", {{"url", linear.url()}, {"secret", kSecret}, {"retry", fixed_retry(150, 5, "linear")}});
  f.add_endpoint("expo", {{"url", expo.url()}, {"secret", kSecret}, {"retry", fixed_retry(100, 5, "exponential")}});
  auto seq = f.add_event("A1", "{\"a\":1}");
  for (auto* r : {&fixed, &linear, &expo}) REQUIRE(eventually([&] { return r->lines().size() == 4; }));
  auto gaps = [&](const std::string& ep) {
    auto at = f.attempts(ep);
    REQUIRE(eventually([&] { at = f.attempts(ep); return at.size() == 4; }));
    std::vector<std::int64_t> planned;
    for (int i = 0; i < 3; ++i) {
      CHECK(at[i]["outcome"] == "failure");
      CHECK(at[i]["status"] == 500);
      CHECK(at[i]["attempt"] == i + 1);
      planned.push_back(at[i]["next_attempt_at"].get<std::int64_t>());
    }
    CHECK(at[3]["outcome"] == "success");
    return planned;
  };
  (void)gaps;
  // Planned delays are in the records: derive them from the records' times.
  auto delays = [&](const std::string& ep) {
    std::vector<std::int64_t> d;
    for (auto& r : f.records_of(record_kind::delivery_attempt)) {
      if (r.entity_id != ep) continue;
      auto j = json::parse(r.body);
      if (!j["next_attempt_at"].is_null()) d.push_back((j["next_attempt_at"].get<std::int64_t>() - r.recorded_at) / 1000);
    }
    return d;
  };
  gaps("fixed");
  gaps("linear");
  gaps("expo");
  auto near = [](std::int64_t got, std::int64_t want) { return got >= want - 50 && got <= want + 5; };
  auto df = delays("fixed"), dl = delays("linear"), de = delays("expo");
  REQUIRE(df.size() == 3);
  REQUIRE(dl.size() == 3);
  REQUIRE(de.size() == 3);
  for (int i = 0; i < 3; ++i) {
    INFO(i << " fixed " << df[i] << " linear " << dl[i] << " expo " << de[i]);
    CHECK(near(df[i], 200));
    CHECK(near(dl[i], 150 * (i + 1)));
    CHECK(near(de[i], 100 << i));
  }
  // Every attempt carried the same webhook-id, and the receiver saw them no earlier than planned.
  for (auto* r : {&fixed, &linear, &expo})
    for (auto& l : r->lines()) CHECK(l["webhook_id"] == event_id_for(seq));
}

TEST_CASE("delivery: dead letter after max attempts, random strategy", "[delivery]") {
  delivery_fixture f;
  receiver_proc rcv(f.dir, "r", {"--status-mix", "500:1"});
  f.add_endpoint("ep", {{"url", rcv.url()}, {"secret", kSecret}, {"retry", fixed_retry(50, 3, "random")}});
  auto seq = f.add_event("B1", "{}");
  REQUIRE(eventually([&] { return f.attempts("ep").size() == 3; }));
  auto at = f.attempts("ep");
  CHECK(at[2]["dead_letter"] == true);
  CHECK(at[2]["next_attempt_at"].is_null());
  REQUIRE(eventually([&] {
    auto t = f.runner->store().begin_read();
    auto d = f.runner->queue().dead_letters(*t, "ep", 0, 10);
    return d && d->size() == 1 && (*d)[0].event_seq == seq;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(rcv.lines().size() == 3);  // nothing after the dead letter
}

TEST_CASE("delivery: 410 Gone disables the endpoint", "[delivery]") {
  delivery_fixture f;
  receiver_proc rcv(f.dir, "r", {"--status-mix", "410:1"});
  f.add_endpoint("gone", {{"url", rcv.url()}, {"secret", kSecret}, {"retry", fixed_retry(50, 5)}});
  f.add_event("C1", "{}");
  f.add_event("C2", "{}");
  REQUIRE(eventually([&] { return !f.records_of(record_kind::endpoint_disabled).empty(); }));
  auto d = f.records_of(record_kind::endpoint_disabled);
  REQUIRE(d.size() == 1);
  CHECK(d[0].entity_id == "gone");
  CHECK(json::parse(d[0].body)["reason"].get<std::string>().find("410") != std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto n = rcv.lines().size();
  CHECK(n <= 2);  // at most the ones already in flight
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(rcv.lines().size() == n);
}

TEST_CASE(
    "delivery: a 410 from the URL a PATCH replaced while the attempt was in flight does not "
    "disable the endpoint",
    "[delivery]") {
  delivery_fixture f;
  receiver_proc gone(f.dir, "gone", {"--status-mix", "410:1000", "--delay-ms", "1500"});
  receiver_proc fresh(f.dir, "fresh", {});
  f.add_endpoint("ep", {{"url", gone.url()}, {"secret", kSecret}, {"retry", fixed_retry(50, 5)}});
  f.add_event("D1", "{}");
  // The attempt is out to the old URL, waiting for its answer.
  REQUIRE(eventually([&] { return f.disp->stats().in_flight == 1; }));
  f.change_endpoint(record_kind::endpoint_updated, "ep",
                    {{"id", "ep"}, {"url", fresh.url()}, {"retry", fixed_retry(50, 5)}});
  REQUIRE(eventually([&] { return !f.attempts("ep").empty(); }, std::chrono::seconds(10)));
  CHECK(f.attempts("ep")[0]["status"] == 410);
  // The answer came from the old URL: the endpoint on its new one stays enabled (a disable
  // record, when the round had not seen the PATCH yet, is ignored as judged on the old one).
  for (const auto& d : f.records_of(record_kind::endpoint_disabled))
    CHECK(json::parse(d.body)["endpoint_updated_at"].is_number_integer());
  REQUIRE(eventually([&] { return f.runner->applied_seq() >= f.log->head().seq; }));
  CHECK(f.runner->subs().endpoint_status("ep") == projections::subscriptions::status::enabled);
  auto seq = f.add_event("D2", "{}");
  REQUIRE(eventually([&] { return received(fresh, seq); }, std::chrono::seconds(5)));
}

TEST_CASE("delivery: re-enabled after a 410, the endpoint is served again without a restart", "[delivery]") {
  delivery_fixture f;
  receiver_proc gone(f.dir, "gone", {"--status-mix", "410:1"});
  receiver_proc fast(f.dir, "fast", {});
  f.add_endpoint("ep", {{"url", gone.url()}, {"secret", kSecret}, {"retry", fixed_retry(50, 5)}});
  f.add_event("D1", "{}");
  REQUIRE(eventually([&] { return !f.records_of(record_kind::endpoint_disabled).empty(); }));
  // PATCH the url, enable: the dispatcher forgets the disable it wrote (it stopped picking
  // the endpoint for good before) and the failing period.
  f.change_endpoint(record_kind::endpoint_updated, "ep",
                    {{"id", "ep"}, {"url", fast.url()}, {"retry", fixed_retry(50, 5)}});
  f.change_endpoint(record_kind::endpoint_enabled, "ep", json::object());
  auto seq = f.add_event("D2", "{}");
  REQUIRE(eventually([&] { return received(fast, seq); }));
  CHECK(f.records_of(record_kind::endpoint_disabled).size() == 1);
}

TEST_CASE("delivery: a new event is not kept waiting behind more retries than a round looks at", "[delivery]") {
  http::dispatcher_options o;
  o.scan_per_endpoint = 10;
  o.rescan_interval = std::chrono::milliseconds(200);
  delivery_fixture f(o);
  // The first 25 answers are 500s (retried in 60 s), every later one a 200.
  receiver_proc rcv(f.dir, "r", {"--status-mix", "500:25,200:1000"});
  f.add_endpoint("ep", {{"url", rcv.url()}, {"secret", kSecret}, {"max_in_flight", 32}, {"retry", fixed_retry(60000, 5)}});
  for (int i = 0; i < 25; ++i) f.add_event("H" + std::to_string(i), "{}");
  REQUIRE(eventually([&] { return f.attempts("ep").size() == 25; }));
  // 25 items in backoff, 10 looked at per round: the new one is the 26th.
  auto seq = f.add_event("NEW", "{}");
  REQUIRE(eventually([&] { return received(rcv, seq); }, std::chrono::seconds(5)));
  CHECK(rcv.lines().size() == 26);
}

TEST_CASE("delivery: Retry-After on 429 and 503 is honoured", "[delivery]") {
  delivery_fixture f;
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> times;
  http::server_options so;
  so.listen = "127.0.0.1:0";
  so.threads = 1;
  http::http_server srv(so, [&](http::http_request&&, http::responder r) {
    {
      std::lock_guard lk(mu);
      times.push_back(std::chrono::steady_clock::now());
    }
    int n = calls++;
    http::http_response res = http::http_response::json(n == 0 ? 429 : n == 1 ? 503 : 200, "{}");
    if (n < 2) res.headers.emplace_back("Retry-After", "1");
    r(std::move(res));
  });
  auto port = srv.start();
  REQUIRE(port);
  f.add_endpoint("ra", {{"url", "http://127.0.0.1:" + std::to_string(*port) + "/"}, {"secret", kSecret},
                        {"retry", fixed_retry(10, 5)}});
  f.add_event("D1", "{}");
  REQUIRE(eventually([&] { return calls.load() == 3; }, std::chrono::seconds(10)));
  std::lock_guard lk(mu);
  auto gap1 = std::chrono::duration_cast<std::chrono::milliseconds>(times[1] - times[0]).count();
  auto gap2 = std::chrono::duration_cast<std::chrono::milliseconds>(times[2] - times[1]).count();
  CHECK(gap1 >= 950);  // policy says 10 ms; Retry-After says 1 s
  CHECK(gap2 >= 950);
  srv.stop();
}

TEST_CASE("delivery: a hanging endpoint does not slow another", "[delivery]") {
  delivery_fixture f;
  receiver_proc slow(f.dir, "slow", {"--delay-ms", "4000"});
  receiver_proc fast(f.dir, "fast", {});
  f.add_endpoint("slow", {{"url", slow.url()}, {"secret", kSecret}, {"timeout_ms", 2000}, {"retry", fixed_retry(100, 3)}});
  f.add_endpoint("fast", {{"url", fast.url()}, {"secret", kSecret}, {"max_in_flight", 8}});
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) f.add_event("E" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}");
  REQUIRE(eventually([&] { return fast.lines().size() == 50; }, std::chrono::seconds(10)));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  INFO("fast endpoint got 50 events in " << took << " ms");
  CHECK(took < 1500);  // the slow one's requests each take 2 s (timeout)
  // The slow endpoint's attempts time out and are recorded as such.
  REQUIRE(eventually([&] { return !f.attempts("slow").empty(); }, std::chrono::seconds(6)));
  CHECK(f.attempts("slow")[0]["error"].get<std::string>().rfind("timeout", 0) == 0);
}

TEST_CASE(
    "delivery: with entity ordering, one entity's backlog past the scan bound holds back "
    "that entity alone",
    "[delivery]") {
  // Every round of an ordered endpoint walked from its first item: 25 items of entity X behind
  // X's failing first one filled the bound of 10, and Y's item behind them was never looked at.
  http::dispatcher_options o;
  o.scan_per_endpoint = 10;
  o.rescan_interval = std::chrono::milliseconds(200);
  delivery_fixture f(o);
  receiver_proc rcv(f.dir, "r", {"--status-mix", "500:1,200:1000"});  // x0 fails (retried in 60 s)
  f.add_endpoint("ord", {{"url", rcv.url()},
                         {"secret", kSecret},
                         {"ordering", "entity"},
                         {"max_in_flight", 8},
                         {"retry", fixed_retry(60000, 5)}});
  std::vector<std::uint64_t> x;
  for (int i = 0; i < 25; ++i) x.push_back(f.add_event("X", json{{"x", i}}.dump()));
  REQUIRE(eventually([&] { return f.attempts("ord").size() == 1; }));
  const auto y = f.add_event("Y", "{}");
  REQUIRE(eventually([&] { return received(rcv, y); }, std::chrono::seconds(5)));
  // Nothing of X after its first: it waits for its retry, the order holds.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // rounds that walk X again
  const auto lines = rcv.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["webhook_id"] == event_id_for(x[0]));
  CHECK(lines[0]["status_sent"] == 500);
  CHECK(lines[1]["webhook_id"] == event_id_for(y));
}

TEST_CASE("delivery: an endpoint never has more requests out than its origin has connections",
          "[delivery]") {
  // With max_in_flight 8 and 2 connections, 6 requests waited in the pool's queue, signed: behind
  // a receiver taking 1 s each, the last ones arrived with a webhook-timestamp 2-3 s old (a
  // receiver with a tolerance refuses them) and would still go out after a DELETE.
  http::dispatcher_options o;
  o.max_connections_per_origin = 2;
  delivery_fixture f(o);
  receiver_proc rcv(f.dir, "r", {"--secret", kSecret, "--delay-ms", "1000", "--tolerance-s", "1"});
  f.add_endpoint("ep", {{"url", rcv.url()}, {"secret", kSecret}, {"max_in_flight", 8}});
  for (int i = 0; i < 6; ++i) f.add_event("E" + std::to_string(i), "{}");
  REQUIRE(eventually([&] { return rcv.lines().size() == 6; }, std::chrono::seconds(15)));
  for (const auto& l : rcv.lines()) {
    INFO(l.dump());
    CHECK(l["signature_ok"] == true);  // its timestamp within 1 s of its arrival
  }
  for (const auto& a : f.attempts("ep")) CHECK(a["outcome"] == "success");
}

TEST_CASE("delivery: per-entity ordering holds under retries", "[delivery]") {
  delivery_fixture f;
  receiver_proc rcv(f.dir, "r", {"--status-mix", "200:2,500:1"});
  f.add_endpoint("ord", {{"url", rcv.url()}, {"secret", kSecret}, {"ordering", "entity"}, {"max_in_flight", 8},
                         {"retry", fixed_retry(30, 10)}});
  const int kEntities = 4, kPer = 6;
  for (int n = 0; n < kPer; ++n)
    for (int e = 0; e < kEntities; ++e)
      f.add_event("ent" + std::to_string(e), json{{"e", e}, {"n", n}}.dump());
  auto delivered = [&] {
    int ok = 0;
    for (auto& l : rcv.lines()) ok += l["status_sent"] == 200;
    return ok;
  };
  REQUIRE(eventually([&] { return delivered() == kEntities * kPer; }, std::chrono::seconds(20)));
  std::map<int, int> next;
  std::map<int, int> last_sent;  // per entity: the n of the last request (any status)
  for (auto& l : rcv.lines()) {
    auto b = json::parse(l["body"].get<std::string>());
    int e = b["e"], n = b["n"];
    // A request for n never comes before n-1 was delivered.
    CHECK(n <= next[e]);
    if (l["status_sent"] == 200 && n == next[e]) ++next[e];
  }
  for (int e = 0; e < kEntities; ++e) CHECK(next[e] == kPer);
}

TEST_CASE("delivery: secret rotation overlap signs with both secrets", "[delivery]") {
  delivery_fixture f;
  const std::string old_secret = kSecret;
  const std::string new_secret = generate_secret();
  receiver_proc old_only(f.dir, "old", {"--secret", old_secret});
  receiver_proc new_only(f.dir, "new", {"--secret", new_secret});
  auto future = now_micros() + 3600LL * 1'000'000;
  auto past = now_micros() - 1'000'000;
  json prev = json::array({json{{"secret", old_secret}, {"valid_until", future}}});
  f.add_endpoint("a", {{"url", old_only.url()}, {"secret", new_secret}, {"previous_secrets", prev}});
  f.add_endpoint("b", {{"url", new_only.url()}, {"secret", new_secret}, {"previous_secrets", prev}});
  // An expired previous secret is no longer used.
  receiver_proc expired(f.dir, "expired", {"--secret", old_secret});
  f.add_endpoint("c", {{"url", expired.url()}, {"secret", new_secret},
                       {"previous_secrets", json::array({json{{"secret", old_secret}, {"valid_until", past}}})},
                       {"retry", fixed_retry(10, 1)}});
  f.add_event("F1", "{\"rot\":1}");
  REQUIRE(eventually([&] { return old_only.lines().size() == 1 && new_only.lines().size() == 1 && expired.lines().size() == 1; }));
  CHECK(old_only.lines()[0]["signature_ok"] == true);
  CHECK(new_only.lines()[0]["signature_ok"] == true);
  auto sig = old_only.lines()[0]["headers"]["webhook-signature"].get<std::string>();
  CHECK(std::count(sig.begin(), sig.end(), ' ') == 1);
  CHECK(expired.lines()[0]["signature_ok"] == false);
}

TEST_CASE("delivery: SSRF guard refuses loopback targets unless allowed", "[delivery]") {
  http::dispatcher_options o;
  delivery_fixture f(o);
  // The fixture allows private targets; a second dispatcher configuration is not needed:
  // run the refusal through a fixture whose dispatcher forbids them.
  f.close();
  f.dopts.allow_private_targets = false;
  {
    // reopen with the guard on
    f.open();
  }
  receiver_proc rcv(f.dir, "r", {});
  f.add_endpoint("local", {{"url", rcv.url()}, {"secret", kSecret}, {"retry", fixed_retry(10, 1)}});
  f.add_endpoint("named", {{"url", "http://localhost:" + std::to_string(rcv.addr.port) + "/"}, {"secret", kSecret},
                           {"retry", fixed_retry(10, 1)}});
  f.add_event("H1", "{}");
  REQUIRE(eventually([&] { return f.attempts("local").size() == 1 && f.attempts("named").size() == 1; }));
  for (const char* ep : {"local", "named"}) {
    auto a = f.attempts(ep)[0];
    INFO(a.dump());
    CHECK(a["outcome"] == "failure");
    // The record (tenants read it) says only that the target is not allowed; no address.
    CHECK(a["error"] == "ssrf: the delivery target is not allowed");
  }
  CHECK(rcv.lines().empty());
}
