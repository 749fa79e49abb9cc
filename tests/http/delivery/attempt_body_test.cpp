// The attempt record body written directly (http/delivery/attempt_body.hpp) is byte for byte
// nlohmann's dump of the same object, for the fields a receiver controls (excerpt, headers) and
// the attempt's own, including every control character, quotes, backslashes, DEL, non-ASCII and
// invalid UTF-8 (the last two through nlohmann with U+FFFD).
#include <catch2/catch.hpp>

#include <random>

#include "http/delivery/attempt_body.hpp"

using namespace hooklog;
using projections::delivery_attempt;

namespace {

delivery_attempt sample() {
  delivery_attempt a;
  a.endpoint_id = "ep_01";
  a.event_seq = 18446744073709551615ull;
  a.attempt = 3;
  a.success = false;
  a.status = 503;
  a.latency_us = 1234;
  a.error = "HTTP 503";
  a.next_attempt_at = -5;
  return a;
}

}  // namespace

TEST_CASE("attempt body: the direct writer gives nlohmann's bytes", "[attempt_body]") {
  std::string every_byte;
  for (int c = 0; c < 0x80; ++c) every_byte += static_cast<char>(c);
  const std::vector<std::string> texts = {"",        "ok",       "a\"b\\c", every_byte,
                                          "caf\xc3\xa9", "bad \xff\xfe utf-8", "\x7f"};
  for (const auto& t : texts)
    for (int variant = 0; variant < 4; ++variant) {
      delivery_attempt a = sample();
      a.error = t;
      a.success = variant % 2 == 1;
      a.dead_letter = variant == 2;
      if (variant == 3) a.next_attempt_at.reset();
      if (variant >= 2) a.replay_id = "rpl_" + t;
      const http::header_list headers = {{"content-type", "text/plain"}, {"x-" + t, t}};
      const bool truncated = variant == 1;
      INFO("variant " << variant << ", text of " << t.size() << " bytes");
      CHECK(http::attempt_body(a, t, truncated, headers) ==
            http::attempt_body_json(a, t, truncated, headers));
      CHECK(http::attempt_body(a, t, truncated, {}) == http::attempt_body_json(a, t, truncated, {}));
    }
  CHECK(http::attempt_body(sample(), "x", false, {{"a", "b"}}) ==
        R"({"attempt":3,"dead_letter":false,"endpoint_id":"ep_01","error":"HTTP 503",)"
        R"("event_seq":18446744073709551615,"latency_us":1234,"next_attempt_at":-5,)"
        R"("outcome":"failure","response_excerpt":"x","response_headers":[["a","b"]],"status":503})");
  // Random ASCII, bounded: excerpts and headers as a misbehaving receiver might send them.
  std::mt19937 rng(17);
  for (int i = 0; i < 500; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 0x80);
    delivery_attempt a = sample();
    a.endpoint_id = s;
    CHECK(http::attempt_body(a, s, i % 2 == 0, {{s, s}}) ==
          http::attempt_body_json(a, s, i % 2 == 0, {{s, s}}));
  }
}

TEST_CASE("attempt body: a byte over 0x7f in any one string goes through nlohmann", "[attempt_body]") {
  // The direct writer meets it part way through the body (after the strings before it were
  // written): the whole body is then nlohmann's, U+FFFD for the invalid byte.
  const std::string bad = "x\xffy";
  for (int where = 0; where < 6; ++where) {
    delivery_attempt a = sample();
    a.replay_id = "rpl_1";
    std::string excerpt = "ok";
    http::header_list headers = {{"content-type", "text/plain"}, {"x-b", "v"}};
    switch (where) {
      case 0: a.endpoint_id = bad; break;
      case 1: a.error = bad; break;
      case 2: a.replay_id = bad; break;
      case 3: excerpt = bad; break;
      case 4: headers[1].first = bad; break;
      case 5: headers[1].second = bad; break;
    }
    INFO("non-ASCII in string " << where);
    const auto body = http::attempt_body(a, excerpt, false, headers);
    CHECK(body == http::attempt_body_json(a, excerpt, false, headers));
    CHECK(body.find("x\xef\xbf\xbdy") != std::string::npos);
    CHECK(body.find("{\"attempt\":3,") == 0);  // one body, not a partial one before it
    CHECK(body.rfind("\"status\":503}") == body.size() - 13);
  }
}
