#include <catch2/catch.hpp>

#include "http/delivery/record_hold.hpp"

using namespace hooklog::http;

namespace {
constexpr std::int64_t kS = 1'000'000;
}

TEST_CASE("record_hold: no limit while records are written", "[delivery][record_hold]") {
  record_hold h;
  CHECK(h.allowance(0) == record_hold::kUnlimited);
  h.started(50, 0);
  h.succeeded();
  CHECK(h.allowance(0) == record_hold::kUnlimited);
  CHECK_FALSE(h.holding());
}

TEST_CASE("record_hold: holds 1 s doubling to 60 s, one probe after each",
          "[delivery][record_hold]") {
  record_hold h;
  h.failed(10 * kS);
  CHECK(h.holding());
  CHECK(h.until() == 11 * kS);
  CHECK(h.allowance(10 * kS) == 0);
  // Attempts that were in flight fail during the hold: it does not grow.
  h.failed(10 * kS + 5);
  CHECK(h.until() == 11 * kS);
  // The hold ended: one probe, nothing more while it is out.
  CHECK(h.allowance(11 * kS) == 1);
  h.started(1, 11 * kS);
  CHECK(h.allowance(11 * kS) == 0);
  CHECK(h.allowance(20 * kS) == 0);
  std::int64_t now = 11 * kS;
  std::int64_t want = 2 * kS;
  for (int i = 0; i < 10; ++i) {  // the probe fails: 2, 4, ... 60 s
    h.failed(now);
    CHECK(h.until() == now + want);
    CHECK(h.allowance(now + want - 1) == 0);
    now = h.until();
    CHECK(h.allowance(now) == 1);
    h.started(3, now);  // more than allowed: still one step
    CHECK(h.allowance(now) == 0);
    want = std::min<std::int64_t>(want * 2, 60 * kS);
  }
}

TEST_CASE(
    "record_hold: after a written probe, steps of 2, 4 ... 64 attempts, a whole last step ends the "
    "holds",
    "[delivery][record_hold]") {
  record_hold h;
  h.failed(0);
  std::int64_t now = kS;
  std::size_t step = 1;
  for (; step <= record_hold::kLastStep; step *= 2) {
    CAPTURE(step);
    REQUIRE(h.allowance(now) == step);
    h.started(step - 1, now);
    CHECK(h.allowance(now) == 1);
    h.started(1, now);
    CHECK(h.allowance(now) == 0);
    for (std::size_t i = 0; i + 1 < step; ++i) h.succeeded();
    CHECK(h.allowance(now) == 0);  // one record of the step still out
    CHECK(h.holding());
    h.succeeded();
  }
  CHECK(step == 2 * record_hold::kLastStep);
  CHECK_FALSE(h.holding());
  CHECK(h.allowance(now) == record_hold::kUnlimited);
  h.failed(now);
  CHECK(h.until() == now + kS);  // over: the next hold is 1 s again
}

TEST_CASE("record_hold: a failure in a step holds again for twice as long, the steps start at one",
          "[delivery][record_hold]") {
  record_hold h;
  h.failed(0);
  std::int64_t now = kS;
  h.started(1, now);
  h.succeeded();  // the probe was written
  REQUIRE(h.allowance(now) == 2);
  h.started(2, now);
  h.succeeded();
  h.failed(now);  // a log at its map's end: one small commit fits, the next does not
  CHECK(h.until() == now + 2 * kS);
  CHECK(h.allowance(now) == 0);
  h.succeeded();  // written, but of an attempt from before this hold: it does not end it
  CHECK(h.allowance(now + kS) == 0);
  now += 2 * kS;
  CHECK(h.allowance(now) == 1);
  h.started(1, now);
  h.failed(now);
  CHECK(h.until() == now + 4 * kS);
}

TEST_CASE("record_hold: attempts started or written during a hold do not end it",
          "[delivery][record_hold]") {
  record_hold h;
  h.started(16, 0);
  h.failed(0);
  // Picked before the hold began (the failure came between the pick and started()).
  h.started(15, 10);
  for (int i = 0; i < 30; ++i) h.succeeded();  // the attempts in flight before the hold
  CHECK(h.holding());
  CHECK(h.allowance(kS - 1) == 0);
  CHECK(h.allowance(kS) == 1);  // the probe, as if none had been written
}
