#include <catch2/catch.hpp>

#include "http/delivery/record_hold.hpp"

using namespace hooklog::http;

namespace {
constexpr std::int64_t kS = 1'000'000;

// After a hold that ended at `now`: the probe and the rest of a whole window, each written.
void recover(record_hold& h, std::int64_t now) {
  const std::uint64_t gen = h.started(1, now);
  for (std::size_t i = 1; i < record_hold::kFullWindow; ++i) {
    h.started(1, now);
    h.succeeded(gen);
  }
}
}  // namespace

TEST_CASE("record_hold: no limit while records are written", "[delivery][record_hold]") {
  record_hold h;
  CHECK(h.allowance(0) == record_hold::kUnlimited);
  CHECK(h.started(50, 0) == 0);
  h.succeeded(0);
  CHECK(h.allowance(0) == record_hold::kUnlimited);
  CHECK_FALSE(h.holding());
}

TEST_CASE("record_hold: holds 1 s doubling to 60 s, one probe after each",
          "[delivery][record_hold]") {
  record_hold h;
  h.failed(10 * kS, 0);
  CHECK(h.holding());
  CHECK(h.until() == 11 * kS);
  CHECK(h.allowance(10 * kS) == 0);
  // Attempts that were in flight fail during the hold: it does not grow.
  h.failed(10 * kS + 5, 0);
  CHECK(h.until() == 11 * kS);
  // The hold ended: one probe, nothing more while it is out.
  CHECK(h.allowance(11 * kS) == 1);
  std::uint64_t probe = h.started(1, 11 * kS);
  CHECK(probe != 0);
  CHECK(h.allowance(11 * kS) == 0);
  CHECK(h.allowance(20 * kS) == 0);
  h.failed(12 * kS, 0);  // an attempt from before the hold: still nothing
  CHECK(h.until() == 11 * kS);
  std::int64_t now = 11 * kS;
  std::int64_t want = 2 * kS;
  for (int i = 0; i < 10; ++i) {  // the probe fails: 2, 4, ... 60 s
    h.failed(now, probe);
    CHECK(h.until() == now + want);
    CHECK(h.allowance(now + want - 1) == 0);
    h.failed(now + 1, probe);  // the same recovery's other failures: no longer hold
    CHECK(h.until() == now + want);
    now = h.until();
    CHECK(h.allowance(now) == 1);
    const std::uint64_t next = h.started(3, now);  // more than allowed
    CHECK(next != probe);
    probe = next;
    CHECK(h.allowance(now) == 0);
    want = std::min<std::int64_t>(want * 2, 60 * kS);
  }
}

TEST_CASE(
    "record_hold: after a written probe the window widens by one per written record, 63 end the "
    "holds",
    "[delivery][record_hold]") {
  record_hold h;
  h.failed(0, 0);
  const std::int64_t now = kS;
  REQUIRE(h.allowance(now) == 1);
  const std::uint64_t gen = h.started(1, now);
  h.succeeded(gen);  // the probe was written
  CHECK(h.allowance(now) == 2);
  CHECK(h.started(2, now) == gen);
  h.succeeded(gen);
  CHECK(h.allowance(now) == 2);  // window 3, one out
  // A slow attempt keeps only its own place: the others go on widening the window.
  CHECK(h.started(2, now) == gen);  // three out
  for (int i = 0; i < 2; ++i) h.succeeded(gen);
  CHECK(h.allowance(now) == 4);  // window 5, one out
  std::size_t written = 4;
  while (written + 1 < record_hold::kFullWindow) {
    CAPTURE(written);
    REQUIRE(h.holding());
    h.started(1, now);
    h.succeeded(gen);
    ++written;
  }
  CHECK(written == record_hold::kFullWindow - 1);
  CHECK_FALSE(h.holding());
  CHECK(h.allowance(now) == record_hold::kUnlimited);
  h.succeeded(gen);  // the slow attempt, written at last: nothing changes
  CHECK(h.allowance(now) == record_hold::kUnlimited);
}

TEST_CASE(
    "record_hold: a failure in the recovery holds again for twice as long, the window starts at "
    "one",
    "[delivery][record_hold]") {
  record_hold h;
  h.failed(0, 0);
  std::int64_t now = kS;
  std::uint64_t gen = h.started(1, now);
  h.succeeded(gen);  // the probe was written
  REQUIRE(h.allowance(now) == 2);
  h.started(2, now);
  h.succeeded(gen);
  h.failed(now, gen);  // a log at its map's end: one small commit fits, the next does not
  CHECK(h.until() == now + 2 * kS);
  CHECK(h.allowance(now) == 0);
  h.succeeded(gen);  // written, but of the recovery before this hold: it does not end it
  CHECK(h.allowance(now + kS) == 0);
  now += 2 * kS;
  CHECK(h.allowance(now) == 1);
  gen = h.started(1, now);
  h.failed(now - 3 * kS, gen);  // the clock stepped back: still the recovery's failure
  CHECK(h.until() == now - 3 * kS + 4 * kS);
}

TEST_CASE("record_hold: attempts started or written during a hold do not end it",
          "[delivery][record_hold]") {
  record_hold h;
  const std::uint64_t before = h.started(16, 0);
  h.failed(0, before);
  // Picked before the hold began (the failure came between the pick and started()).
  CHECK(h.started(15, 10) == 0);
  for (int i = 0; i < 30; ++i) h.succeeded(0);  // the attempts in flight before the hold
  CHECK(h.holding());
  CHECK(h.allowance(kS - 1) == 0);
  CHECK(h.allowance(kS) == 1);  // the probe, as if none had been written
}

TEST_CASE("record_hold: the holds start at 1 s again once the last ended a minute ago",
          "[delivery][record_hold]") {
  record_hold h;
  h.failed(0, 0);
  h.failed(kS, h.started(1, kS));  // 2 s
  CHECK(h.until() == 3 * kS);
  recover(h, 3 * kS);
  REQUIRE_FALSE(h.holding());
  h.failed(10 * kS, 0);  // within a minute of the last hold's end: twice the last
  CHECK(h.until() == 14 * kS);
  recover(h, 14 * kS);
  REQUIRE_FALSE(h.holding());
  h.failed(74 * kS, 0);  // a minute after it: 1 s again
  CHECK(h.until() == 75 * kS);
}
