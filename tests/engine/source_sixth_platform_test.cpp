// Adding a platform takes only a JSON file: the worked example of docs/SOURCES.md, loaded from
// a temporary directory beside the shipped sources.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "source_test_util.hpp"
#include "hooklog_build_paths.hpp"

using namespace hooklog;

namespace {

// Keep in step with docs/SOURCES.md ("Worked example: a sixth platform").
constexpr const char* kParcelly = R"json({
  "source": "parcelly",
  "title": "Parcelly",
  "description": "Parcel lockers: parcels moving between lockers, and deliveries.",
  "type": [{"pointer": "/topic", "map": {"delivered": "parcel.delivered"}}, {"hint": true}],
  "event_id": "/uuid",
  "occurred_at": {"pointer": "/ts", "unit": "ms"},
  "tenant": ["/merchant/slug", "/merchant/id"],
  "test_mode": {"pointer": "/env", "equals": "sandbox"},
  "events": [
    {"type": "parcel.moved", "description": "A parcel moved to another locker or state."},
    {"type": "parcel.delivered", "description": "The recipient collected the parcel."}
  ],
  "rules": [
    {"match": "parcel.delivered", "status": {"from": "/parcel/was", "to": {"value": "DELIVERED"}}},
    {"match": "parcel.*",
     "entity": {"kind": "parcel", "id": "/parcel/code"},
     "status": {"from": "/parcel/was", "to": {"pointer": "/parcel/now", "map": {"in-transit": "IN_TRANSIT"}}},
     "required": ["/parcel/code"]}
  ]
})json";

}  // namespace

TEST_CASE("a sixth platform needs only its JSON source file", "[source][sixth]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "hooklog-sixth-platform";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "parcelly.json") << kParcelly;

  // Alone...
  auto alone = source_registry::load_dir(dir.string());
  REQUIRE(alone.ok());
  CHECK(alone->names() == std::vector<std::string>{"parcelly"});

  // ...and beside the shipped sources.
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/sources")) {
    files.push_back(f.path().string());
  }
  files.push_back((dir / "parcelly.json").string());
  auto reg = source_registry::load_files(files);
  fs::remove_all(dir);
  REQUIRE(reg.ok());
  CHECK(reg->has("parcelly"));
  CHECK(reg->catalog().size() == 58);

  const std::string moved =
      R"({"topic":"parcel.moved","uuid":"6f1c","ts":1714564800250,"env":"live",)"
      R"("merchant":{"slug":"bakery-42"},"parcel":{"code":"PX-9","was":"at-locker","now":"in-transit"}})";
  auto ev = reg->normalize({"parcelly", moved, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->type == "parcel.moved");
  CHECK(ev->cataloged);
  CHECK(ev->tenant == "bakery-42");
  CHECK(ev->native_id == "6f1c");
  CHECK(ev->idempotency_key == "6f1c");
  CHECK(ev->occurred_at == 1714564800250000);
  CHECK_FALSE(ev->test_mode);
  CHECK(ev->entity_kind == "parcel");
  CHECK(ev->entity_id == "PX-9");
  CHECK(ev->status_from == "at-locker");
  CHECK(ev->status_to == "IN_TRANSIT");

  const std::string delivered =
      R"({"topic":"delivered","uuid":"6f1d","ts":1714568400000,"env":"sandbox",)"
      R"("merchant":{"id":"m-77"},"parcel":{"code":"PX-9","was":"in-transit"}})";
  ev = reg->normalize({"parcelly", delivered, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->type == "parcel.delivered");
  CHECK(ev->tenant == "m-77");
  CHECK(ev->test_mode);
  CHECK(ev->status_from == "in-transit");
  CHECK(ev->status_to == "DELIVERED");

  const auto missing = reg->normalize({"parcelly", R"({"topic":"parcel.moved"})", {}, {}, {}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().message == "missing required field /parcel/code for parcel.moved");
}
