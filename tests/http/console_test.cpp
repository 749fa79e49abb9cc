// The audit console's files at /console/ (issue 16): served from memory with a strict
// Content-Security-Policy, ETag revalidation, no way out of the loaded set (.., encoded .., NUL,
// encoded /), --no-console and --console-dir; and what the console shows that the API had not
// answered before: GET /v1/whoami, and each attempt's response headers.
#include <catch2/catch.hpp>

#include <fstream>

#include "hooklog_build_paths.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using hooklog::http::find_header;
using nlohmann::json;

namespace {

std::string header_of(const api_reply& r, const char* name) {
  return std::string(find_header(r.headers, name).value_or("<absent>"));
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

void check_security_headers(const api_reply& r) {
  CHECK(header_of(r, "Content-Security-Policy") == kCsp);
  CHECK(header_of(r, "X-Content-Type-Options") == "nosniff");
  CHECK(header_of(r, "Referrer-Policy") == "no-referrer");
  CHECK(header_of(r, "X-Frame-Options") == "DENY");
}

}  // namespace

TEST_CASE("The console is served at /console/ without a key, with a strict CSP and an ETag",
          "[console]") {
  hooklog_server s;
  auto index = s.get("/console/", "");
  INFO(index.body);
  REQUIRE(index.status == 200);
  CHECK(header_of(index, "Content-Type") == "text/html; charset=utf-8");
  CHECK(index.body == file_text(std::string(HOOKLOG_CONSOLE_DIR) + "/index.html"));
  CHECK(index.body.find("<script type=\"module\" src=\"app.js\"></script>") != std::string::npos);
  check_security_headers(index);
  CHECK(header_of(index, "Cache-Control") == "no-cache");
  const std::string etag = header_of(index, "ETag");
  CHECK(etag.size() == 18);
  CHECK(etag.front() == '"');

  auto js = s.get("/console/app.js", "");
  CHECK(js.status == 200);
  CHECK(header_of(js, "Content-Type") == "text/javascript; charset=utf-8");
  CHECK(js.body == file_text(std::string(HOOKLOG_CONSOLE_DIR) + "/app.js"));
  check_security_headers(js);
  CHECK(header_of(s.get("/console/console.css", ""), "Content-Type") == "text/css; charset=utf-8");
  CHECK(header_of(s.get("/console/index.html", ""), "ETag") == etag);

  // Revalidation: the same ETag answers 304 without a body; another one the file.
  auto same = s.call("GET", "/console/", "", "", {{"If-None-Match", "\"x\", " + etag}});
  CHECK(same.status == 304);
  CHECK(same.body.empty());
  CHECK(header_of(same, "ETag") == etag);
  check_security_headers(same);
  CHECK(s.call("GET", "/console/", "", "", {{"If-None-Match", "\"0000000000000000\""}}).status ==
        200);

  auto head = s.call("HEAD", "/console/app.js", "", "");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(header_of(head, "Content-Length") == std::to_string(js.body.size()));

  // Without the slash the page's relative module URLs would point at /: a redirect.
  auto bare = s.get("/console", "");
  CHECK(bare.status == 308);
  CHECK(header_of(bare, "Location") == "/console/");
  check_security_headers(bare);

  auto post = s.call("POST", "/console/app.js", "{}", "");
  CHECK(post.status == 405);
  CHECK(header_of(post, "Allow") == "GET, HEAD");
  // A query is ignored: a shared link that picked up tracking parameters answered a JSON 400.
  for (const char* target : {"/console/?utm_source=mail", "/console/app.js?v=2"}) {
    auto query = s.get(target, "");
    INFO(target);
    CHECK(query.status == 200);
    check_security_headers(query);
  }
  CHECK(s.get("/console/?utm_source=mail", "").body == s.get("/console/", "").body);
}

TEST_CASE("No console path reaches a file outside the loaded set", "[console]") {
  hooklog_server s;
  for (const char* path :
       {"/console/..", "/console/%2e%2e", "/console/%2E%2E", "/console/..%2fREADME.md",
        "/console/%2e%2e%2f%2e%2e%2fREADME.md", "/console/index.html%00.js", "/console/%00",
        "/console/app.js%00", "/console/.%2findex.html", "/console/nope.js",
        "/console/CMakeLists.txt", "/console/%2fetc%2fpasswd"}) {
    INFO(path);
    auto r = s.get(path, "");
    CHECK(r.status == 404);
    CHECK(r.json["error"]["code"] == "not_found");
    CHECK(r.json["error"]["message"].get<std::string>().rfind("the console has no file ", 0) == 0);
    check_security_headers(r);
  }
  // More segments match no route: the router's own 404, nothing read.
  for (const char* path : {"/console/../README.md", "/console/x/../../README.md",
                           "/console/%2e%2e/%2e%2e/README.md"}) {
    INFO(path);
    auto r = s.get(path, "");
    CHECK(r.status == 404);
    CHECK(r.json["error"]["message"] == std::string("no route for ") + path);
  }
}

TEST_CASE("console: --no-console answers 404 at /console/ and --console-dir serves another folder",
          "[console]") {
  {
    hooklog_server off({"--no-console"});
    auto r = off.get("/console/", "");
    CHECK(r.status == 404);
    CHECK(r.json["error"]["message"] ==
          "the console is not served here (hooklog serve --no-console, or its files were not "
          "found at start)");
    CHECK(off.get("/v1/whoami").status == 200);
  }
  temp_dir dir;
  std::ofstream(dir.path().string() + "/index.html") << "<!doctype html><title>mine</title>";
  std::ofstream(dir.path().string() + "/notes.txt") << "hello";
  std::ofstream(dir.path().string() + "/.hidden.js") << "secret";
  std::ofstream(dir.path().string() + "/run.sh") << "echo";
  hooklog_server mine({"--console-dir", dir.path().string()});
  CHECK(mine.get("/console/", "").body == "<!doctype html><title>mine</title>");
  auto txt = mine.get("/console/notes.txt", "");
  CHECK(txt.body == "hello");
  CHECK(header_of(txt, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(mine.get("/console/.hidden.js", "").status == 404);  // dot files are not loaded
  CHECK(mine.get("/console/run.sh", "").status == 404);      // nor unknown extensions
  CHECK(mine.get("/console/app.js", "").status == 404);
}

TEST_CASE("A --console-dir that cannot be loaded stops the start", "[console]") {
  temp_dir dir;
  auto missing =
      run_hooklog({"serve", "--listen", "127.0.0.1:0", "--data", dir.path().string() + "/d",
                   "--admin-key", kAdminKey, "--console-dir", dir.path().string() + "/nope"},
                  std::chrono::seconds(30));
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.find("listening on") == std::string::npos);
  std::ofstream(dir.path().string() + "/x.js") << "1";  // no index.html
  auto no_index =
      run_hooklog({"serve", "--listen", "127.0.0.1:0", "--data", dir.path().string() + "/d",
                   "--admin-key", kAdminKey, "--console-dir", dir.path().string()},
                  std::chrono::seconds(30));
  CHECK(no_index.exit_code == 1);
}

TEST_CASE("GET /v1/whoami names the caller's key: admin or its tenant", "[console][api]") {
  hooklog_server s;
  auto admin = s.get("/v1/whoami");
  CHECK(admin.status == 200);
  CHECK(admin.json == json({{"key_id", "config"}, {"admin", true}, {"tenant", nullptr}}));
  auto issued = s.post("/v1/keys", {{"tenant", "t1"}});
  REQUIRE(issued.status == 201);
  auto tenant = s.get("/v1/whoami", issued.json["key"]);
  CHECK(tenant.json == json({{"key_id", issued.json["id"]}, {"admin", false}, {"tenant", "t1"}}));
  auto ingest = s.post("/v1/keys", {{"tenant", "t1"}, {"ingest_source", "eudr"}});
  REQUIRE(ingest.status == 201);
  auto refused = s.get("/v1/whoami", ingest.json["key"]);
  CHECK(refused.status == 403);
  CHECK(refused.json["error"]["message"] == "this key may only ingest events of source eudr");
  CHECK(s.get("/v1/whoami", "hk_wrong").status == 401);
}

TEST_CASE("Attempts answer the receiver's response headers, as [name, value] pairs",
          "[console][api]") {
  temp_dir d;
  receiver_proc rx(d, "rx", {});
  hooklog_server s({"--allow-private-targets"});
  auto ep = s.post("/v1/endpoints", {{"url", rx.url("/in")}, {"tenant", "acme"}});
  REQUIRE(ep.status == 201);
  auto ev = s.post("/v1/sources/standard/events",
                   {{"id", "h-1"}, {"type", "invoice.paid"}, {"tenant", "acme"}});
  REQUIRE(ev.status == 202);
  const std::string event = "/v1/events/" + ev.json["id"].get<std::string>();
  REQUIRE(eventually([&] { return s.get(event).json["attempts"].size() == 1; }));
  const json a = s.get(event).json["attempts"][0];
  INFO(a.dump());
  CHECK(a["status"] == 200);
  CHECK(a["response_excerpt"] == "{\"ok\":true}");
  CHECK(a.contains("response_truncated") == false);
  REQUIRE(a["response_headers"].is_array());
  json content_type;
  for (const auto& h : a["response_headers"]) {
    REQUIRE(h.size() == 2);
    if (hooklog::http::iequals(h[0].get<std::string>(), "content-type")) content_type = h[1];
  }
  CHECK(content_type == "application/json");
  // The listing answers the same attempt the same way.
  auto listed = s.get("/v1/attempts?endpoint_id=" + ep.json["id"].get<std::string>());
  REQUIRE(listed.json["items"].size() == 1);
  CHECK(listed.json["items"][0]["response_headers"] == a["response_headers"]);
}
