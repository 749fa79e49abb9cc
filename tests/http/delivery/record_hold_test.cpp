#include <catch2/catch.hpp>

#include "http/delivery/record_hold.hpp"

using namespace hooklog::http;

namespace {
constexpr std::int64_t kS = 1'000'000;
}

TEST_CASE("record_hold: no limit while records are written", "[delivery][record_hold]") {
  record_hold h;
  CHECK(h.allowance(0) == record_hold::kUnlimited);
  h.started(50);
  h.succeeded();
  CHECK(h.allowance(0) == record_hold::kUnlimited);
  CHECK_FALSE(h.holding());
}

TEST_CASE("record_hold: holds 1 s doubling to 60 s, one probe after each, a written record ends it",
          "[delivery][record_hold]") {
  record_hold h;
  h.failed(10 * kS);
  CHECK(h.until() == 11 * kS);
  CHECK(h.allowance(10 * kS) == 0);
  // Attempts that were in flight fail during the hold: it does not grow.
  h.failed(10 * kS + 5);
  CHECK(h.until() == 11 * kS);
  // The hold ended: one probe, nothing more while it is out.
  CHECK(h.allowance(11 * kS) == 1);
  h.started(1);
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
    h.started(3);  // only the first counts: the allowance was one
    want = std::min<std::int64_t>(want * 2, 60 * kS);
  }
  h.succeeded();
  CHECK(h.allowance(now) == record_hold::kUnlimited);
  h.failed(now);
  CHECK(h.until() == now + kS);  // starts again at 1 s
}
