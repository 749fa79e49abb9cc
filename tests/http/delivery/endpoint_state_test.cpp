#include <catch2/catch.hpp>

#include "http/delivery/endpoint_state.hpp"

using namespace hooklog::http;

TEST_CASE("endpoint_state: a stored change ends the pause, the failing period and the disable",
          "[delivery][endpoint_state]") {
  endpoint_state st;
  CHECK(st.refresh(100));
  st.not_before = 5;
  st.failing_since = 6;
  st.disabling = true;
  CHECK_FALSE(st.refresh(100));
  CHECK(st.not_before == 5);
  CHECK(st.disabling);
  CHECK(st.refresh(200));
  CHECK(st.not_before == 0);
  CHECK(st.failing_since == 0);
  CHECK_FALSE(st.disabling);
}

TEST_CASE(
    "endpoint_state: the rate limit's tokens, full at first, one per 1/rate s, at most the rate",
    "[delivery][endpoint_state]") {
  endpoint_state st;
  st.refill(1'000'000, 4);  // full: 4
  for (int i = 0; i < 4; ++i) CHECK_FALSE(st.take_token(1'000'000, 4));
  auto next = st.take_token(1'000'000, 4);
  REQUIRE(next);
  CHECK(*next == 1'000'000 + 250'000 + 1);  // the next token in a quarter second
  st.refill(1'125'000, 4);                  // half a token
  next = st.take_token(1'125'000, 4);
  REQUIRE(next);
  CHECK(*next == 1'125'000 + 125'000 + 1);
  st.refill(1'250'000, 4);
  CHECK_FALSE(st.take_token(1'250'000, 4));
  st.refill(100'000'000, 4);  // a long pause fills no more than the rate
  CHECK(st.tokens == 4.0);
  endpoint_state slow;
  slow.refill(1, 0);  // below 1 per second still holds one
  CHECK(slow.tokens == 1.0);
}

TEST_CASE(
    "endpoint_state: a freed slot asks for a round only when items waited and an eighth is free",
    "[delivery][endpoint_state]") {
  endpoint_state st;
  st.max_in_flight = 16;
  st.in_flight = 16;
  CHECK(st.free_slots() == 0);
  CHECK_FALSE(st.slot_freed());  // nothing waited
  CHECK(st.free_slots() == 1);
  st.in_flight = 16;
  st.starved = true;
  CHECK_FALSE(st.slot_freed());  // 1 free: fewer than an eighth of 16
  CHECK(st.starved);
  CHECK(st.slot_freed());  // 2 free
  CHECK_FALSE(st.starved);
  CHECK_FALSE(st.slot_freed());  // the round is asked for once
  endpoint_state one;            // max_in_flight 1: one free slot is enough
  one.in_flight = 1;
  one.starved = true;
  CHECK(one.slot_freed());
}
