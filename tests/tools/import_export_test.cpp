// hooklog import / export with the real binary: idempotent import, export round trip.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/record.hpp"
#include "support/hooklog_server.hpp"
#include "hooklog_build_paths.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

std::string events_file(const temp_dir& d, int n) {
  const std::string path = (d.path() / "events.ndjson").string();
  std::ofstream f(path, std::ios::binary);
  for (int i = 0; i < n; ++i) {
    nlohmann::json e = {{"id", "hist_" + std::to_string(i)},
                        {"type", "invoice.paid"},
                        {"timestamp", "2023-0" + std::to_string(1 + i % 9) + "-01T10:00:00Z"},
                        {"tenant", "acme"},
                        {"entity", {{"kind", "invoice"}, {"id", "INV-" + std::to_string(i % 7)}}},
                        {"data", {{"n", i}, {"note", "caf\u00e9 \"quoted\""}}}};
    f << e.dump() << "\n";
  }
  f << "{not json\n";  // refused, with its line number
  return path;
}

std::string write_lines(const temp_dir& d, const std::string& name,
                        const std::vector<std::string>& lines) {
  const std::string path = (d.path() / name).string();
  std::ofstream f(path, std::ios::binary);
  for (const auto& l : lines) f << l << "\n";
  return path;
}

std::vector<nlohmann::json> exported(const std::string& data) {
  auto r = run_hooklog({"export", "--data", data});
  REQUIRE(r.exit_code == 0);
  std::vector<nlohmann::json> out;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}

}  // namespace

TEST_CASE("import --source: a line shaped like an export line is an event of the source",
          "[cli][import]") {
  // Producer NDJSON decides nothing about how it is read: --source, --tenant and the
  // no-delivery flag apply to every line, and no field of such a line is stored as given.
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  const std::string inj =
      R"({"_export":1,"source":"standard","type":"inj.ected","tenant":"victim",)"
      R"("occurred_at":"2024-01-01T00:00:00Z","recorded_at":"2030-01-01T00:00:00Z",)"
      R"("entity":null,"status":null,"flags":0,"body":"{}"})";
  const std::string file =
      write_lines(d, "producer.ndjson", {R"({"type":"imp.good","id":"g1"})", inj});
  auto r = run_hooklog({"import", "--data", data, "--source", "standard", "--tenant", "acme", file});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("imported: 2 stored, 0 duplicate, 0 refused") != std::string::npos);
  const auto ev = exported(data);
  REQUIRE(ev.size() == 2);
  for (const auto& e : ev) {
    CHECK(e["tenant"] == "acme");
    CHECK(e["source"] == "standard");
    CHECK((e["flags"].get<int>() & record_flags::kNoDelivery) != 0);
    CHECK(e["recorded_at"].get<std::string>() < "2030");
  }
  CHECK(ev[1]["body"] == inj);  // the line's bytes are the event's body
  // An export given with --source is refused whole, not stored as payloads.
  const std::string exp = (d.path() / "exp.ndjson").string();
  REQUIRE(run_hooklog({"export", "--data", data, "--out", exp}).exit_code == 0);
  auto whole = run_hooklog({"import", "--data", data, "--source", "standard", exp});
  CHECK(whole.exit_code == 1);
  CHECK(whole.out.find("imported: 0 stored, 0 duplicate, 1 refused") != std::string::npos);
  CHECK(whole.out.find("exp.ndjson:1: the input is a hooklog export") != std::string::npos);
  // --tenant or --type say nothing about an export: a usage error.
  CHECK(run_hooklog({"import", "--data", data, "--tenant", "acme", exp}).exit_code == 2);
}

TEST_CASE("import --tenant forces the tenant of every line, as its help says", "[cli][import]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  const std::string file = write_lines(
      d, "t.ndjson", {R"({"type":"a.b","id":"1","tenant":"globex"})", R"({"type":"a.b","id":"2"})"});
  auto r = run_hooklog({"import", "--data", data, "--source", "standard", "--tenant", "acme", file});
  CHECK(r.out.find("imported: 2 stored, 0 duplicate, 0 refused") != std::string::npos);
  for (const auto& e : exported(data)) CHECK(e["tenant"] == "acme");
  auto help = run_hooklog({"import", "--help"});
  CHECK(help.out.find("forces the tenant of every event, whatever its payload names") !=
        std::string::npos);
}

TEST_CASE("import of an export checks each line as the normalizer checks an event",
          "[cli][import]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  const nlohmann::json base = {
      {"_export", 1},       {"source", "standard"}, {"type", "ok.one"},
      {"tenant", "t1"},     {"occurred_at", "2024-01-01T00:00:00Z"},
      {"recorded_at", "2024-01-01T00:00:00Z"},      {"entity", nullptr},
      {"status", nullptr},  {"native_id", ""},      {"idempotency_key", "k0"},
      {"flags", 0},         {"body", R"({"a":1})"}};
  std::vector<std::string> lines = {base.dump()};
  const std::vector<std::pair<std::string, nlohmann::json>> bad = {
      {"source", "no-such-source"},
      {"type", std::string("inj\0ected", 9)},
      {"tenant", "t\x07"},
      {"entity", {{"kind", "tree_head"}, {"id", "x"}}},
      {"body", "\u00ff not json"},
      {"body", "[1]"},
      {"recorded_at", "9999-01-01T00:00:00Z"},
      {"flags", 256},
      {"entity", {{"kind", "order"}, {"id", "o\x1b"}}},
      // 65 levels: what ingest refuses as too_deep (normalize_limits::max_depth 64).
      {"body", "{\"a\":" + std::string(64, '[') + std::string(64, ']') + "}"},
      // A NUL ended the JSON check's input: the rest was stored unread.
      {"body", std::string("{\"a\":1}\0 trailing", 17)},
      // Wrapped or truncated before: 2^64-1 µs became -1, 65537 became 1, true became 1.
      {"occurred_at", 18446744073709551615ull},
      {"flags", 65537},
      {"flags", true},
      {"flags", 4.9}};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    nlohmann::json l = base;
    l[bad[i].first] = bad[i].second;
    l["idempotency_key"] = "k" + std::to_string(i + 1);
    lines.push_back(l.dump());
  }
  const std::string file = write_lines(d, "exp.ndjson", lines);
  auto r = run_hooklog({"import", "--data", data, file});
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("imported: 1 stored, 0 duplicate, 15 refused") != std::string::npos);
  for (const char* why :
       {"exp.ndjson:2: export line: no source named \"no-such-source\"",
        "exp.ndjson:3: export line: the type holds the control character",
        "exp.ndjson:4: export line: the tenant holds the control character",
        "exp.ndjson:5: export line: the entity kind \"tree_head\" is reserved",
        "exp.ndjson:6: export line: the body is not a JSON object",
        "exp.ndjson:7: export line: the body is not a JSON object",
        "exp.ndjson:8: export line: recorded_at 9999-01-01T00:00:00.000000Z is in the future",
        "exp.ndjson:9: export line: flags 256 name unknown bits",
        "exp.ndjson:10: export line: the entity id holds the control character",
        "exp.ndjson:11: export line: the body: JSON nests deeper than 64 levels at line 1, column "
        "69",
        "exp.ndjson:12: export line: the body is not a JSON object: invalid JSON at line 1, column "
        "8: a NUL byte",
        "exp.ndjson:13: export line: a field is missing or has the wrong type: occurred_at "
        "18446744073709551615 is past the year 9999",
        "exp.ndjson:14: export line: a field is missing or has the wrong type: flags 65537 is not "
        "an integer of 16 bits",
        "exp.ndjson:15: export line: a field is missing or has the wrong type: flags true is not "
        "an integer of 16 bits",
        "exp.ndjson:16: export line: a field is missing or has the wrong type: flags 4.9 is not an "
        "integer of 16 bits"})
    CHECK(r.out.find(why) != std::string::npos);
  // Without --deliver a restored record is not delivered either; with it, its flags are kept.
  const auto ev = exported(data);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0]["flags"] == record_flags::kNoDelivery);
  const std::string data2 = (d.path() / "data2").string();
  run_hooklog({"import", "--data", data2, "--deliver", file});
  CHECK(exported(data2).at(0)["flags"] == 0);
}

TEST_CASE("import: twice stores nothing the second time, refusals name their line", "[cli][import]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  const std::string file = events_file(d, 500);
  auto first = run_hooklog({"import", "--data", data, "--source", "standard", file});
  CHECK(first.exit_code == 1);  // one line refused
  CHECK(first.out.find("imported: 500 stored, 0 duplicate, 1 refused") != std::string::npos);
  CHECK(first.out.find("events.ndjson:501:") != std::string::npos);
  auto second = run_hooklog({"import", "--data", data, "--source", "standard", file});
  CHECK(second.out.find("imported: 0 stored, 500 duplicate, 1 refused") != std::string::npos);
  auto stats = run_hooklog({"stats", "--data", data, "--json"});
  REQUIRE(stats.exit_code == 0);
  auto j = nlohmann::json::parse(stats.out);
  CHECK(j["records"] == 500);
  CHECK(j["events_without_delivery"] == 500);
  auto tl = run_hooklog({"timeline", "invoice", "INV-3", "--data", data});
  CHECK(tl.exit_code == 0);
  auto tail = run_hooklog({"tail", "--data", data, "--lines", "3", "--no-follow"});
  CHECK(tail.exit_code == 0);
  CHECK(std::count(tail.out.begin(), tail.out.end(), '\n') == 3);

  // The server sees them, with their original occurred time, and delivers none.
  hooklog_server s({}, data);
  auto ev = s.get("/v1/events/evt_0000000000000001");
  REQUIRE(ev.status == 200);
  CHECK(ev.json["occurred_at"] == "2023-01-01T10:00:00.000000Z");
}

TEST_CASE("export then import round-trips byte for byte", "[cli][export]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  {
    hooklog_server s({}, data);
    std::string batch;
    for (int i = 0; i < 300; ++i)
      batch += nlohmann::json{{"id", "e" + std::to_string(i)},
                              {"type", i % 3 ? "user.signed_up" : "invoice.paid"},
                              {"timestamp", "2024-05-01T12:00:00Z"},
                              {"tenant", i % 2 ? "acme" : "globex"},
                              {"entity", {{"kind", "invoice"}, {"id", "I" + std::to_string(i % 5)}}}}
                   .dump() +
               "\n";
    auto r = s.call("POST", "/v1/sources/standard/events:batch?deliver=false", batch, kAdminKey,
                    {{"Content-Type", "application/x-ndjson"}});
    REQUIRE(r.status == 200);
    REQUIRE(r.json["stored"] == 300);
    // While the server runs, export works (read-only).
    auto live = run_hooklog({"export", "--data", data, "--type", "invoice.*"});
    CHECK(live.exit_code == 0);
    CHECK(std::count(live.out.begin(), live.out.end(), '\n') == 100);
  }
  const std::string exp1 = (d.path() / "export1.ndjson").string();
  const std::string exp2 = (d.path() / "export2.ndjson").string();
  REQUIRE(run_hooklog({"export", "--data", data, "--out", exp1}).exit_code == 0);
  const std::string data2 = (d.path() / "data2").string();
  auto imp = run_hooklog({"import", "--data", data2, exp1});
  CHECK(imp.exit_code == 0);
  CHECK(imp.out.find("imported: 300 stored, 0 duplicate, 0 refused") != std::string::npos);
  REQUIRE(run_hooklog({"export", "--data", data2, "--out", exp2}).exit_code == 0);
  const std::string a = read_file(exp1), b = read_file(exp2);
  CHECK(a.size() > 0);
  CHECK(a == b);  // same seqs, fields, bodies, recorded times and hashes
  // And importing the export again stores nothing.
  auto again = run_hooklog({"import", "--data", data2, exp1});
  INFO("second import printed: " << again.out);
  CHECK(again.out.find("imported: 0 stored, 300 duplicate") != std::string::npos);
  CHECK(run_hooklog({"verify", "--data", data2}).exit_code == 0);
}

TEST_CASE("importing an export again stores nothing, keyless events included", "[cli][import]") {
  // Events posted without an id have no idempotency key; restored, they are keyed by their
  // exported leaf hash: a second import finds them, and two with the same body stay two.
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  {
    hooklog_server s({}, data);
    auto r = s.call("POST", "/v1/sources/standard/events:batch?deliver=false",
                    "{\"type\":\"k.less\",\"n\":1}\n{\"type\":\"k.less\",\"n\":1}\n"
                    "{\"type\":\"k.less\",\"n\":2}\n",
                    kAdminKey, {{"Content-Type", "application/x-ndjson"}});
    REQUIRE(r.status == 200);
    REQUIRE(r.json["stored"] == 3);
  }
  const auto original = exported(data);
  REQUIRE(original.size() == 3);
  for (const auto& e : original) REQUIRE(e["idempotency_key"] == "");
  const std::string exp = (d.path() / "exp.ndjson").string();
  REQUIRE(run_hooklog({"export", "--data", data, "--out", exp}).exit_code == 0);
  const std::string data2 = (d.path() / "data2").string();
  auto first = run_hooklog({"import", "--data", data2, exp});
  CHECK(first.out.find("imported: 3 stored, 0 duplicate, 0 refused") != std::string::npos);
  auto again = run_hooklog({"import", "--data", data2, exp});
  CHECK(again.out.find("imported: 0 stored, 3 duplicate, 0 refused") != std::string::npos);
  const auto restored = exported(data2);
  REQUIRE(restored.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(restored[i]["body"] == original[i]["body"]);
    CHECK(restored[i]["idempotency_key"] ==
          "export-leaf:" + original[i]["leaf_hash"].get<std::string>());
  }
}

TEST_CASE("the first and last times RFC 3339 writes survive an export and its import",
          "[cli][import][export]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  const std::string file = write_lines(
      d, "edge.ndjson",
      {R"({"type":"t","id":"y1","timestamp":"0001-01-01T00:00:00-00:00"})",
       R"({"type":"t","id":"y2","timestamp":"9999-12-31T23:59:59.999999Z"})",
       R"({"type":"t","id":"y3","timestamp":-62135596800})",
       R"({"type":"t","id":"y4","timestamp":"0001-01-01T00:00:00+01:00"})",
       R"({"type":"t","id":"y5","timestamp":-99999999999})"});
  auto r = run_hooklog({"import", "--data", data, "--source", "standard", file});
  INFO(r.out);
  CHECK(r.out.find("imported: 3 stored, 0 duplicate, 2 refused") != std::string::npos);
  CHECK(r.out.find("edge.ndjson:4: field /timestamp must be an RFC 3339 time") != std::string::npos);
  CHECK(r.out.find("edge.ndjson:5: field /timestamp is not a time in range") != std::string::npos);
  const std::string exp = (d.path() / "exp.ndjson").string();
  REQUIRE(run_hooklog({"export", "--data", data, "--out", exp}).exit_code == 0);
  const std::string data2 = (d.path() / "data2").string();
  auto imp = run_hooklog({"import", "--data", data2, exp});
  CHECK(imp.out.find("imported: 3 stored, 0 duplicate, 0 refused") != std::string::npos);
  const auto ev = exported(data2);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0]["occurred_at"] == "0001-01-01T00:00:00.000000Z");
  CHECK(ev[1]["occurred_at"] == "9999-12-31T23:59:59.999999Z");
  CHECK(ev[2]["occurred_at"] == "0001-01-01T00:00:00.000000Z");
}

TEST_CASE("tail --entity keeps following after a writer rebuilt the log's index env",
          "[cli][tail]") {
  // tail opens the index env once; a writer that finds it missing builds a new one (a new
  // file). The rounds after the first read new records in seq order, so they are all found.
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  REQUIRE(run_hooklog({"import", "--data", data, "--source", "standard", events_file(d, 20)})
              .exit_code == 1);  // the file's last line is refused on purpose
  const std::filesystem::path index_dir = std::filesystem::path(data) / "log" / "index";
  REQUIRE(std::filesystem::exists(index_dir / "data.mdb"));
  child_process tail(HOOKLOG_BINARY,
                     {"tail", "--data", data, "--entity", "invoice:INV-3", "--lines", "100", "--json"});
  auto wait_for = [&](const std::string& id) {
    for (;;) {
      auto line = tail.read_line(std::chrono::seconds(10));
      if (!line) return false;
      if (line->find("INV-3") == std::string::npos) return false;  // another entity: wrong
      if (line->find("\"native_id\":\"" + id + "\"") != std::string::npos) return true;
    }
  };
  REQUIRE(wait_for("hist_17"));  // INV-3 is events 3, 10 and 17
  std::filesystem::remove_all(index_dir);
  const std::string more = (d.path() / "more.ndjson").string();
  {
    std::ofstream f(more, std::ios::binary);
    for (int i = 0; i < 4; ++i)
      f << nlohmann::json{{"id", "late_" + std::to_string(i)},
                          {"type", "invoice.paid"},
                          {"timestamp", "2023-10-01T10:00:00Z"},
                          {"tenant", "acme"},
                          {"entity", {{"kind", "invoice"}, {"id", "INV-" + std::to_string(i + 2)}}},
                          {"data", {{"n", i}}}}
               .dump()
        << "\n";
  }
  auto imp = run_hooklog({"import", "--data", data, "--source", "standard", more});
  REQUIRE(imp.exit_code == 0);
  REQUIRE(std::filesystem::exists(index_dir / "data.mdb"));  // built again by the writer
  CHECK(wait_for("late_1"));  // the one new INV-3 event
}
