// What an attempt's outcome means (http/delivery/attempt_verdict.hpp): the delivery_attempt's
// fields, the error texts, retries, Retry-After, dead letters, 410's disable, and the records
// one attempt appends, byte for byte.
#include <catch2/catch.hpp>

#include <vector>

#include "http/delivery/attempt_verdict.hpp"
#include "http/delivery/delivery_errc.hpp"

using namespace hooklog;
using http::judge_attempt;
using http::outbound_outcome;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000'000;

projections::pending_item item(std::uint32_t attempt, std::string replay = {}) {
  projections::pending_item it;
  it.endpoint_id = "ep_item";  // judge_attempt takes the endpoint from its argument
  it.event_seq = 42;
  it.attempt = attempt;
  it.replay_id = std::move(replay);
  return it;
}

outbound_outcome answer(unsigned status, http::header_list headers = {}) {
  outbound_outcome o;
  o.status = status;
  o.latency_us = 1500;
  o.headers = std::move(headers);
  return o;
}

// A retry policy stand-in: the next attempt 60 s from now, or none after the third; each call
// noted.
struct tries {
  std::vector<std::uint32_t> asked;
  http::next_try_fn fn() {
    return [this](std::uint32_t attempt, std::int64_t now) -> std::optional<std::int64_t> {
      asked.push_back(attempt);
      if (attempt >= 3) return std::nullopt;
      return now + 60'000'000;
    };
  }
};

}  // namespace

TEST_CASE("attempt verdict: a 2xx answer is a success, no retry asked", "[attempt_verdict]") {
  tries t;
  auto v = judge_attempt("ep_1", item(2, "rp_9"), answer(204), kNow, t.fn());
  const auto& a = v.attempt;
  CHECK(a.success);
  CHECK(a.endpoint_id == "ep_1");
  CHECK(a.event_seq == 42);
  CHECK(a.attempt == 2);
  CHECK(a.replay_id == "rp_9");
  CHECK(a.status == 204);
  CHECK(a.latency_us == 1500);
  CHECK(a.error.empty());
  CHECK_FALSE(a.next_attempt_at);
  CHECK_FALSE(a.dead_letter);
  CHECK_FALSE(a.is_dead());
  CHECK_FALSE(v.pause_until);
  CHECK(v.disable_reason.empty());
  CHECK(t.asked.empty());
}

TEST_CASE("attempt verdict: failures' error texts and retries", "[attempt_verdict]") {
  tries t;
  SECTION("a status") {
    auto v = judge_attempt("ep_1", item(1), answer(500), kNow, t.fn());
    CHECK_FALSE(v.attempt.success);
    CHECK(v.attempt.error == "status: 500");
    CHECK(v.attempt.next_attempt_at == kNow + 60'000'000);
    CHECK_FALSE(v.attempt.dead_letter);
    CHECK(t.asked == std::vector<std::uint32_t>{1});
  }
  SECTION("a redirect, with and without Location") {
    auto v = judge_attempt("ep_1", item(1), answer(302, {{"Location", "http://elsewhere/x"}}), kNow, t.fn());
    CHECK(v.attempt.error == "redirect: status 302 (not followed), Location: http://elsewhere/x");
    auto w = judge_attempt("ep_1", item(1), answer(301), kNow, t.fn());
    CHECK(w.attempt.error == "redirect: status 301 (not followed)");
  }
  SECTION("a transport failure: its kind's name and message, status 0") {
    outbound_outcome o;
    o.failure = http::make_error(http::delivery_errc::timeout, "waiting for the answer: timed out");
    o.detail = "operator only";
    auto v = judge_attempt("ep_1", item(2), o, kNow, t.fn());
    CHECK(v.attempt.status == 0);
    CHECK(v.attempt.error == "timeout: waiting for the answer: timed out");
    CHECK(v.attempt.next_attempt_at == kNow + 60'000'000);
  }
  SECTION("no attempt left: a dead letter") {
    auto v = judge_attempt("ep_1", item(3), answer(500), kNow, t.fn());
    CHECK_FALSE(v.attempt.next_attempt_at);
    CHECK(v.attempt.dead_letter);
    CHECK(v.attempt.is_dead());
    CHECK(t.asked == std::vector<std::uint32_t>{3});
  }
}

TEST_CASE("attempt verdict: Retry-After of 429 and 503 pauses the endpoint", "[attempt_verdict]") {
  tries t;
  // Later than the policy's retry: the record's next attempt moves to it.
  auto v = judge_attempt("ep_1", item(1), answer(429, {{"Retry-After", "120"}}), kNow, t.fn());
  CHECK(v.attempt.next_attempt_at == kNow + 120'000'000);
  CHECK(v.pause_until == kNow + 120'000'000);
  // Earlier than the policy's: the record keeps the policy's, the pause is still Retry-After's.
  auto w = judge_attempt("ep_1", item(1), answer(503, {{"Retry-After", "5"}}), kNow, t.fn());
  CHECK(w.attempt.next_attempt_at == kNow + 60'000'000);
  CHECK(w.pause_until == kNow + 5'000'000);
  // Other statuses, no retry left, or no header: no pause.
  CHECK_FALSE(judge_attempt("ep_1", item(1), answer(500, {{"Retry-After", "120"}}), kNow, t.fn()).pause_until);
  CHECK_FALSE(judge_attempt("ep_1", item(3), answer(429, {{"Retry-After", "120"}}), kNow, t.fn()).pause_until);
  CHECK_FALSE(judge_attempt("ep_1", item(1), answer(429), kNow, t.fn()).pause_until);
}

TEST_CASE("attempt verdict: 410 Gone asks for the endpoint's disable", "[attempt_verdict]") {
  tries t;
  auto v = judge_attempt("ep_1", item(1), answer(410), kNow, t.fn());
  CHECK(v.disable_reason == "endpoint answered 410 Gone");
  CHECK(v.attempt.error == "status: 410");
  CHECK(judge_attempt("ep_1", item(1), answer(404), kNow, t.fn()).disable_reason.empty());
}

TEST_CASE("attempt records: the attempt, then the disable, byte for byte", "[attempt_verdict]") {
  tries t;
  projections::endpoint ep;
  ep.id = "ep_1";
  ep.tenant = "t_ep";
  auto o = answer(410, {{"Date", "Wed, 02 Dec 2026 02:00:00 GMT"}});
  o.body_excerpt = "gone for good";
  auto v = judge_attempt("ep_1", item(1), o, kNow, t.fn());
  auto recs = http::attempt_records(v.attempt, "t_ev", "order.created", o, 4, ep, v.disable_reason);
  REQUIRE(recs.size() == 2);
  REQUIRE(recs.disabled);
  CHECK(recs.attempt.kind == record_kind::delivery_attempt);
  CHECK(recs.attempt.tenant == "t_ev");
  CHECK(recs.attempt.type == "order.created");
  CHECK(recs.attempt.entity_kind == "endpoint");
  CHECK(recs.attempt.entity_id == "ep_1");
  CHECK(recs.attempt.ref_seq == 42);
  CHECK(recs.attempt.body ==
        "{\"attempt\":1,\"dead_letter\":false,\"endpoint_id\":\"ep_1\",\"error\":\"status: 410\",\"event_seq\":42,"
        "\"latency_us\":1500,\"next_attempt_at\":1700000060000000,\"outcome\":\"failure\",\"response_excerpt\":"
        "\"gone\",\"response_headers\":[[\"Date\",\"Wed, 02 Dec 2026 02:00:00 GMT\"]],"
        "\"response_truncated\":true,\"status\":410}");  // "gone for good" cut to 4 bytes: said so
  CHECK(recs.disabled->kind == record_kind::endpoint_disabled);
  CHECK(recs.disabled->tenant == "t_ep");
  CHECK(recs.disabled->entity_kind == "endpoint");
  CHECK(recs.disabled->entity_id == "ep_1");
  CHECK(recs.disabled->body ==
        "{\"by\":\"dispatcher\",\"endpoint_updated_at\":0,\"event_seq\":42,\"reason\":\"endpoint "
        "answered 410 Gone\"}");
  // A success: one record, the excerpt within its limit kept whole.
  auto ok = answer(200);
  ok.body_excerpt = "ok";
  auto s = judge_attempt("ep_1", item(1), ok, kNow, t.fn());
  auto one = http::attempt_records(s.attempt, "t_ev", "order.created", ok, 4, ep, s.disable_reason);
  REQUIRE(one.size() == 1);
  CHECK_FALSE(one.disabled);
  CHECK(one.attempt.body.find("\"outcome\":\"success\",\"response_excerpt\":\"ok\",") != std::string::npos);
}

TEST_CASE("attempt records: a disable reason with bytes that are not UTF-8 is written, not thrown",
          "[attempt_verdict]") {
  tries t;
  projections::endpoint ep;
  ep.id = "ep_1";
  ep.tenant = "t_ep";
  // A 302 whose Location holds a byte 0xFF (Beast accepts it): the failing-period rule quotes the
  // last error in the reason.
  auto o = answer(302, {{"Location", "http://x/\xff"}});
  auto v = judge_attempt("ep_1", item(1), o, kNow, t.fn());
  std::string reason = "failing since 2026-12-01, last error: " + v.attempt.error;
  http::attempt_record_set recs;
  REQUIRE_NOTHROW(recs = http::attempt_records(v.attempt, "t_ev", "order.created", o, 64, ep, reason));
  REQUIRE(recs.size() == 2);
  REQUIRE(recs.disabled);
  CHECK(recs.disabled->body ==
        "{\"by\":\"dispatcher\",\"endpoint_updated_at\":0,\"event_seq\":42,\"reason\":\"failing "
        "since 2026-12-01, last error: redirect: "
        "status 302 (not followed), Location: http://x/\xef\xbf\xbd\"}");
}
