// attempt_from_json reads the members it needs in one pass (engine/json_fields.hpp) and falls
// back to the full parse for anything else; attempt_of parses a body once for consecutive
// readers. The results must be those of the full parse, field by field, and the refusals the
// same words, so a rebuild writes the same state.
#include <catch2/catch.hpp>

#include <cctype>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

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

// "" when attempt_from_json and the full parse (detail::attempt_from_parse) agree on `body`:
// the same attempt field by field, or the same error code and message; else what differs.
std::string differs(const std::string& body) {
  const auto fast = attempt_from_json(body);
  const auto full = detail::attempt_from_parse(body);
  if (fast.ok() != full.ok())
    return std::string("ok: ") + (fast.ok() ? "one pass" : "full parse") + " only; " +
           (fast.ok() ? full.err().message : fast.err().message);
  if (!fast.ok()) {
    if (fast.err().code != full.err().code) return "error code";
    if (fast.err().message != full.err().message)
      return "message: " + fast.err().message + " | " + full.err().message;
    return "";
  }
  const delivery_attempt& a = *fast;
  const delivery_attempt& b = *full;
  if (a.endpoint_id != b.endpoint_id) return "endpoint_id";
  if (a.event_seq != b.event_seq) return "event_seq";
  if (a.attempt != b.attempt) return "attempt";
  if (a.success != b.success) return "success";
  if (a.status != b.status) return "status";
  if (a.latency_us != b.latency_us) return "latency_us";
  if (a.error != b.error) return "error";
  if (a.response_excerpt != b.response_excerpt) return "response_excerpt";
  if (a.next_attempt_at != b.next_attempt_at) return "next_attempt_at";
  if (a.dead_letter != b.dead_letter) return "dead_letter";
  if (a.replay_id != b.replay_id) return "replay_id";
  return "";
}

// Bodies as the dispatcher writes them (http/delivery/attempt_body.cpp: sorted keys, the
// answer's headers as pairs), with and without the optional members.
std::vector<std::string> dispatcher_bodies() {
  std::vector<std::string> out;
  out.push_back(
      R"({"attempt":1,"dead_letter":false,"endpoint_id":"ep_01HX","error":"","event_seq":17,)"
      R"("latency_us":812,"next_attempt_at":null,"outcome":"success","response_excerpt":"{\"ok\":true}",)"
      R"("response_headers":[["content-type","application/json"],["content-length","11"]],"status":200})");
  out.push_back(
      R"({"attempt":4,"dead_letter":false,"endpoint_id":"ep_2","error":"status: 503","event_seq":9007199254740993,)"
      R"("latency_us":0,"next_attempt_at":1700000000123456,"outcome":"failure","replay_id":"rp_7",)"
      R"("response_excerpt":"busy\n\u0001 caf\u00e9 \ud83d\ude00","response_headers":[],)"
      R"("response_truncated":true,"status":503})");
  out.push_back(
      R"({"attempt":12,"dead_letter":true,"endpoint_id":"e","error":"transport: connection refused",)"
      R"("event_seq":3,"latency_us":-5,"next_attempt_at":null,"outcome":"failure","response_excerpt":"",)"
      R"("response_headers":[["x","\u00e9"]],"status":0})");
  delivery_attempt a;
  a.endpoint_id = "ep_\xC3\xA9";
  a.event_seq = 42;
  a.attempt = 3;
  a.status = 410;
  a.error = "status: 410";
  a.response_excerpt = std::string("gone \"now\"\t\x7F") + std::string(1, '\0') + "end";
  a.replay_id = "rp_1";
  out.push_back(make_attempt_record(a, "t", "x").body);
  out.push_back(to_json(a).dump(2));  // pretty-printed: whitespace everywhere
  return out;
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

TEST_CASE("attempt_from_json: edited and broken bodies read as the full parse reads them",
          "[attempt]") {
  const std::vector<std::string> keys = {"endpoint_id", "event_seq",   "attempt",
                                         "outcome",     "status",      "latency_us",
                                         "error",       "response_excerpt", "next_attempt_at",
                                         "dead_letter", "replay_id"};
  const std::vector<std::string> values = {
      "null", "true", "false", "0", "1", "-1", "-0", "7", "255", "65535", "2147483647",
      "2147483648", "4294967295", "4294967296", "4294967297", "-2147483649",
      "999999999999999999", "1000000000000000000", "9223372036854775807",
      "9223372036854775808", "18446744073709551615", "18446744073709551616",
      "-9223372036854775808", "-9223372036854775809", "123456789012345678901234", "1.0",
      "1.5", "-2.5e3", "1e2", "0.0", "1e400", "-1e400", "1E-400", "\"\"", "\"x\"",
      "\"success\"", "\"failure\"", "\"Success\"", "\"success \"", "\"succ\\u0065ss\"",
      "\"a\\nb\"", "\"\\u00e9\\u20ac\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\/\\\\\\\"\"",
      "\"caf\xC3\xA9\"", "\"\xC3\"", "[]", "[1,2]", "[\"success\"]", "{}", "{\"a\":1}",
      "\"17\"", "01", "1.", "-", "tru", "nul", "\"\\x\""};
  std::size_t checked = 0;
  auto check = [&](const std::string& body) {
    INFO(body);
    CHECK(differs(body).empty());
    ++checked;
  };
  for (const std::string& base : dispatcher_bodies()) {
    check(base);
    const auto parsed = detail::attempt_from_parse(base);
    REQUIRE(parsed.ok());
    // Every member read: removed, set to each value, repeated, its key escaped.
    for (const std::string& key : keys) {
      const std::string quoted = "\"" + key + "\"";
      const auto at = base.find(quoted);
      if (at == std::string::npos) {
        for (const std::string& v : values) check("{" + quoted + ":" + v + "," + base.substr(1));
        continue;
      }
      // The member's value: from after the colon to the comma or brace that ends it (the
      // bodies above hold no comma inside the values of the members read, except arrays).
      std::size_t colon = base.find(':', at + quoted.size());
      std::size_t v_end = colon + 1;
      while (v_end < base.size() && std::isspace(static_cast<unsigned char>(base[v_end]))) ++v_end;
      if (base[v_end] == '"') {
        ++v_end;
        while (base[v_end] != '"') v_end += base[v_end] == '\\' ? 2 : 1;
        ++v_end;
      } else {
        while (base[v_end] != ',' && base[v_end] != '}' && base[v_end] != '\n') ++v_end;
      }
      const std::string before = base.substr(0, colon + 1), after = base.substr(v_end);
      for (const std::string& v : values) check(before + v + after);
      std::string removed = base.substr(0, at) + base.substr(v_end);
      // The comma left behind: before the next member, or the one before a last member.
      if (const auto c = removed.find_first_not_of(" \n", at); c != std::string::npos &&
                                                                removed[c] == ',') {
        removed.erase(at, c - at + 1);
      } else if (const auto p = removed.find_last_not_of(" \n", at - 1);
                 p != std::string::npos && removed[p] == ',') {
        removed.erase(p, 1);
      }
      check(removed);
      check(base.substr(0, base.size() - 1) + "," + quoted + ":1}");
      check(base.substr(0, base.size() - 1) + "," + quoted + ":\"x\"}");
      check("{" + quoted + ":\"first\"," + base.substr(1));
      std::string escaped = base;
      escaped.replace(at + 1, 1, "\\u00" + std::string(1, "0123456789abcdef"[key[0] >> 4]) +
                                     std::string(1, "0123456789abcdef"[key[0] & 15]));
      check(escaped);
    }
    // Truncated at every byte, and with a byte replaced, at every position.
    for (std::size_t n = 0; n < base.size(); ++n) check(base.substr(0, n));
    std::mt19937 rng(static_cast<unsigned>(base.size()));
    const std::string bytes = "{}[]\",:\\ 0123456789-+.eEtrufalsn\x01\x7F\xC3\xA9\xFF";
    for (int k = 0; k < 1000; ++k) {
      std::string m = base;
      const std::size_t pos = rng() % m.size();
      m[pos] = bytes[rng() % bytes.size()];
      if (k % 3 == 0) m.insert(m.begin() + static_cast<std::ptrdiff_t>(rng() % m.size()),
                               bytes[rng() % bytes.size()]);
      check(m);
    }
  }
  // Not an object, a byte order mark, whitespace around, deep unknown members.
  const std::string ok = dispatcher_bodies().front();
  for (const std::string& body :
       {std::string(), std::string("[]"), std::string("1"), std::string("\"s\""),
        std::string("null"), "\xEF\xBB\xBF" + ok, " \n\t" + ok + " \r\n", ok + "x", ok + ok,
        "{\"deep\":" + std::string(70, '[') + std::string(70, ']') + "," + ok.substr(1),
        "{\"deep\":" + std::string(63, '[') + std::string(63, ']') + "," + ok.substr(1)})
    check(body);
  CHECK(checked > 9000);
}
