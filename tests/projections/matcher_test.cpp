#include <algorithm>
#include <catch2/catch.hpp>

#include "engine/secret_box.hpp"
#include <nlohmann/json.hpp>

#include "projections/endpoint.hpp"
#include "projections/json_path.hpp"
#include "projections/matcher.hpp"
#include "projections/proj_errc.hpp"

using namespace hooklog::projections;
using nlohmann::json;

namespace {
endpoint ep(const std::string& id, const std::string& tenant, json events, json filter = nullptr,
            const std::string& mode = "live") {
  json j = {{"id", id}, {"url", "https://x.test/" + id}, {"events", events}, {"tenant", tenant},
            {"mode", mode}};
  if (!filter.is_null()) j["filter"] = filter;
  auto e = endpoint_from_json(j);
  if (!e) FAIL(e.err().what());
  return *e;
}
std::vector<std::string> match(const matcher& m, const std::string& tenant, const std::string& type,
                               json body = json::object(), bool test = false) {
  std::vector<std::string_view> out;
  m.match(tenant, test, type, body.dump(), out);
  std::vector<std::string> s(out.begin(), out.end());
  std::sort(s.begin(), s.end());
  return s;
}
using V = std::vector<std::string>;
}  // namespace

TEST_CASE("type patterns: exact, *, prefix glob") {
  matcher m;
  m.upsert(ep("exact", "t1", {"order_new"}));
  m.upsert(ep("all", "t1", {"*"}));
  m.upsert(ep("jobs", "t1", {"job.*"}));
  m.upsert(ep("upd", "t1", {"order_update:*", "folio_update"}));
  m.upsert(ep("dup", "t1", {"job.*", "job.created", "*"}));

  CHECK(match(m, "t1", "order_new") == V{"all", "dup", "exact"});
  CHECK(match(m, "t1", "job.created") == V{"all", "dup", "jobs"});
  CHECK(match(m, "t1", "job.pickup.updated") == V{"all", "dup", "jobs"});
  CHECK(match(m, "t1", "jobs") == V{"all", "dup"});  // "job.*" needs the dot
  CHECK(match(m, "t1", "order_update:assign_driver") == V{"all", "dup", "upd"});
  CHECK(match(m, "t1", "folio_update") == V{"all", "dup", "upd"});
  CHECK(match(m, "t1", "order_new_x") == V{"all", "dup"});
}

TEST_CASE("tenant and mode isolation") {
  matcher m;
  m.upsert(ep("a-live", "a", {"*"}));
  m.upsert(ep("a-test", "a", {"*"}, nullptr, "test"));
  m.upsert(ep("b-live", "b", {"order_new"}));
  CHECK(match(m, "a", "order_new") == V{"a-live"});
  CHECK(match(m, "a", "order_new", json::object(), true) == V{"a-test"});
  CHECK(match(m, "b", "order_new") == V{"b-live"});
  CHECK(match(m, "b", "order_new", json::object(), true).empty());
  CHECK(match(m, "c", "order_new").empty());
}

TEST_CASE("payload filter conditions") {
  matcher m;
  m.upsert(ep("eq", "t", {"*"}, {{"all", {{{"path", "/data/status"}, {"op", "eq"}, {"value", "COMPLETED"}}}}}));
  m.upsert(ep("neq", "t", {"*"}, {{"all", {{{"path", "/data/status"}, {"op", "neq"}, {"value", "COMPLETED"}}}}}));
  m.upsert(ep("in", "t", {"*"}, {{"all", {{{"path", "/data/status"}, {"op", "in"}, {"value", {"A", "B"}}}}}}));
  m.upsert(ep("exists", "t", {"*"}, {{"all", {{{"path", "/data/driver"}, {"op", "exists"}}}}}));
  m.upsert(ep("absent", "t", {"*"}, {{"all", {{{"path", "/data/driver"}, {"op", "exists"}, {"value", false}}}}}));
  m.upsert(ep("gt", "t", {"*"}, {{"all", {{{"path", "/amount"}, {"op", "gt"}, {"value", 100}}}}}));
  m.upsert(ep("lt", "t", {"*"}, {{"all", {{{"path", "/amount"}, {"op", "lt"}, {"value", 100}}}}}));
  m.upsert(ep("any", "t", {"*"},
              {{"any", {{{"path", "/a"}, {"op", "eq"}, {"value", 1}}, {{"path", "/b"}, {"op", "eq"}, {"value", 2}}}}}));

  CHECK(match(m, "t", "x", {{"data", {{"status", "COMPLETED"}}}}) == V{"absent", "eq"});
  CHECK(match(m, "t", "x", {{"data", {{"status", "A"}, {"driver", "d1"}}}}) == V{"exists", "in", "neq"});
  CHECK(match(m, "t", "x", {{"amount", 150}}) == V{"absent", "gt", "neq"});
  CHECK(match(m, "t", "x", {{"amount", 50.5}}) == V{"absent", "lt", "neq"});
  CHECK(match(m, "t", "x", {{"amount", "150"}}) == V{"absent", "neq"});  // string vs number: no compare
  CHECK(match(m, "t", "x", {{"b", 2}}) == V{"absent", "any", "neq"});
  // An unparsable body matches only endpoints without a filter.
  m.upsert(ep("plain", "t", {"*"}));
  std::vector<std::string_view> out;
  m.match("t", false, "x", "{not json", out);
  CHECK(out == std::vector<std::string_view>{"plain"});
}

TEST_CASE("upsert replaces, disabled and removed endpoints do not match") {
  matcher m;
  m.upsert(ep("e", "t", {"job.*"}));
  CHECK(match(m, "t", "job.created") == V{"e"});
  m.upsert(ep("e", "t", {"order_new"}));
  CHECK(match(m, "t", "job.created").empty());
  CHECK(match(m, "t", "order_new") == V{"e"});
  auto d = ep("e", "t", {"order_new"});
  d.disabled = true;
  m.upsert(d);
  CHECK(match(m, "t", "order_new").empty());
  m.upsert(ep("e", "t", {"*"}));
  m.remove("e");
  CHECK(match(m, "t", "order_new").empty());
  CHECK(m.size() == 0);
}

TEST_CASE("changes() moves with every upsert, remove and clear, and not with a match") {
  // pending keys a memo by the address of a matched id while changes() stays the same.
  matcher m;
  const auto c0 = m.changes();
  m.upsert(ep("e", "t", {"*"}));
  const auto c1 = m.changes();
  CHECK(c1 > c0);
  std::vector<std::string_view> out;
  m.match("t", false, "order_new", "{}", out);
  REQUIRE(out.size() == 1);
  const char* id = out[0].data();
  m.match("t", false, "order_new", "{}", out);
  CHECK(out[0].data() == id);  // the same entry's id, unchanged while nothing changed
  CHECK(m.changes() == c1);
  m.upsert(ep("e", "t", {"*"}));  // replaced: a new entry
  const auto c2 = m.changes();
  CHECK(c2 > c1);
  auto d = ep("e", "t", {"*"});
  d.disabled = true;
  m.upsert(d);  // removed by a disabled upsert
  const auto c3 = m.changes();
  CHECK(c3 > c2);
  m.upsert(ep("f", "t", {"*"}));
  m.remove("f");
  const auto c4 = m.changes();
  CHECK(c4 > c3 + 1);
  m.clear();
  CHECK(m.changes() > c4);
}

TEST_CASE("endpoint validation names the field") {
  auto field = [](json j) {
    auto e = endpoint_from_json(j);
    REQUIRE_FALSE(e.ok());
    CHECK(e.code() == make_error_code(proj_errc::invalid_endpoint));
    return std::string(error_field(e.err()));
  };
  json ok = {{"id", "ep_1"}, {"url", "https://x.test/h"}};
  REQUIRE(endpoint_from_json(ok).ok());
  auto with = [&](const char* k, json v) { json j = ok; j[k] = std::move(v); return j; };
  CHECK(field(json{{"url", "https://x"}}) == "id");
  CHECK(field(with("url", "ftp://x")) == "url");
  CHECK(field(with("events", {"job.*", "a*b"})) == "events[1]");
  CHECK(field(with("events", json::array())) == "events");
  CHECK(field(with("filter", {{"all", {{{"path", "data"}, {"op", "eq"}, {"value", 1}}}}})) == "filter.all[0].path");
  CHECK(field(with("filter", {{"all", {{{"path", "/d"}, {"op", "like"}, {"value", 1}}}}})) == "filter.all[0].op");
  CHECK(field(with("mode", "prod")) == "mode");
  CHECK(field(with("retry", {{"strategy", "sometimes"}})) == "retry.strategy");
  CHECK(field(with("retry", {{"max_attempts", 0}})) == "retry.max_attempts");
  CHECK(field(with("auth", {{"type", "basic"}, {"username", "u"}})) == "auth.password");
  CHECK(field(with("headers", {{"X-A", 1}})) == "headers.X-A");
  CHECK(field(with("timeout_ms", 0)) == "timeout_ms");
  CHECK(field(with("ordering", "fifo")) == "ordering");
  CHECK(field(with("colour", "red")) == "colour");
  CHECK(field(with("secret", "nope")) == "secret");
}

TEST_CASE("endpoint JSON round trip and defaults") {
  json j = {{"id", "ep_1"},
            {"url", "https://x.test/h"},
            {"events", {"order_new", "job.*"}},
            {"filter", {{"all", {{{"path", "/data/status"}, {"op", "in"}, {"value", {"A"}}}}}}},
            {"headers", {{"X-Team", "ops"}}},
            {"auth", {{"type", "bearer"}, {"token", "tok"}}},
            {"retry", {{"strategy", "exponential"}, {"base_ms", 1000}, {"max_ms", 60000}, {"max_attempts", 5}}},
            {"secret", "whsec_abc"}};
  auto e = endpoint_from_json(j);
  REQUIRE(e);
  CHECK(e->mode == "live");
  CHECK(e->timeout_ms == 10000);
  auto back = endpoint_from_json(to_json(*e));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(*e));
  auto pub = to_json(*e, false);
  CHECK(pub["secret"] == "***");
  CHECK(pub["auth"]["token"] == "***");
  auto d = endpoint_from_json({{"id", "x"}, {"url", "http://h"}});
  REQUIRE(d);
  CHECK(d->retry.strategy == retry_strategy::default_schedule);
  CHECK(d->events.size() == 1);
  CHECK(hooklog::generate_secret().starts_with("whsec_"));
}

TEST_CASE("json path scan finds raw values without a DOM") {
  std::vector<std::string> tok;
  std::string_view raw;
  const std::string doc = R"( {"a": {"bx": 1, "list": [10, {"k": "v"}, [1,2]], "s": "x,}]\"y", "n": -1.5e3},
                              "data": {"status": "COMPLETED", "empty": {}}, "t": true, "a/b": null, "m~n": 7,
                              "e\"k": 1})";
  auto find = [&](const char* p) {
    REQUIRE(split_json_pointer(p, tok));
    return find_json_value(doc, tok, raw);
  };
  CHECK(find("/data/status") == path_lookup::found);
  CHECK(raw == "\"COMPLETED\"");
  CHECK(find("/a/list/1/k") == path_lookup::found);
  CHECK(raw == "\"v\"");
  CHECK(find("/a/list/2") == path_lookup::found);
  CHECK(raw == "[1,2]");
  CHECK(find("/a/list/3") == path_lookup::absent);
  CHECK(find("/a/list/01") == path_lookup::absent);
  CHECK(find("/a/n") == path_lookup::found);
  CHECK(raw == "-1.5e3");
  CHECK(find("/t") == path_lookup::found);
  CHECK(raw == "true");
  CHECK(find("/a~1b") == path_lookup::found);
  CHECK(raw == "null");
  CHECK(find("/m~0n") == path_lookup::found);
  CHECK(find("/data/empty/x") == path_lookup::absent);
  CHECK(find("/t/x") == path_lookup::absent);
  CHECK(find("/nope") == path_lookup::fallback);  // passes a key with an escape on the way
  CHECK(find("") == path_lookup::found);
  CHECK_FALSE(split_json_pointer("x", tok));
  CHECK_FALSE(split_json_pointer("/a~2", tok));
}

TEST_CASE("json path scan ends strings at the first quote after an even run of backslashes") {
  std::vector<std::string> tok;
  std::string_view raw;
  // Values ending in an escaped backslash, holding escaped quotes, and a truncated string.
  const std::string doc = R"({"a": "x\\", "b": "q\"\\\"}", "c": "\\\\\"", )"
                          R"("d": ["\"]", 5], "s": "OK"})";
  auto find = [&](const char* p, std::string_view d) {
    REQUIRE(split_json_pointer(p, tok));
    return find_json_value(d, tok, raw);
  };
  CHECK(find("/a", doc) == path_lookup::found);
  CHECK(raw == R"("x\\")");
  CHECK(find("/b", doc) == path_lookup::found);
  CHECK(raw == R"("q\"\\\"}")");
  CHECK(find("/c", doc) == path_lookup::found);
  CHECK(raw == R"("\\\\\"")");
  CHECK(find("/d/1", doc) == path_lookup::found);
  CHECK(raw == "5");
  CHECK(find("/s", doc) == path_lookup::found);
  CHECK(raw == "\"OK\"");
  CHECK(json::parse(doc)["b"] == "q\"\\\"}");
  CHECK(find("/z", R"({"a": "abc\)") == path_lookup::fallback);   // ends inside a string
  CHECK(find("/z", R"({"a": "abc\")") == path_lookup::fallback);  // the last quote is escaped
}

TEST_CASE("payload filters give the same answer on the raw body as on the DOM") {
  const std::vector<json> bodies = {
      json::parse(R"({"data":{"status":"COMPLETED","driver":"d1","amount":120},"tags":["a","b"]})"),
      json::parse(R"({"data":{"status":"PENDING","amount":"120"},"tags":[]})"),
      json::parse(R"({"data":{"status":{"code":"X"}},"a\"b":1})"),
      json::parse(R"({"data":null})"),
      json::parse(R"([1,2,3])"),
      json::parse(R"("text")")};
  const std::vector<json> filters = {
      {{"all", {{{"path", "/data/status"}, {"op", "eq"}, {"value", "COMPLETED"}}}}},
      {{"all", {{{"path", "/data/status"}, {"op", "neq"}, {"value", "COMPLETED"}}}}},
      {{"all", {{{"path", "/data/status"}, {"op", "in"}, {"value", {"PENDING", "COMPLETED"}}}}}},
      {{"all", {{{"path", "/data/status"}, {"op", "eq"}, {"value", {{"code", "X"}}}}}}},
      {{"all", {{{"path", "/data/driver"}, {"op", "exists"}}}}},
      {{"all", {{{"path", "/data/driver"}, {"op", "exists"}, {"value", false}}}}},
      {{"all", {{{"path", "/data/amount"}, {"op", "gt"}, {"value", 100}}}}},
      {{"all", {{{"path", "/data/amount"}, {"op", "lt"}, {"value", "2"}}}}},
      {{"any", {{{"path", "/tags/1"}, {"op", "eq"}, {"value", "b"}}, {{"path", "/1"}, {"op", "eq"}, {"value", 2}}}}},
      {{"all", {{{"path", "/a\"b"}, {"op", "exists"}}}}},
  };
  for (const auto& f : filters) {
    auto pf = payload_filter::parse(f);
    REQUIRE(pf);
    for (const auto& b : bodies) {
      INFO(f.dump() << " on " << b.dump());
      CHECK(pf->matches_body(b.dump()) == pf->matches(b));
      CHECK(pf->matches_body(b.dump(2)) == pf->matches(b));
    }
  }
}

TEST_CASE("payload filters on a plain string value agree with the DOM for every operator") {
  // A value that is a string of printable ASCII without escapes is compared as text (not built
  // as JSON); escaped, non-ASCII and non-string values take the parsed path. Both must answer as
  // matches(doc) does, whatever the condition's value type.
  const std::vector<json> values = {"COMPLETED", "COMPLETEDX", "", "B", "a b~!", "caf\u00e9",
                                    "tab\t", "q\"uote", 5, 5.0, "5", true, nullptr,
                                    json::array({"COMPLETED"}), json::object({{"s", "B"}})};
  const std::vector<json> conds = {
      {{"op", "eq"}, {"value", "COMPLETED"}}, {{"op", "eq"}, {"value", 5}},
      {{"op", "eq"}, {"value", ""}},           {{"op", "neq"}, {"value", "COMPLETED"}},
      {{"op", "neq"}, {"value", 5}},           {{"op", "in"}, {"value", {"B", 5, "COMPLETED"}}},
      {{"op", "in"}, {"value", {1, true}}},    {{"op", "gt"}, {"value", "B"}},
      {{"op", "lt"}, {"value", "B"}},          {{"op", "gt"}, {"value", 1}},
      {{"op", "lt"}, {"value", "COMPLETEDX"}}, {{"op", "exists"}},
      {{"op", "exists"}, {"value", false}}};
  for (const auto& c : conds) {
    json cond = c;
    cond["path"] = "/data/s";
    auto pf = payload_filter::parse({{"all", {cond}}});
    REQUIRE(pf);
    auto any = payload_filter::parse({{"any", {cond, {{"path", "/data/s"}, {"op", "eq"}, {"value", "B"}}}}});
    REQUIRE(any);
    for (const auto& v : values) {
      const json doc = {{"data", {{"n", 1}, {"s", v}}}};
      INFO(cond.dump() << " on " << doc.dump());
      CHECK(pf->matches_body(doc.dump()) == pf->matches(doc));
      CHECK(any->matches_body(doc.dump()) == any->matches(doc));
      CHECK(pf->matches_body(doc.dump(1)) == pf->matches(doc));
    }
  }
  // The text compared is the raw content: "COMPLETED" and an escaped spelling of it are equal.
  auto pf = payload_filter::parse(
      {{"all", {{{"path", "/s"}, {"op", "eq"}, {"value", "COMPLETED"}}}}});
  REQUIRE(pf);
  CHECK(pf->matches_body(R"({"s":"COMPLETED"})"));
  CHECK(pf->matches_body(R"({"s":"COMPLET\u0045D"})"));
  CHECK_FALSE(pf->matches_body(R"({"s":"COMPLETE"})"));
  CHECK_FALSE(pf->matches_body(R"({"s":"COMPLETED ","t":1})"));
}

TEST_CASE("a payload filter with an array index too large for size_t does not throw") {
  // Found by fuzz_filter: nlohmann's contains() throws out_of_range on such an index, which
  // escaped matches() into the projection runner.
  for (const char* path : {"/tags/99999999999999999999", "/tags/18446744073709551615"}) {
    INFO(path);
    auto pf = payload_filter::parse({{"all", {{{"path", path}, {"op", "exists"}, {"value", false}}}}});
    REQUIRE(pf);
    const auto doc = json::parse(R"({"tags":["a","b"]})");
    CHECK_NOTHROW(pf->matches(doc));
    CHECK(pf->matches(doc));
    // An escaped key makes the scan fall back to the DOM, which used to throw too.
    CHECK(pf->matches_body(R"({"t\u0061gs":1,"tags":["a","b"]})"));
    CHECK(pf->matches_body(doc.dump()));
  }
}

TEST_CASE("matcher memo: results follow endpoint changes between events of a memoised type") {
  matcher m;
  m.upsert(ep("exact", "t1", {"order_new"}));
  m.upsert(ep("filtered", "t1", {"*"}, {{"all", {{{"path", "/s"}, {"op", "eq"}, {"value", "ok"}}}}}));
  CHECK(match(m, "t1", "order_new", {{"s", "ok"}}) == V{"exact", "filtered"});
  CHECK(match(m, "t1", "order_new", {{"s", "no"}}) == V{"exact"});  // memo hit, filter per body
  m.upsert(ep("later", "t1", {"order_*"}));                          // added after the memo
  CHECK(match(m, "t1", "order_new") == V{"exact", "later"});
  m.upsert(ep("exact", "t1", {"folio_update"}));  // replaced: no longer matches the type
  CHECK(match(m, "t1", "order_new") == V{"later"});
  CHECK(match(m, "t1", "folio_update") == V{"exact"});
  json off = {{"id", "later"}, {"url", "https://x.test/later"}, {"events", {"order_*"}},
              {"tenant", "t1"}, {"disabled", true}};
  auto e = endpoint_from_json(off);
  REQUIRE(e);
  m.upsert(*e);  // disabled: removed
  CHECK(match(m, "t1", "order_new").empty());
  m.upsert(ep("other-tenant", "t2", {"order_new"}));  // another tenant's change
  CHECK(match(m, "t2", "order_new") == V{"other-tenant"});
  CHECK(match(m, "t1", "order_new").empty());
  m.remove("exact");
  CHECK(match(m, "t1", "folio_update").empty());
  m.clear();
  CHECK(match(m, "t2", "order_new").empty());
  // More types than the memo keeps: it starts over, results unchanged.
  m.upsert(ep("all", "t3", {"*"}));
  for (std::size_t i = 0; i < matcher::kMemoTypes + 10; ++i)
    CHECK(match(m, "t3", "type" + std::to_string(i)) == V{"all"});
}
