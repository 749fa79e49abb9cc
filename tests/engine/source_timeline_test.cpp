// Status timelines: the normalized (entity, from, to) sequence of an entity's events gives its
// statuses in order. `from` may be empty when a payload does not carry the previous status
// (the timelines projection fills it with the last known status).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "source_test_util.hpp"

using namespace hooklog;
using hooklog::test::read_file;
using hooklog::test::sample_path;
using hooklog::test::sources;
using nlohmann::json;

namespace {

struct step {
  std::string source, hint, body;
};

// Normalizes each step; all must name the same entity. Returns the statuses reached, in order,
// after checking that each non-empty `from` is the status before it.
std::vector<std::string> timeline(const std::vector<step>& steps, const std::string& kind,
                                  const std::string& id) {
  std::vector<std::string> out;
  for (const step& s : steps) {
    const auto ev = sources().normalize({s.source, s.body, s.hint, {}, {}});
    REQUIRE(ev.ok());
    CHECK(ev->entity_kind == kind);
    CHECK(ev->entity_id == id);
    REQUIRE_FALSE(ev->status_to.empty());
    if (!ev->status_from.empty() && !out.empty()) CHECK(ev->status_from == out.back());
    out.push_back(ev->status_to);
  }
  return out;
}

json sample(const std::string& source, const std::string& file) {
  return json::parse(read_file(sample_path(source, file)));
}

}  // namespace

TEST_CASE("jelp order: order_new -> status_change TRANSIT -> complete_order",
          "[source][timeline]") {
  json created = sample("jelp", "order_new");
  created["folio"] = "AIEW902A";
  const std::vector<step> steps = {
      {"jelp", "order_new", created.dump()},
      {"jelp", "order_update:status_change",
       read_file(sample_path("jelp", "order_update--status_change"))},
      {"jelp", "", read_file(sample_path("jelp", "order_update--complete_order"))},
  };
  CHECK(timeline(steps, "order", "AIEW902A") ==
        std::vector<std::string>{"PENDING", "TRANSIT", "COMPLETED"});
}

TEST_CASE("jelp order cancelled after a status change", "[source][timeline]") {
  const std::vector<step> steps = {
      {"jelp", "order_update:status_change",
       read_file(sample_path("jelp", "order_update--status_change"))},
      {"jelp", "", read_file(sample_path("jelp", "order_update--cancel_order"))},
  };
  CHECK(timeline(steps, "order", "AIEW902A") == std::vector<std::string>{"TRANSIT", "CANCELLED"});
}

TEST_CASE("eudr DDS: DRAFT -> SUBMITTED -> APPROVED", "[source][timeline]") {
  json drafted = sample("eudr", "dds.status_changed");
  drafted["timestamp"] = "2024-01-15T09:00:00.000Z";
  drafted["data"].erase("previousStatus");
  drafted["data"]["newStatus"] = "DRAFT";
  const std::vector<step> steps = {
      {"eudr", "", drafted.dump()},
      {"eudr", "", read_file(sample_path("eudr", "dds.submitted"))},
      {"eudr", "", read_file(sample_path("eudr", "dds.approved"))},
  };
  CHECK(timeline(steps, "dds", "DDS-2024-00042") ==
        std::vector<std::string>{"DRAFT", "SUBMITTED", "APPROVED"});
  // The seed's own example is the DRAFT -> SUBMITTED transition.
  const auto ev = sources().normalize(
      {"eudr", read_file(sample_path("eudr", "dds.status_changed")), {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->status_from == "DRAFT");
  CHECK(ev->status_to == "SUBMITTED");
}

TEST_CASE("crowdsender box: waiting -> generated label -> delivered", "[source][timeline]") {
  json created = sample("crowdsender", "trackingUpdated");
  created["data"]["previousValue"] = nullptr;
  created["data"]["newValue"] = "waiting";
  created["data"].erase("documents");
  created["data"].erase("trackId");
  json delivered = sample("crowdsender", "trackingUpdated");
  delivered["createdAt"] = "2022-01-12T11:05:00.000Z";
  delivered["data"]["previousValue"] = "generated label";
  delivered["data"]["newValue"] = "delivered";
  const std::vector<step> steps = {
      {"crowdsender", "", created.dump()},
      {"crowdsender", "", read_file(sample_path("crowdsender", "trackingUpdated"))},
      {"crowdsender", "", delivered.dump()},
  };
  CHECK(timeline(steps, "box", "3LkOSOBBZrw7oS2I1tbxaco4") ==
        std::vector<std::string>{"waiting", "generated label", "delivered"});
  // The order's own status is a separate timeline.
  const auto ev = sources().normalize(
      {"crowdsender", read_file(sample_path("crowdsender", "statusUpdated")), {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->entity_kind == "order");
  CHECK(ev->status_to == "PENDING_TO_SHIP");
}

TEST_CASE("oms package and transfer statuses come from the event name", "[source][timeline]") {
  for (const char* s :
       {"package.status.transitioned", "package.status.packed", "package.status.shipped",
        "transfer.status.created", "transfer.status.in_transit", "transfer.status.transferred"}) {
    INFO(s);
    const auto ev = sources().normalize({"oms", read_file(sample_path("oms", s)), {}, {}, {}});
    REQUIRE(ev.ok());
    const std::string type = s;
    CHECK(ev->entity_kind == type.substr(0, type.find('.')));
    CHECK(type.substr(type.rfind('.') + 1) == ev->status_to);
  }
}
