// What the server hands its handler (http/server_request_reader.hpp: Beast's parser writing
// straight into the http_request): method, target, path, decoded query, each header as sent
// (names' case, order, repeats; values trimmed), the body whether it came with a length, chunked,
// in pieces or pipelined behind another request; and the keep-alive decision per HTTP version.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

#include "http/server.hpp"
#include "support/process.hpp"

using namespace hooklog::http;
using hooklog::test::raw_connection;
using namespace std::chrono_literals;

namespace {

struct echo_server {
  http_server server;
  unsigned short port = 0;

  echo_server()
      : server(options(), [](http_request&& req, responder r) {
          nlohmann::json headers = nlohmann::json::array();
          for (const auto& [k, v] : req.headers) headers.push_back({k, v});
          nlohmann::json query = nlohmann::json::array();
          for (const auto& [k, v] : req.query) query.push_back({k, v});
          r(http_response::json(200, nlohmann::json{{"method", req.method},
                                                    {"target", req.target},
                                                    {"path", req.path},
                                                    {"query", query},
                                                    {"headers", headers},
                                                    {"body", req.body},
                                                    {"version", req.version}}
                                         .dump()));
        }) {
    auto p = server.start();
    REQUIRE(p);
    port = *p;
  }
  ~echo_server() { server.stop(2s); }

  static server_options options() {
    server_options o;
    o.listen = "127.0.0.1:0";
    o.threads = 1;
    o.body_limit = 64 * 1024;
    return o;
  }
};

// The JSON bodies of the answers in `raw`, in order.
std::vector<nlohmann::json> bodies(const std::string& raw) {
  std::vector<nlohmann::json> out;
  std::size_t at = 0;
  while ((at = raw.find("Content-Length: ", at)) != std::string::npos) {
    const std::size_t length = std::stoul(raw.substr(at + 16));
    const std::size_t body = raw.find("\r\n\r\n", at) + 4;
    out.push_back(nlohmann::json::parse(raw.substr(body, length)));
    at = body + length;
  }
  return out;
}

}  // namespace

TEST_CASE("server hands the request over as sent", "[server][request]") {
  echo_server ts;
  raw_connection c("127.0.0.1", ts.port);
  REQUIRE(c.send(
      "PATCH /a/b%2Fc?x=1&y=a%20b&x=2&flag HTTP/1.1\r\nHost: example\r\nX-Lower: \t padded \t\r\n"
      "x-lower: again\r\nAuthorization: Bearer k-0123456789abcdef0123\r\nContent-Length: 5\r\n\r\n"
      "hello"
      "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n"
      "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const auto got = bodies(c.read_until_close(5s));
  REQUIRE(got.size() == 3);
  CHECK(got[0]["method"] == "PATCH");
  CHECK(got[0]["target"] == "/a/b%2Fc?x=1&y=a%20b&x=2&flag");
  CHECK(got[0]["path"] == "/a/b%2Fc");
  CHECK(got[0]["query"] ==
        nlohmann::json::parse(R"([["x","1"],["y","a b"],["x","2"],["flag",""]])"));
  CHECK(got[0]["headers"] ==
        nlohmann::json::parse(R"([["Host","example"],["X-Lower","padded"],["x-lower","again"],)"
                              R"(["Authorization","Bearer k-0123456789abcdef0123"],)"
                              R"(["Content-Length","5"]])"));
  CHECK(got[0]["body"] == "hello");
  CHECK(got[0]["version"] == 11);
  CHECK(got[1]["body"] == "abc");
  CHECK(got[1]["headers"] ==
        nlohmann::json::parse(R"([["Host","x"],["Transfer-Encoding","chunked"]])"));
  CHECK(got[2]["method"] == "GET");
  CHECK(got[2]["body"] == "");
}

TEST_CASE("server reads a body that arrives in pieces", "[server][request]") {
  echo_server ts;
  const std::string body(40000, 'p');
  {
    raw_connection c("127.0.0.1", ts.port);
    REQUIRE(c.send("POST /len HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n"));
    for (std::size_t at = 0; at < body.size(); at += 10000) {
      std::this_thread::sleep_for(20ms);
      REQUIRE(c.send(body.substr(at, 10000)));
    }
    const auto got = bodies(c.read_until_close(5s));
    REQUIRE(got.size() == 1);
    CHECK(got[0]["body"] == body);
  }
  {
    raw_connection c("127.0.0.1", ts.port);
    REQUIRE(
        c.send("POST /chunks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"));
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(20ms);
      REQUIRE(c.send("2710\r\n" + body.substr(0, 10000) + "\r\n"));
    }
    REQUIRE(c.send("0\r\n\r\n"));
    const auto got = bodies(c.read_until_close(5s));
    REQUIRE(got.size() == 1);
    CHECK(got[0]["body"] == body);
  }
}

TEST_CASE("server keeps the connection as the request's version and Connection say",
          "[server][request]") {
  echo_server ts;
  struct case_t {
    const char* head;
    bool kept;
  };
  for (const auto& [head, kept] :
       {case_t{"HTTP/1.1\r\nHost: x", true}, case_t{"HTTP/1.1\r\nConnection: Close", false},
        case_t{"HTTP/1.1\r\nConnection: keep-alive, close", false},
        case_t{"HTTP/1.0\r\nHost: x", false}, case_t{"HTTP/1.0\r\nConnection: Keep-Alive", true}}) {
    INFO(head);
    raw_connection c("127.0.0.1", ts.port);
    REQUIRE(c.send(std::string("GET /k ") + head + "\r\n\r\n"));
    const std::string first = c.read_until("}", 3s);
    CHECK(first.find("\"path\":\"/k\"") != std::string::npos);
    if (kept) {  // a second request on the same connection is answered
      REQUIRE(c.send("GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      CHECK(c.read_until_close(3s).find("\"path\":\"/again\"") != std::string::npos);
    } else {
      CHECK(c.closed_within(5s));
    }
  }
}
