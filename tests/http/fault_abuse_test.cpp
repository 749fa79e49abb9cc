// Client abuse against the real `hooklog serve`: slow headers and bodies, idle connection floods,
// pipelined garbage, huge headers, deep JSON, invalid UTF-8, wrong content types, path traversal,
// another tenant's key. Each gets its answer and the server keeps serving everyone else.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>

#include "support/eventually.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog::test;
using nlohmann::json;
using std::chrono::milliseconds;
using clk = std::chrono::steady_clock;

namespace {

long ms_since(clk::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(clk::now() - t0).count());
}

// Sends `head` then `drip` one byte every 200 ms; returns how long until the server closed.
long drip_until_closed(unsigned short port, const std::string& head, const std::string& drip) {
  raw_connection c("127.0.0.1", port);
  const auto t0 = clk::now();
  c.send(head);
  for (std::size_t i = 0; i < drip.size() && ms_since(t0) < 10000; ++i) {
    if (!c.send(drip.substr(i, 1))) break;
    if (c.closed_within(milliseconds(200))) return ms_since(t0);
  }
  c.closed_within(milliseconds(5000));
  return ms_since(t0);
}

std::string status_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

// Raises this process's soft limit on open files towards `want` (children inherit it) and
// returns how many connections the test can hold, leaving room for everything else.
int idle_connection_budget(int want) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 500;
  const rlim_t need = static_cast<rlim_t>(want) + 256;
  if (rl.rlim_cur < need) {
    rl.rlim_cur = std::min(need, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<int>(std::min<rlim_t>(want, rl.rlim_cur > 256 ? rl.rlim_cur - 256 : 0));
}

}  // namespace

TEST_CASE("fault: slow clients are timed out by --read-timeout, others are served meanwhile", "[fault][abuse]") {
  hooklog_server s({"--read-timeout", "1", "--no-deliver"});
  const long headers_ms = drip_until_closed(s.port(), "GET /healthz HTTP/1.1\r\n", std::string(200, 'X'));
  CHECK(headers_ms < 3000);
  CHECK(s.get("/healthz", "").status == 200);
  const long body_ms = drip_until_closed(
      s.port(),
      "POST /v1/sources/standard/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-key\r\n"
      "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{",
      std::string(499, ' '));
  CHECK(body_ms < 3000);
  CHECK(s.get("/healthz", "").status == 200);
  CHECK(s.get("/v1/audit/head").json["seq"] == 0);  // the slow body stored nothing
  WARN("slow clients: slow headers closed after " << headers_ms << " ms, slow body after " << body_ms
                                                  << " ms (--read-timeout 1)");
}

TEST_CASE("fault: thousands of idle connections are bounded by --max-connections, existing clients keep being served",
          "[fault][abuse]") {
  const int n = idle_connection_budget(3000);
  REQUIRE(n >= 500);
  // The read timeout is long against the time the server takes to accept the flood (1.2 s for
  // 3,000 under ASan on a loaded 2-core machine): no admitted connection times out, and so no
  // slot is freed for one still waiting in the listen backlog, before every connection has been
  // accepted or refused. With a 2 s timeout a slow accept loop let later connections in through
  // freed slots, and the test could not tell them from connections held beyond the limit.
  constexpr int kReadTimeoutS = 8;
  hooklog_server s({"--read-timeout", std::to_string(kReadTimeoutS), "--max-connections", "100", "--no-deliver"});
  REQUIRE(s.get("/healthz", "").status == 200);  // this client's keep-alive connection is open first
  std::vector<std::unique_ptr<raw_connection>> idle;
  const auto t0 = clk::now();
  for (int i = 0; i < n; ++i) idle.push_back(std::make_unique<raw_connection>("127.0.0.1", s.port()));
  const long open_ms = ms_since(t0);
  // While they are held, the existing client is served.
  for (int i = 0; i < 5; ++i) CHECK(s.get("/healthz", "").status == 200);
  CHECK(s.get("/v1/audit/head").status == 200);
  // Sweeps the connections not yet seen closed, 1 ms each; returns how many are still open.
  std::vector<char> closed(idle.size(), 0);
  auto sweep = [&] {
    int open = 0;
    for (std::size_t i = 0; i < idle.size(); ++i) {
      if (closed[i]) continue;
      if (idle[i]->closed_within(milliseconds(1)))
        closed[i] = 1;
      else
        ++open;
    }
    return open;
  };
  // Those beyond the limit are closed at accept: the open ones fall to the 99 admitted beside
  // the keep-alive client (100 allows for that client's connection having been let go), well
  // before the first admitted one reaches its read timeout.
  const auto refusal_deadline = t0 + std::chrono::seconds(kReadTimeoutS - 1);
  int open = sweep();
  while (open > 100 && clk::now() < refusal_deadline) open = sweep();
  const long refused_ms = ms_since(t0);
  INFO("still open " << refused_ms << " ms after the flood began: " << open);
  CHECK(open <= 100);
  CHECK(open >= 90);  // the admitted ones are held until their read timeout
  // The rest are closed by the read timeout; then new clients are accepted again.
  const auto timeout_deadline = t0 + std::chrono::seconds(2 * kReadTimeoutS + 4);
  while (open > 0 && clk::now() < timeout_deadline) open = sweep();
  const long all_closed_ms = ms_since(t0);
  CHECK(open == 0);
  CHECK(all_closed_ms >= (kReadTimeoutS - 1) * 1000L);  // by the read timeout, not before
  idle.clear();
  // A new client is served once the server has let go of the timed-out sessions.
  std::string reply;
  CHECK(eventually(
      [&] {
        raw_connection fresh("127.0.0.1", s.port());
        fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        reply = status_line(fresh.read_until("\r\n\r\n", milliseconds(3000)));
        return reply == "HTTP/1.1 200 OK";
      },
      std::chrono::seconds(5)));
  INFO(reply);
  WARN("idle flood: " << n << " connections opened in " << open_ms << " ms, down to the admitted ones "
                      << refused_ms << " ms after the flood began (--max-connections 100), all closed "
                      << all_closed_ms << " ms after it (--read-timeout " << kReadTimeoutS
                      << "); the keep-alive client was served throughout");
}

TEST_CASE("fault: malformed traffic gets its status and the server keeps serving", "[fault][abuse]") {
  hooklog_server s({"--no-deliver"});
  auto healthy = [&] { return s.get("/healthz", "").status == 200; };
  {  // Pipelined: a good request, then garbage: the first is answered, the garbage gets 400 and a close.
    raw_connection c("127.0.0.1", s.port());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE \x01\x02 NOT HTTP\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
    bool closed = false;
    const std::string reply = c.read_until_close(milliseconds(3000), &closed);
    CHECK(reply.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(reply.find("HTTP/1.1 400") != std::string::npos);
    CHECK(closed);
  }
  CHECK(healthy());
  {  // Huge headers: 431.
    raw_connection c("127.0.0.1", s.port());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(status_line(c.read_until_close(milliseconds(3000))).find("431") != std::string::npos);
  }
  CHECK(healthy());
  {  // Deep JSON: 400 too_deep with where.
    auto r = s.call("POST", "/v1/sources/standard/events", std::string(10000, '[') + std::string(10000, ']'));
    CHECK(r.status == 400);
    CHECK(r.json["error"]["code"] == "too_deep");
    CHECK(r.json["error"]["message"].get<std::string>().find("line 1, column") != std::string::npos);
  }
  CHECK(healthy());
  {  // Invalid UTF-8 (a lone 0xC3, an overlong '/', a surrogate): refused, nothing stored. JSON is
     // UTF-8 (RFC 8259) and the audit API returns bodies inside JSON: a body that cannot be
     // returned faithfully is refused at the door rather than stored.
    for (const std::string& bad : {std::string("\xC3"), std::string("\xC0\xAF"), std::string("\xED\xA0\x80")}) {
      auto r = s.call("POST", "/v1/sources/standard/events",
                      R"({"id":"u1","type":"order.updated","tenant":"t1","data":{"name":")" + bad + R"("}})");
      INFO(r.body);
      CHECK(r.status == 400);
      CHECK(r.json["error"]["code"] == "bad_json");
    }
    // Valid UTF-8 beyond ASCII is stored and returned byte for byte.
    const std::string good = R"({"id":"u2","type":"order.updated","tenant":"t1","data":{"name":"Zoë 東京 🚚"}})";
    auto r = s.call("POST", "/v1/sources/standard/events", good);
    REQUIRE(r.status == 202);
    CHECK(s.get("/v1/events/" + r.json["id"].get<std::string>()).json["body"] == good);
    CHECK(s.get("/v1/audit/head").json["seq"] == 1);
  }
  CHECK(healthy());
  {  // Wrong content types: 415.
    for (const char* ct : {"text/plain", "application/xml", "multipart/form-data; boundary=x"}) {
      auto r = s.call("POST", "/v1/sources/standard/events", R"({"id":"x"})", kAdminKey, {{"Content-Type", ct}});
      INFO(ct);
      CHECK(r.status == 415);
    }
    CHECK(s.call("POST", "/v1/endpoints", "{}", kAdminKey, {{"Content-Type", "text/plain"}}).status == 415);
  }
  CHECK(healthy());
  {  // Path traversal in ids: never leaves its route.
    for (const char* t : {"/v1/events/..%2F..%2Fetc", "/v1/events/..%2Fkeys", "/v1/endpoints/../keys",
                          "/v1/endpoints/..%2Fkeys", "/v1/events/../../etc/passwd", "/v1/entities/order/..%2F..%2Fkeys/timeline"}) {
      auto r = s.get(t);
      INFO(t << " -> " << r.status << " " << r.body);
      CHECK((r.status == 404 || r.status == 400));
      CHECK(r.body.find("\"items\"") == std::string::npos);  // never a listing of another route
    }
  }
  CHECK(healthy());
  {  // Another tenant's key: 404 for the other tenant's things.
    auto ka = s.post("/v1/keys", {{"tenant", "tenant-a"}});
    auto kb = s.post("/v1/keys", {{"tenant", "tenant-b"}});
    REQUIRE(ka.status == 201);
    REQUIRE(kb.status == 201);
    auto ev = s.call("POST", "/v1/sources/standard/events",
                     R"({"id":"ta","type":"order.updated","data":{}})", ka.json["key"]);
    REQUIRE(ev.status == 202);
    CHECK(s.get("/v1/events/" + ev.json["id"].get<std::string>(), kb.json["key"]).status == 404);
    CHECK(s.get("/v1/events/" + ev.json["id"].get<std::string>(), ka.json["key"]).status == 200);
  }
  CHECK(healthy());
}

namespace {

// `lines` NDJSON events of source "standard", each padded to about `pad` bytes.
std::string padded_batch(int lines, std::size_t pad) {
  std::string out;
  for (int i = 0; i < lines; ++i)
    out += R"({"id":"big-)" + std::to_string(i) +
           R"(","type":"order.updated","tenant":"t1","data":{"pad":")" + std::string(pad, 'p') +
           "\"}}\n";
  return out;
}

json error_of(const std::string& reply) {
  const auto pos = reply.find("\r\n\r\n");
  if (pos == std::string::npos) return nullptr;
  return json::parse(reply.substr(pos + 4), nullptr, false)["error"];
}

const std::string kBatchHead =
    "POST /v1/sources/standard/events:batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    "test-admin-key\r\n"
    "Content-Type: application/x-ndjson\r\n";

}  // namespace

TEST_CASE(
    "fault: a 30 MB batch written before reading gets a complete 413 naming the limit, not a reset",
    "[fault][abuse][limits]") {
  hooklog_server s({"--no-deliver"});
  const std::size_t size = 30 * 1000 * 1000;
  {  // The whole body is written before anything is read: the server answers after the head and
     // keeps reading and discarding (lingering close), so the write completes and the answer is
     // read.
    raw_connection c("127.0.0.1", s.port());
    const std::string body = padded_batch(1, size - 80);
    CHECK(
        c.send(kBatchHead + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
    bool closed = false;
    const std::string reply = c.read_until_close(milliseconds(10000), &closed);
    INFO(reply.substr(0, 400));
    CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
    const json e = error_of(reply);
    CHECK(e["code"] == "payload_too_large");
    CHECK(e["message"] == "request body of " + std::to_string(body.size()) +
                              " bytes is over the limit of 16777216 bytes (16 MiB) for POST "
                              "/v1/sources/standard/events:batch");
    CHECK(e["details"]["limit"] == 16777216);
    CHECK(e["details"]["size"] == body.size());
    CHECK(closed);
  }
  {  // curl's way: Expect: 100-continue, and the 413 comes before any body is sent.
    raw_connection c("127.0.0.1", s.port());
    c.send(kBatchHead + "Expect: 100-continue\r\nContent-Length: " + std::to_string(size) +
           "\r\n\r\n");
    const std::string reply = c.read_until_close(milliseconds(3000));
    CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
    CHECK(reply.find("100 Continue") == std::string::npos);
    CHECK(error_of(reply)["details"]["limit"] == 16777216);
  }
  {  // A single-event route keeps 1 MiB.
    raw_connection c("127.0.0.1", s.port());
    c.send(
        "POST /v1/sources/standard/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        "test-admin-key\r\n"
        "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: "
        "2097152\r\n\r\n");
    const std::string reply = c.read_until_close(milliseconds(3000));
    CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
    CHECK(error_of(reply)["message"] ==
          "request body of 2097152 bytes is over the limit of 1048576 bytes (1 MiB) for POST "
          "/v1/sources/standard/events");
  }
  {  // A 2 MiB batch (32 events of 64 KiB) is bulk work within the batch limit: 100 Continue,
     // stored.
    const std::string body = padded_batch(32, 64 * 1024);
    raw_connection c("127.0.0.1", s.port());
    c.send(kBatchHead + "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n");
    CHECK(c.read_until("\r\n\r\n", milliseconds(3000)) == "HTTP/1.1 100 Continue\r\n\r\n");
    REQUIRE(c.send(body));
    const std::string reply = c.read_until_close(milliseconds(10000));
    CHECK(status_line(reply) == "HTTP/1.1 200 OK");
    CHECK(json::parse(reply.substr(reply.find("\r\n\r\n") + 4))["stored"] == 32);
  }
  CHECK(s.get("/v1/audit/head").json["seq"] == 32);
  // --batch-body-limit sets it.
  hooklog_server small({"--no-deliver", "--batch-body-limit", "100000"});
  raw_connection c("127.0.0.1", small.port());
  c.send(kBatchHead + "Content-Length: 200000\r\n\r\n");
  CHECK(error_of(c.read_until_close(milliseconds(3000)))["message"] ==
        "request body of 200000 bytes is over the limit of 100000 bytes for POST "
        "/v1/sources/standard/events:batch");
}

TEST_CASE("fault: routes that take no content hold a body to 64 KiB, before reading it",
          "[fault][abuse][limits]") {
  hooklog_server s({"--no-deliver"});
  {  // GET /healthz needs no key: 100 kB announced is refused from the head.
    raw_connection c("127.0.0.1", s.port());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    bool closed = false;
    const std::string reply = c.read_until_close(milliseconds(3000), &closed);
    CHECK(status_line(reply) == "HTTP/1.1 413 Payload Too Large");
    CHECK(error_of(reply)["message"] ==
          "request body of 100000 bytes is over the limit of 65536 bytes (64 KiB) for GET /healthz");
    CHECK(error_of(reply)["details"]["limit"] == 65536);
    CHECK(closed);
  }
  {  // Within it, the body is read and ignored; the connection is kept.
    raw_connection c("127.0.0.1", s.port());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x') +
           "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string reply = c.read_until_close(milliseconds(3000));
    CHECK(status_line(reply) == "HTTP/1.1 200 OK");
    CHECK(reply.find("HTTP/1.1 200 OK", 10) != std::string::npos);
  }
  {  // DELETE with a keyed reason: the same 64 KiB (a replay's cancel reason is a line of text).
    raw_connection c("127.0.0.1", s.port());
    c.send("DELETE /v1/replays/rpl_x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-key\r\n"
           "Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n");
    CHECK(status_line(c.read_until_close(milliseconds(3000))) == "HTTP/1.1 413 Payload Too Large");
  }
  // PATCH keeps --body-limit (1 MiB): 70 kB reach the handler (which refuses the unknown endpoint).
  auto r = s.call("PATCH", "/v1/endpoints/ep_none", "{\"description\":\"" + std::string(70000, 'd') + "\"}");
  CHECK(r.status != 413);
}

namespace {

// A line of /proc/PID/status ("VmRSS", "VmHWM") in KiB.
long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

const std::string kKeylessBatchHead =
    "POST /v1/sources/standard/events:batch HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/x-ndjson\r\n";

}  // namespace

TEST_CASE("fault: a request without a valid key (or route) is refused from its head, before its "
          "body is read",
          "[fault][abuse][limits]") {
  hooklog_server s({"--no-deliver"});
  {  // Expect: 100-continue: the 401 instead of the 100 Continue, nothing of the body sent.
    raw_connection c("127.0.0.1", s.port());
    c.send(kKeylessBatchHead + "Expect: 100-continue\r\nContent-Length: 16000000\r\n\r\n");
    const std::string reply = c.read_until_close(milliseconds(3000));
    INFO(reply.substr(0, 400));
    CHECK(status_line(reply) == "HTTP/1.1 401 Unauthorized");
    CHECK(reply.find("100 Continue") == std::string::npos);
    CHECK(reply.find("WWW-Authenticate: Bearer realm=\"hooklog\"\r\n") != std::string::npos);
    CHECK(error_of(reply)["message"] == "an API key is required: Authorization: Bearer <key>");
  }
  {  // Without Expect: the answer comes after the head, while the client has sent no body.
    raw_connection c("127.0.0.1", s.port());
    c.send(kKeylessBatchHead + "Authorization: Bearer wrong\r\nContent-Length: 16000000\r\n\r\n");
    const std::string reply = c.read_until("\r\n\r\n", milliseconds(3000));
    CHECK(status_line(reply) == "HTTP/1.1 401 Unauthorized");
    CHECK(reply.find("error=\"invalid_token\"") != std::string::npos);
  }
  {  // No route, or not this method: 404 and 405 from the head too (a key does not change that).
    raw_connection c("127.0.0.1", s.port());
    c.send("POST /v1/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 16000000\r\n\r\n");
    CHECK(status_line(c.read_until("\r\n\r\n", milliseconds(3000))) == "HTTP/1.1 404 Not Found");
    raw_connection d("127.0.0.1", s.port());
    d.send("PUT /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-key\r\n"
           "Content-Length: 16000000\r\n\r\n");
    const std::string reply = d.read_until("\r\n\r\n", milliseconds(3000));
    CHECK(status_line(reply) == "HTTP/1.1 405 Method Not Allowed");
    CHECK(reply.find("Allow: GET, HEAD\r\n") != std::string::npos);
  }
  // Memory: 16 connections without a key each announce 16 MB and send 8 MiB of it. Read into
  // their requests, that was over 128 MiB of the server's memory (the announced length reserved
  // at once, 505 MB RSS for 32 such); refused from the head, the bytes are read and dropped.
  const pid_t pid = s.process().pid();
  const long hwm_before = proc_status_kib(pid, "VmHWM");
  REQUIRE(hwm_before > 0);
  {
    std::vector<std::unique_ptr<raw_connection>> flood;
    const std::string mib(1 << 20, 'a');
    for (int i = 0; i < 16; ++i) {
      flood.push_back(std::make_unique<raw_connection>("127.0.0.1", s.port()));
      flood.back()->send(kKeylessBatchHead + "Content-Length: 16000000\r\n\r\n");
      for (int k = 0; k < 8 && flood.back()->send(mib); ++k) {
      }
    }
    for (auto& c : flood)
      CHECK(status_line(c->read_until("\r\n\r\n", milliseconds(3000))) ==
            "HTTP/1.1 401 Unauthorized");
  }
  const long grown_kib = proc_status_kib(pid, "VmHWM") - hwm_before;
  INFO("VmHWM grew by " << grown_kib << " KiB; VmRSS " << proc_status_kib(pid, "VmRSS") << " KiB");
  CHECK(grown_kib < 32 * 1024);
  // Refused requests are counted as the API's answers (route and status), not the server's own.
  const std::string metrics = s.get("/metrics").body;
  CHECK(metrics.find(R"(route="/v1/sources/{}/events:batch",method="POST",code="401"} 18)") !=
        std::string::npos);
  CHECK(s.get("/healthz", "").status == 200);
}

TEST_CASE("fault: one client address holding idle connections cannot lock others out",
          "[fault][abuse][limits]") {
  hooklog_server s(
      {"--max-connections", "60", "--max-connections-per-client", "20", "--no-deliver"});
  REQUIRE(s.get("/healthz", "").status == 200);  // this client's keep-alive connection: 1 of 20
  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 60; ++i)
    flood.push_back(std::make_unique<raw_connection>("127.0.0.1", s.port()));
  // One acceptor takes them in order: once a probe is refused, all of the flood was handled.
  raw_connection probe("127.0.0.1", s.port());
  const std::string refused = probe.read_until_close(milliseconds(3000));
  CHECK(status_line(refused) == "HTTP/1.1 429 Too Many Requests");
  CHECK(error_of(refused)["code"] == "too_many_connections");
  int answered_429 = 0;
  for (std::size_t i = 19; i < flood.size(); ++i)
    if (status_line(flood[i]->read_until_close(milliseconds(1000))) ==
        "HTTP/1.1 429 Too Many Requests")
      ++answered_429;
  CHECK(answered_429 == 41);
  // Another address is served on a fresh connection (before the limit, the flood took all 60),
  // and the existing keep-alive client still is.
  raw_connection fresh("127.0.0.1", s.port(), "127.0.0.2");
  fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(status_line(fresh.read_until("\r\n\r\n", milliseconds(3000))) == "HTTP/1.1 200 OK");
  CHECK(s.get("/healthz", "").status == 200);
  WARN("per-client flood: 60 connections from one address, 19 accepted beside the client's own, "
       << answered_429 << " answered 429 at accept; another address was served");
}

TEST_CASE("fault: a new connection that sends nothing is closed after --first-byte-timeout",
          "[fault][abuse][limits]") {
  hooklog_server s({"--first-byte-timeout", "1", "--no-deliver"});  // --read-timeout stays 30
  raw_connection silent("127.0.0.1", s.port());
  CHECK(silent.closed_within(milliseconds(10000)));
  CHECK(s.get("/healthz", "").status == 200);
}
