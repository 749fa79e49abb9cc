// GET /v1/admin/snapshot on a single-node server: admin only, headers that state the copy's head
// and size, and a body that is a whole log (saved as DIR/log/data.mdb it verifies, with the same
// head hash). The cluster use (serve --bootstrap-from) is in tests/cluster/snapshot_test.cpp.
#include <catch2/catch.hpp>

#include <fstream>

#include "support/hooklog_server.hpp"

using namespace hooklog::test;

namespace {
std::string header_of(const api_reply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}
}  // namespace

TEST_CASE("http: the admin snapshot route streams a consistent copy of the log that verifies",
          "[http][snapshot]") {
  hooklog_server s;
  const std::string target = "/v1/sources/jelp/events?type=order_update:status_change";
  for (int i = 0; i < 5; ++i)
    REQUIRE(s.call("POST", target, jelp_status("S" + std::to_string(i), "NEW")).status == 202);
  CHECK(s.get("/v1/admin/snapshot", "").status == 401);
  auto tenant = s.post("/v1/keys", {{"tenant", "jelp"}});
  REQUIRE(tenant.status == 201);
  auto refused = s.get("/v1/admin/snapshot", tenant.json["key"].get<std::string>());
  CHECK(refused.status == 403);
  CHECK(refused.json["error"]["code"] == "forbidden");
  auto head = s.get("/v1/audit/head");  // after the key's record
  REQUIRE(head.status == 200);

  auto snap = s.get("/v1/admin/snapshot");
  REQUIRE(snap.status == 200);
  CHECK(header_of(snap, "Content-Type") == "application/octet-stream");
  CHECK(header_of(snap, "Hooklog-Snapshot-Seq") == std::to_string(head.json["seq"].get<long>()));
  CHECK(header_of(snap, "Hooklog-Snapshot-Hash") == head.json["hash"].get<std::string>());
  CHECK(header_of(snap, "Hooklog-Snapshot-Bytes") == std::to_string(snap.body.size()));
  CHECK(header_of(snap, "Hooklog-Snapshot-Cell") == "");

  temp_dir copy;
  std::filesystem::create_directories(copy / "log");
  { std::ofstream((copy / "log" / "data.mdb").string(), std::ios::binary) << snap.body; }
  auto v = run_hooklog({"verify", "--data", copy.path().string()});
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("OK: " + std::to_string(head.json["seq"].get<long>()) + " records verified") !=
        std::string::npos);
  CHECK(v.out.find(head.json["hash"].get<std::string>()) != std::string::npos);
  // No temporary copy is left in the data directory.
  for (const auto& e : std::filesystem::directory_iterator(s.data_dir()))
    CHECK(e.path().filename().string().rfind("snapshot", 0) != 0);
}
