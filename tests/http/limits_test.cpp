// Bounds on what one tenant can send or keep, against the real `hooklog serve`: the nesting and
// size bound of every JSON request body (one parse for all routes), the nesting bound of filter
// values, the endpoint quotas and their flags, and a verify range that checks nothing.
#include <catch2/catch.hpp>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;

namespace {

std::string new_tenant_key(hooklog_server& s, const std::string& tenant) {
  auto r = s.post("/v1/keys", {{"tenant", tenant}});
  REQUIRE(r.status == 201);
  return r.json["key"];
}

// A JSON array nested `depth` levels: [[[...]]].
std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// An object nested `depth` levels: {"a":{"a":...1}} (6 bytes a level, as in the security report).
std::string nested_objects(std::size_t depth) {
  std::string s;
  s.reserve(depth * 6 + 1);
  for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += '1';
  s.append(depth, '}');
  return s;
}

// An endpoint body whose filter has one eq condition on /a with `value` (JSON text).
std::string with_filter_value(const std::string& value) {
  return R"({"url":"https://hooks.example.com/in","filter":{"all":[{"path":"/a","op":"eq","value":)" +
         value + "}]}}";
}

json endpoint(const std::string& url = "https://hooks.example.com/in") {
  return {{"url", url}};
}

}  // namespace

TEST_CASE(
    "limits: bodies nested 100000 deep are refused 400 too_deep on every route and the server "
    "keeps serving",
    "[limits]") {
  hooklog_server s({"--no-deliver"});
  const std::string key = new_tenant_key(s, "t1");
  auto c = s.post("/v1/endpoints", endpoint(), key);
  REQUIRE(c.status == 201);
  const std::string id = c.json["id"];
  const std::string deep = nested_objects(100'000);  // ~600 KB

  // The PATCH that crashed the server (SIGSEGV in merge_patch).
  auto p = s.call("PATCH", "/v1/endpoints/" + id, R"({"description":)" + deep + "}", key);
  CHECK(p.status == 400);
  CHECK(p.json["error"]["code"] == "too_deep");
  CHECK(p.json["error"]["message"] == "JSON nests deeper than 64 levels at line 1, column 331");
  CHECK(p.json["error"]["details"]["limit"] == 64);
  CHECK(p.json["error"]["details"]["line"] == 1);
  CHECK(p.json["error"]["details"]["column"] == 331);

  // A filter value as deep: refused before anything is parsed or stored.
  auto f = s.call("POST", "/v1/endpoints", with_filter_value(deep), key);
  CHECK(f.status == 400);
  CHECK(f.json["error"]["code"] == "too_deep");
  CHECK(f.json["error"]["details"]["limit"] == 64);

  // The other routes with a JSON body take the same bound.
  for (auto [method, target] :
       {std::pair{"POST", std::string("/v1/endpoints/") + id + "/rotate-secret"},
        std::pair{"POST", std::string("/v1/endpoints/") + id + "/disable"},
        std::pair{"POST", std::string("/v1/endpoints/") + id + "/enable"},
        std::pair{"DELETE", std::string("/v1/endpoints/") + id},
        std::pair{"POST", std::string("/v1/replays")}}) {
    auto r = s.call(method, target, R"({"reason":)" + deep + "}", key);
    INFO(method << " " << target << ": " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json["error"]["code"] == "too_deep");
  }
  auto k = s.call("POST", "/v1/keys", R"({"tenant":)" + deep + "}");
  CHECK(k.status == 400);
  CHECK(k.json["error"]["code"] == "too_deep");

  // Still alive, nothing changed.
  CHECK(s.get("/healthz", "").status == 200);
  auto g = s.get("/v1/endpoints/" + id, key);
  REQUIRE(g.status == 200);
  CHECK(g.json["description"] == "");
  CHECK(g.json["disabled"] == false);
  CHECK(s.list_all("/v1/endpoints", key).size() == 1);
}

TEST_CASE(
    "limits: filter values nest at most 32 levels and deeper is refused naming the field and the "
    "limit",
    "[limits]") {
  hooklog_server s({"--no-deliver"});
  const std::string key = new_tenant_key(s, "t1");

  auto ok = s.call("POST", "/v1/endpoints", with_filter_value(nested(32)), key);
  CHECK(ok.status == 201);

  auto r = s.call("POST", "/v1/endpoints", with_filter_value(nested(33)), key);
  CHECK(r.status == 422);
  CHECK(r.json["error"]["code"] == "invalid_endpoint");
  CHECK(r.json["error"]["details"]["field"] == "filter.all[0].value");
  CHECK(r.json["error"]["message"] ==
        "filter.all[0].value: nests deeper than 32 levels (the limit for filter values)");

  // 64 levels in the value make the body deeper than the body bound (64): refused before parsing.
  auto d = s.call("POST", "/v1/endpoints", with_filter_value(nested(64)), key);
  CHECK(d.status == 400);
  CHECK(d.json["error"]["code"] == "too_deep");
  CHECK(d.json["error"]["message"].get<std::string>().find("deeper than 64 levels") !=
        std::string::npos);

  // The same on PATCH.
  const std::string id = ok.json["id"];
  auto p =
      s.call("PATCH", "/v1/endpoints/" + id,
             R"({"filter":{"any":[{"path":"/a","op":"in","value":[)" + nested(33) + "]}]}}", key);
  CHECK(p.status == 422);
  CHECK(p.json["error"]["details"]["field"] == "filter.any[0].value");
  CHECK(s.list_all("/v1/endpoints", key).size() == 1);
}

TEST_CASE(
    "limits: request bodies parse as before (empty optional bodies and reasons) and errors say "
    "where",
    "[limits]") {
  hooklog_server s({"--no-deliver"});
  auto c = s.post("/v1/endpoints", endpoint());
  REQUIRE(c.status == 201);
  const std::string id = c.json["id"];
  CHECK(s.call("POST", "/v1/endpoints/" + id + "/rotate-secret").status == 200);
  auto d = s.call("POST", "/v1/endpoints/" + id + "/disable", R"({"reason":"maintenance"})");
  CHECK(d.status == 200);
  CHECK(d.json["disabled_reason"] == "maintenance");
  CHECK(s.call("POST", "/v1/endpoints/" + id + "/enable").status == 200);

  auto bad = s.call("PATCH", "/v1/endpoints/" + id, "{\"description\": tru}");
  CHECK(bad.status == 400);
  CHECK(bad.json["error"]["code"] == "bad_json");
  CHECK(bad.json["error"]["details"]["line"] == 1);
  CHECK(bad.json["error"]["message"].get<std::string>().starts_with(
      "invalid JSON at line 1, column "));
  auto arr = s.call("PATCH", "/v1/endpoints/" + id, "[]");
  CHECK(arr.status == 400);
  CHECK(arr.json["error"]["message"] == "the body must be a JSON object, got array");

  auto del = s.call("DELETE", "/v1/endpoints/" + id, R"({"reason":"gone"})");
  CHECK(del.status == 200);
  CHECK(del.json["deleted"] == true);
}

TEST_CASE("limits: verify refuses a range whose from is after its to (API 400 and CLI exit 2)",
          "[limits]") {
  hooklog_server s({"--no-deliver"});
  REQUIRE(s.call("POST", "/v1/sources/eudr/events", data_file("samples/eudr/dds.approved.json"))
              .status == 202);
  auto r = s.get("/v1/audit/verify?from=5&to=1");
  CHECK(r.status == 400);
  CHECK(r.json["error"]["code"] == "bad_parameter");
  CHECK(r.json["error"]["details"]["parameter"] == "from");
  CHECK(r.json["error"]["message"] ==
        "from (5) is greater than to (1): the range would check nothing");
  auto one = s.get("/v1/audit/verify?from=1&to=1");
  CHECK(one.status == 200);
  CHECK(one.json["checked"] == 1);
  CHECK(one.json["ok"] == true);

  s.kill_hard();
  auto bad = run_hooklog({"verify", "--data", s.data_dir(), "--from", "5", "--to", "1"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());  // nothing reported as OK
  auto good = run_hooklog({"verify", "--data", s.data_dir(), "--from", "1", "--to", "1"});
  CHECK(good.exit_code == 0);
  CHECK(good.out.starts_with("OK: 1 records verified (1..1)"));
}
