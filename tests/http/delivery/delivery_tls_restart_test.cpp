// HTTPS delivery to a receiver whose certificate comes from a private CA given by
// configuration, and resuming after a dispatcher restart.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>

#include "engine/record.hpp"
#include "http/delivery/delivery_fixture.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// A server certificate <name>.pem / <name>.key signed by the test CA in d, for the given
// subjectAltName, valid for `days` from now (negative: already expired).
bool make_server_cert(const temp_dir& d, const std::string& name, const std::string& san, int days) {
  const std::string p = d.path().string();
  const std::string cmd =
      "cd '" + p + "' && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name + ".key -out " + name +
      ".csr -subj '/CN=" + name + "' >/dev/null 2>&1 && "
      "printf 'subjectAltName=" + san + "\\nbasicConstraints=CA:FALSE\\n' > " + name + ".cnf && "
      "openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out " + name +
      ".pem -days " + std::to_string(days) + " -extfile " + name + ".cnf >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// A CA and a server certificate (srv) for localhost / 127.0.0.1, made with the openssl CLI.
bool make_test_pki(const temp_dir& d) {
  const std::string cmd =
      "cd '" + d.path().string() + "' && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
      "-days 2 -subj '/CN=hooklog test CA' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0 && make_server_cert(d, "srv", "DNS:localhost,IP:127.0.0.1", 2);
}
}  // namespace

TEST_CASE("delivery: HTTPS with a private CA from configuration", "[delivery][tls]") {
  temp_dir pki;
  REQUIRE(make_test_pki(pki));
  http::dispatcher_options o;
  o.ca_file = (pki / "ca.pem").string();
  delivery_fixture f(o);
  receiver_proc rcv(f.dir, "tls", {"--secret", kSecret, "--tls-cert", (pki / "srv.pem").string(), "--tls-key",
                                   (pki / "srv.key").string()});
  const std::string base = "https://127.0.0.1:" + std::to_string(rcv.addr.port);
  const std::string named = "https://localhost:" + std::to_string(rcv.addr.port);
  f.add_endpoint("ip", {{"url", base + "/a"}, {"secret", kSecret}});
  f.add_endpoint("name", {{"url", named + "/b"}, {"secret", kSecret}});
  f.add_event("T1", "{\"tls\":true}");
  REQUIRE(eventually([&] { return rcv.lines().size() == 2; }));
  for (auto& l : rcv.lines()) CHECK(l["signature_ok"] == true);
  REQUIRE(eventually([&] { return f.attempts("ip").size() == 1 && f.attempts("name").size() == 1; }));
  CHECK(f.attempts("ip")[0]["outcome"] == "success");
  CHECK(f.attempts("name")[0]["outcome"] == "success");
}

TEST_CASE("delivery: HTTPS to an unknown CA fails as a TLS failure", "[delivery][tls]") {
  temp_dir pki;
  REQUIRE(make_test_pki(pki));
  delivery_fixture f;  // no CA file: the system store does not know the test CA
  receiver_proc rcv(f.dir, "tls", {"--tls-cert", (pki / "srv.pem").string(), "--tls-key", (pki / "srv.key").string()});
  f.add_endpoint("ep", {{"url", "https://127.0.0.1:" + std::to_string(rcv.addr.port) + "/"}, {"secret", kSecret},
                        {"retry", {{"strategy", "fixed"}, {"base_ms", 10}, {"max_attempts", 1}}}});
  f.add_event("T2", "{}");
  REQUIRE(eventually([&] { return f.attempts("ep").size() == 1; }));
  auto a = f.attempts("ep")[0];
  INFO(a.dump());
  CHECK(a["outcome"] == "failure");
  CHECK(a["error"].get<std::string>().rfind("tls:", 0) == 0);
  CHECK(a["error"].get<std::string>().find("certificate") != std::string::npos);
  CHECK(rcv.lines().empty());
}

TEST_CASE("delivery: HTTPS to a wrong host name or an expired certificate is a recorded TLS failure",
          "[delivery][tls][fault]") {
  temp_dir pki;
  REQUIRE(make_test_pki(pki));
  // Signed by the trusted CA, but for another host; and one for the right host, expired yesterday.
  REQUIRE(make_server_cert(pki, "other", "DNS:other.example", 2));
  REQUIRE(make_server_cert(pki, "expired", "DNS:localhost,IP:127.0.0.1", -1));
  http::dispatcher_options o;
  o.ca_file = (pki / "ca.pem").string();
  delivery_fixture f(o);
  auto tls_receiver = [&](const std::string& name) {
    return std::make_unique<receiver_proc>(
        f.dir, name, std::vector<std::string>{"--tls-cert", (pki / (name + ".pem")).string(), "--tls-key",
                                              (pki / (name + ".key")).string()});
  };
  auto other = tls_receiver("other");
  auto expired = tls_receiver("expired");
  auto good = tls_receiver("srv");
  const nlohmann::json once = {{"strategy", "fixed"}, {"base_ms", 10}, {"max_attempts", 1}};
  auto url = [](const receiver_proc& r) { return "https://localhost:" + std::to_string(r.addr.port) + "/"; };
  f.add_endpoint("other", {{"url", url(*other)}, {"secret", kSecret}, {"retry", once}});
  f.add_endpoint("expired", {{"url", url(*expired)}, {"secret", kSecret}, {"retry", once}});
  f.add_endpoint("good", {{"url", url(*good)}, {"secret", kSecret}, {"retry", once}});
  f.add_event("T3", "{}");
  REQUIRE(eventually([&] {
    return f.attempts("other").size() == 1 && f.attempts("expired").size() == 1 && f.attempts("good").size() == 1;
  }));
  for (const char* name : {"other", "expired"}) {
    auto a = f.attempts(name)[0];
    INFO(name << ": " << a.dump());
    CHECK(a["outcome"] == "failure");
    CHECK(a["error"].get<std::string>().rfind("tls:", 0) == 0);
  }
  // The reason names what was wrong: the host name, or the expiry.
  CHECK(f.attempts("other")[0]["error"].get<std::string>().find("hostname mismatch") != std::string::npos);
  CHECK(f.attempts("expired")[0]["error"].get<std::string>().find("certificate has expired") != std::string::npos);
  CHECK(other->lines().empty());
  CHECK(expired->lines().empty());
  // The healthy endpoint beside them is served.
  CHECK(f.attempts("good")[0]["outcome"] == "success");
  CHECK(good->lines().size() == 1);
  WARN("TLS faults: wrong host name -> " << f.attempts("other")[0]["error"].get<std::string>()
                                         << "; expired -> " << f.attempts("expired")[0]["error"].get<std::string>());
}

TEST_CASE("delivery: after a restart the dispatcher resumes from the pending projection", "[delivery]") {
  delivery_fixture f;
  // Slow answers so that the stop lands while deliveries are in flight.
  receiver_proc rcv(f.dir, "r", {"--delay-ms", "300"});
  f.add_endpoint("ep", {{"url", rcv.url()}, {"secret", kSecret}, {"max_in_flight", 4}});
  std::set<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.insert(event_id_for(f.add_event("R" + std::to_string(i), "{}")));
  REQUIRE(eventually([&] { return rcv.lines().size() >= 4; }));
  f.close();  // in-flight sends end without a record
  const auto before = rcv.lines().size();
  f.open();
  REQUIRE(eventually([&] {
    std::set<std::string> seen;
    for (auto& l : rcv.lines()) seen.insert(l["webhook_id"].get<std::string>());
    return seen == ids;
  }, std::chrono::seconds(20)));
  // Repeats: only what was in flight at the stop (at most max_in_flight), same webhook-id.
  REQUIRE(eventually([&] { return f.attempts("ep").size() >= ids.size(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto lines = rcv.lines();
  INFO("before restart " << before << ", total " << lines.size());
  CHECK(lines.size() <= ids.size() + 4);
  std::set<std::string> success_ids;
  for (auto& a : f.attempts("ep"))
    if (a["outcome"] == "success") success_ids.insert(event_id_for(a["event_seq"].get<std::uint64_t>()));
  CHECK(success_ids == ids);
}
