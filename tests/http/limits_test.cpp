// Bounds on what one tenant can send or keep, against the real `hooklog serve`: the nesting and
// size bound of every JSON request body (one parse for all routes), the nesting bound of filter
// values, the endpoint quotas and their flags, and a verify range that checks nothing.
#include <catch2/catch.hpp>

#include <atomic>
#include <string_view>
#include <thread>

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
    // DELETE takes at most 64 KiB (routes without content): 5,000 levels (~30 KB) reach the
    // depth check; the 600 KB body is refused 413 before it is read.
    const bool bodiless = std::string_view(method) == "DELETE";
    auto r = s.call(method, target, R"({"reason":)" + (bodiless ? nested_objects(5'000) : deep) + "}", key);
    INFO(method << " " << target << ": " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json["error"]["code"] == "too_deep");
    if (bodiless) {
      auto big = s.call(method, target, R"({"reason":)" + deep + "}", key);
      CHECK(big.status == 413);
      CHECK(big.json["error"]["details"]["limit"] == 65536);
    }
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
  CHECK(r.json["error"]["details"]["field"] == "/filter/all/0/value");
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
  CHECK(p.json["error"]["details"]["field"] == "/filter/any/0/value");
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

TEST_CASE("limits: endpoint quotas refuse with 422 quota_exceeded naming the field and the limit",
          "[limits]") {
  hooklog_server s({"--no-deliver", "--max-endpoints-per-tenant", "2", "--max-filter-bytes", "120",
                    "--max-filter-conditions", "2", "--max-headers", "2",
                    "--max-header-value-bytes", "16", "--max-description-bytes", "10"});
  const std::string a = new_tenant_key(s, "ta");
  const std::string b = new_tenant_key(s, "tb");
  auto refused = [](const api_reply& r, const std::string& field, std::size_t limit,
                    const std::string& message) {
    INFO(r.body);
    CHECK(r.status == 422);
    CHECK(r.json["error"]["code"] == "quota_exceeded");
    CHECK(r.json["error"]["details"]["field"] == field);
    CHECK(r.json["error"]["details"]["limit"] == limit);
    CHECK(r.json["error"]["message"] == message);
  };
  json e = endpoint();

  e["description"] = "12345678901";
  refused(s.post("/v1/endpoints", e, a), "/description", 10,
          "description: has 11 bytes, more than the limit of 10 bytes");
  e["description"] = "1234567890";

  e["headers"] = {{"X-A", "1"}, {"X-B", "2"}, {"X-C", "3"}};
  refused(s.post("/v1/endpoints", e, a), "/headers", 2,
          "headers: has 3 entries, more than the limit of 2 entries");
  e["headers"] = {{"X-A", "12345678901234567"}};
  refused(s.post("/v1/endpoints", e, a), "/headers/X-A", 16,
          "headers.X-A: has 17 bytes, more than the limit of 16 bytes");
  // A header name with a '.' is one token of the pointer, as the control-character check says.
  e["headers"] = {{"X.Trace", "12345678901234567"}};
  refused(s.post("/v1/endpoints", e, a), "/headers/X.Trace", 16,
          "headers.X.Trace: has 17 bytes, more than the limit of 16 bytes");
  e["headers"] = {{"X-A", "1234567890123456"}, {"X-B", "2"}};

  json cond = {{"path", "/a"}, {"op", "eq"}, {"value", 1}};
  e["filter"] = {{"all", {cond, cond}}, {"any", {cond}}};
  refused(s.post("/v1/endpoints", e, a), "/filter", 2,
          "filter: has 3 conditions, more than the limit of 2 conditions");
  e["filter"] = {{"all", {{{"path", "/a"}, {"op", "eq"}, {"value", std::string(100, 'x')}}}}};
  const std::size_t filter_bytes = e["filter"].dump().size();
  refused(
      s.post("/v1/endpoints", e, a), "/filter", 120,
      "filter: has " + std::to_string(filter_bytes) + " bytes, more than the limit of 120 bytes");
  e["filter"] = {{"all", {cond, cond}}};

  // At every limit exactly: accepted.
  auto first = s.post("/v1/endpoints", e, a);
  REQUIRE(first.status == 201);
  {
    auto second = s.post("/v1/endpoints", endpoint(), a);
    INFO(second.body);
    CHECK(second.status == 201);
  }

  // The tenant's third endpoint: refused; another tenant is not affected; a delete frees a place.
  auto third = s.post("/v1/endpoints", endpoint(), a);
  CHECK(third.status == 422);
  CHECK(third.json["error"]["code"] == "quota_exceeded");
  CHECK(third.json["error"]["details"]["limit"] == 2);
  CHECK(third.json["error"]["message"] ==
        "tenant ta has 2 endpoints, the limit (--max-endpoints-per-tenant): delete one to create "
        "another");
  CHECK(s.post("/v1/endpoints", endpoint(), b).status == 201);
  const std::string id = first.json["id"];
  CHECK(s.call("DELETE", "/v1/endpoints/" + id, "", a).status == 200);
  CHECK(s.post("/v1/endpoints", endpoint(), a).status == 201);
  CHECK(s.list_all("/v1/endpoints", a).size() == 2);

  // PATCH takes the per-endpoint quotas.
  const std::string other = s.list_all("/v1/endpoints", a)[0]["id"];
  refused(s.call("PATCH", "/v1/endpoints/" + other, R"({"description":"12345678901"})", a),
          "/description", 10, "description: has 11 bytes, more than the limit of 10 bytes");
}

TEST_CASE("limits: concurrent creates of one tenant never pass the endpoint quota", "[limits]") {
  hooklog_server s({"--no-deliver", "--max-endpoints-per-tenant", "5"});
  const std::string key = new_tenant_key(s, "t1");
  std::atomic<int> created{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      hooklog::http::http_client client("127.0.0.1", s.port());
      for (int i = 0; i < 4; ++i) {
        auto r =
            client.post("/v1/endpoints", endpoint().dump(),
                        {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
        if (r && r->status == 201)
          ++created;
        else if (r && r->status == 422 && r->body.find("quota_exceeded") != std::string::npos)
          ++refused;
        else
          ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(created == 5);
  CHECK(refused == 11);
  CHECK(other == 0);
  CHECK(s.list_all("/v1/endpoints", key).size() == 5);
}

TEST_CASE(
    "limits: a lowered quota keeps existing endpoints and PATCH checks only the fields it sets",
    "[limits]") {
  temp_dir dir;
  std::string id;
  {
    hooklog_server s({"--no-deliver"}, dir.path());
    auto c = s.post("/v1/endpoints",
                    {{"url", "https://hooks.example.com/in"}, {"description", "0123456789"}});
    REQUIRE(c.status == 201);
    id = c.json["id"];
  }
  hooklog_server s(
      {"--no-deliver", "--max-description-bytes", "5", "--max-endpoints-per-tenant", "1"},
      dir.path());
  auto g = s.get("/v1/endpoints/" + id);
  REQUIRE(g.status == 200);
  CHECK(g.json["description"] == "0123456789");
  auto p = s.call("PATCH", "/v1/endpoints/" + id, R"({"url":"https://hooks.example.com/other"})");
  CHECK(p.status == 200);
  CHECK(p.json["url"] == "https://hooks.example.com/other");
  auto d = s.call("PATCH", "/v1/endpoints/" + id, R"({"description":"012345"})");
  CHECK(d.status == 422);
  CHECK(d.json["error"]["details"]["field"] == "/description");
  CHECK(s.post("/v1/endpoints", endpoint()).status == 422);  // tenant "default" is at 1
}

TEST_CASE("limits: quota flags out of range stop hooklog serve with exit 2", "[limits]") {
  for (auto [flag, value] :
       {std::pair{"--max-headers", "65"}, std::pair{"--max-endpoints-per-tenant", "0"},
        std::pair{"--max-filter-bytes", "lots"}, std::pair{"--max-description-bytes", "4097"}}) {
    temp_dir dir;
    auto r = run_hooklog({"serve", "--data", dir.path(), "--listen", "127.0.0.1:0", flag, value},
                         std::chrono::seconds(30));
    INFO(flag << " " << value);
    CHECK(r.exit_code == 2);
  }
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
  // A from past the log's last record, or 0, would check nothing too (before: 200, ok, 0 checked).
  auto past = s.get("/v1/audit/verify?from=99999999999");
  CHECK(past.status == 400);
  CHECK(past.json["error"]["message"] ==
        "from (99999999999) is past the log's last record (1): the range would check nothing");
  CHECK(past.json["error"]["details"] == nlohmann::json{{"parameter", "from"}, {"head", 1}});
  auto zero = s.get("/v1/audit/verify?from=0");
  CHECK(zero.status == 400);
  CHECK(zero.json["error"]["message"] == "from must be a sequence number of 1 or more");
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
