// The source file's "dedup" choice and the content key it derives, shared with hooklog import.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/backfill.hpp"
#include "log_test_util.hpp"
#include "source_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::accepted;
using hooklog::test::read_file;
using hooklog::test::sample_path;
using hooklog::test::sources;
using hooklog::test::temp_dir;

namespace {

// A registry of one source file "acme" with `extra` members added to a minimal file.
result<source_registry> acme(const temp_dir& dir, const std::string& extra) {
  const std::string path = (dir / "acme.json").string();
  std::ofstream(path) << R"({"source":"acme","type":"/t",)" << extra << R"("events":[]})";
  return source_registry::load_files({path});
}

}  // namespace

TEST_CASE("dedup: the source file's choice, its default, and its refusals", "[source][dedup]") {
  temp_dir dir;
  const std::string body = R"({"t":"x.y","id":"e1"})";
  auto key_of = [&](const std::string& extra) {
    auto reg = acme(dir, extra);
    REQUIRE(reg.ok());
    auto ev = reg->normalize({"acme", body, {}, {}, {}});
    REQUIRE(ev.ok());
    return ev->idempotency_key;
  };
  CHECK(key_of(R"("event_id":"/id",)") == "e1");    // default with an event id rule: event_id
  CHECK(key_of("") == body_hash_key("x.y", body));  // default without: body_hash
  CHECK(key_of(R"("event_id":"/id","dedup":"event_id",)") == "e1");
  CHECK(key_of(R"("event_id":"/id","dedup":"body_hash",)") == body_hash_key("x.y", body));
  CHECK(key_of(R"("event_id":"/id","dedup":"none",)").empty());
  CHECK(key_of(R"("dedup":"none",)").empty());
  {  // event_id mode: a payload without its id is not de-duplicated.
    auto reg = acme(dir, R"("event_id":"/id",)");
    REQUIRE(reg.ok());
    auto ev = reg->normalize({"acme", R"({"t":"x.y"})", {}, {}, {}});
    REQUIRE(ev.ok());
    CHECK(ev->idempotency_key.empty());
  }
  {  // An explicit Idempotency-Key wins over every mode.
    auto reg = acme(dir, R"("dedup":"body_hash",)");
    REQUIRE(reg.ok());
    auto ev = reg->normalize({"acme", body, {}, "hdr-1", {}});
    REQUIRE(ev.ok());
    CHECK(ev->idempotency_key == "hdr-1");
  }
  const std::string file = (dir / "acme.json").string();
  auto bad = acme(dir, R"("dedup":"hash",)");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().code == source_errc::bad_source_file);
  CHECK(bad.err().message == file + R"(: /dedup: must be one of "event_id", "body_hash", "none")");
  bad = acme(dir, R"("dedup":true,)");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message == file + R"(: /dedup: must be one of "event_id", "body_hash", "none")");
  bad = acme(dir, R"("dedup":"event_id",)");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message == file + R"(: /dedup: "event_id" needs an "event_id" rule in the file)");
}

TEST_CASE("dedup: the content key is per type and per body byte", "[source][dedup]") {
  const std::string body = read_file(sample_path("jelp", "order_update--status_change"));
  const std::string k = body_hash_key("order_update:status_change", body);
  CHECK(k.rfind("sha256:", 0) == 0);
  CHECK(k.size() == 71);
  CHECK(k == body_hash_key("order_update:status_change", body));
  CHECK(k != body_hash_key("order_update:comment", body));
  CHECK(k != body_hash_key("order_update:status_change", body + " "));
  // The type and the body are separated: moving a byte across the boundary changes the key.
  CHECK(body_hash_key("ab", "c") != body_hash_key("a", "bc"));
  // The shipped sources: jelp, crowdsender and eudr (no event id) de-duplicate by content.
  CHECK(accepted("jelp", body, "order_update:status_change").idempotency_key == k);
  const std::string cs = read_file(sample_path("crowdsender", "statusUpdated"));
  CHECK(accepted("crowdsender", cs).idempotency_key == body_hash_key("statusUpdated", cs));
  const std::string lynxo = read_file(sample_path("lynxo", "job.created"));
  CHECK(accepted("lynxo", lynxo).idempotency_key == "evt_01HR2K8Z0A1");
}

TEST_CASE("dedup: hooklog import keys an event as HTTP ingest does", "[source][dedup][import]") {
  temp_dir dir;
  auto log = test::open_log(dir.path());
  log_writer writer(*log);
  const std::string jelp = read_file(sample_path("jelp", "order_update--status_change"));
  std::string line = jelp;
  line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());
  {
    import_options io;
    io.source = "jelp";
    io.type_hint = "order_update:status_change";
    importer imp(writer, &sources(), io);
    std::istringstream in(line + "\n" + line + "\n");
    imp.add(in, "-");
    imp.finish();
    CHECK(imp.counts().stored == 1);
    CHECK(imp.counts().duplicate == 1);
  }
  {  // A source whose payload lacks its event id ("none" would do the same): import still
     // keys it by content, with the same function.
    import_options io;
    io.source = "standard";
    importer imp(writer, &sources(), io);
    std::istringstream in("{\"type\":\"a.b\"}\n{\"type\":\"a.b\"}\n");
    imp.add(in, "-");
    imp.finish();
    CHECK(imp.counts().stored == 1);
    CHECK(imp.counts().duplicate == 1);
  }
  writer.stop();
  const auto ev = accepted("jelp", line, "order_update:status_change");
  auto seq = log->find_idempotent("jelp", "jelp", ev.idempotency_key);
  REQUIRE(seq.ok());
  CHECK(seq.value() == std::optional<std::uint64_t>(1));
  seq = log->find_idempotent("default", "standard", body_hash_key("a.b", "{\"type\":\"a.b\"}"));
  REQUIRE(seq.ok());
  CHECK(seq.value() == std::optional<std::uint64_t>(2));
}
