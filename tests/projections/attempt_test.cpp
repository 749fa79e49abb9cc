// attempt_from_json reads only the members it needs (engine/json_extract.hpp) and falls back to
// the full parse for anything else; attempt_of parses a body once for consecutive readers. The
// results must be those of the full parse, field by field, so a rebuild writes the same state.
#include <catch2/catch.hpp>

#include <string>

#include "projections/attempt.hpp"

using namespace hooklog;
using namespace hooklog::projections;

namespace {

void check_same(const delivery_attempt& a, const delivery_attempt& b) {
  CHECK(a.endpoint_id == b.endpoint_id);
  CHECK(a.event_seq == b.event_seq);
  CHECK(a.attempt == b.attempt);
  CHECK(a.success == b.success);
  CHECK(a.status == b.status);
  CHECK(a.latency_us == b.latency_us);
  CHECK(a.error == b.error);
  CHECK(a.response_excerpt == b.response_excerpt);
  CHECK(a.next_attempt_at == b.next_attempt_at);
  CHECK(a.dead_letter == b.dead_letter);
  CHECK(a.replay_id == b.replay_id);
}

}  // namespace

TEST_CASE("attempt_from_json: the dispatcher's bodies read back field by field", "[attempt]") {
  delivery_attempt a;
  a.endpoint_id = "ep_1";
  a.event_seq = 42;
  a.attempt = 3;
  a.status = 503;
  a.latency_us = 1234;
  a.error = "HTTP 503";
  a.response_excerpt = "caf\xC3\xA9 \"busy\"\n";
  a.next_attempt_at = 1'700'000'000'000'000;
  a.replay_id = "rp_9";
  const std::string body = make_attempt_record(a, "t1", "order.updated").body;
  auto got = attempt_from_json(body);
  REQUIRE(got.ok());
  check_same(*got, a);
  a.success = true;
  a.next_attempt_at.reset();
  a.replay_id.clear();
  got = attempt_from_json(make_attempt_record(a, "t1", "x").body);
  REQUIRE(got.ok());
  check_same(*got, a);
}

TEST_CASE("attempt_from_json: bodies the scan leaves to the full parse read as before",
          "[attempt]") {
  // A repeated member: the full parse keeps the last one.
  auto dup = attempt_from_json(
      R"({"endpoint_id":"a","endpoint_id":"b","event_seq":1,"outcome":"success"})");
  REQUIRE(dup.ok());
  CHECK(dup->endpoint_id == "b");
  // An escaped key is the same key.
  auto esc = attempt_from_json(R"({"endpoint_\u0069d":"e","event_seq":2,"outcome":"failure"})");
  REQUIRE(esc.ok());
  CHECK(esc->endpoint_id == "e");
  CHECK(esc->event_seq == 2);
  // Unknown members, nested deep, are ignored.
  auto extra = attempt_from_json(
      R"({"x":[[[{"y":1}]]],"endpoint_id":"e","event_seq":3,"outcome":"success","status":204})");
  REQUIRE(extra.ok());
  CHECK(extra->status == 204);
  // Refusals keep their reasons.
  auto not_json = attempt_from_json(R"({"endpoint_id":"e",)");
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.err().message == "delivery_attempt: body is not a JSON object");
  auto array = attempt_from_json(R"([1])");
  REQUIRE_FALSE(array.ok());
  CHECK(array.err().message == "delivery_attempt: body is not a JSON object");
  auto outcome = attempt_from_json(R"({"endpoint_id":"e","event_seq":1,"outcome":"maybe"})");
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.err().message == "delivery_attempt: outcome must be success or failure");
  auto type = attempt_from_json(R"({"endpoint_id":7,"event_seq":1,"outcome":"success"})");
  REQUIRE_FALSE(type.ok());
  CHECK(type.err().message.find("delivery_attempt: ") == 0);
  auto zero =
      attempt_from_json(R"({"endpoint_id":"e","event_seq":1,"outcome":"success","attempt":0})");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.err().message == "delivery_attempt: attempt must be >= 1");
}

TEST_CASE("attempt_of: one parse for the same bytes, never another body's", "[attempt]") {
  const std::string one = R"({"endpoint_id":"one","event_seq":1,"outcome":"success"})";
  const std::string two = R"({"endpoint_id":"two","event_seq":2,"outcome":"failure"})";
  const auto& a = attempt_of(one);
  REQUIRE(a.ok());
  CHECK(a->endpoint_id == "one");
  CHECK(attempt_of(one)->endpoint_id == "one");
  CHECK(attempt_of(two)->endpoint_id == "two");
  CHECK(attempt_of(one)->endpoint_id == "one");
  CHECK_FALSE(attempt_of("{").ok());
}
