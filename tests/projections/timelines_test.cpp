#include <catch2/catch.hpp>

#include "engine/time_util.hpp"
#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr std::int64_t kMin = 60'000'000;
constexpr std::int64_t kT0 = 1'707'500'000'000'000;  // 2024-02-09

std::vector<projections::transition> transitions(fixture& f, const std::string& tenant,
                                                 const std::string& kind, const std::string& id) {
  auto t = f.read();
  auto tl = f.runner->timeline().get(t, tenant, kind, id);
  REQUIRE(tl);
  REQUIRE(*tl);
  return (*tl)->transitions;
}
}  // namespace

TEST_CASE("jelp order: PENDING -> TRANSIT -> COMPLETED, with a late TRANSIT arriving out of order") {
  fixture f;
  auto s1 = f.append(event("jelp-co", "order_new", {}, "order", "42AT8WT", "", "PENDING", kT0));
  auto s2 = f.append(event("jelp-co", "order_update:status_change", {}, "order", "42AT8WT", "", "COMPLETED",
                           kT0 + 30 * kMin));
  // Occurred between the two, recorded after both.
  auto s3 = f.append(event("jelp-co", "order_update:assign_driver", {}, "order", "42AT8WT", "", "TRANSIT",
                           kT0 + 10 * kMin));
  // Another tenant's order with the same id is another entity.
  f.append(event("other", "order_new", {}, "order", "42AT8WT", "", "CANCELLED", kT0));
  f.sync();

  auto tr = transitions(f, "jelp-co", "order", "42AT8WT");
  REQUIRE(tr.size() == 3);
  CHECK(tr[0].seq == s1);
  CHECK(tr[0].from == "");
  CHECK(tr[0].to == "PENDING");
  CHECK_FALSE(tr[0].out_of_order);
  CHECK(tr[1].seq == s3);  // placed by occurred time
  CHECK(tr[1].from == "PENDING");
  CHECK(tr[1].to == "TRANSIT");
  CHECK(tr[1].out_of_order);
  CHECK(tr[1].occurred_at == kT0 + 10 * kMin);
  CHECK(tr[1].recorded_at >= tr[2].recorded_at);
  CHECK(tr[2].seq == s2);
  CHECK(tr[2].from == "PENDING");  // what was known when it arrived
  CHECK(tr[2].to == "COMPLETED");
  CHECK_FALSE(tr[2].out_of_order);

  auto t = f.read();
  auto tl = f.runner->timeline().get(t, "jelp-co", "order", "42AT8WT");
  REQUIRE(*tl);
  CHECK((*tl)->current_status == "COMPLETED");  // the late arrival does not change it
  auto j = projections::to_json(**tl);
  CHECK(j["transitions"].size() == 3);
  CHECK(j["transitions"][0]["occurred_at"] == format_rfc3339(kT0));
  auto other = f.runner->timeline().get(t, "other", "order", "42AT8WT");
  REQUIRE(*other);
  CHECK((*other)->transitions.size() == 1);
  CHECK(f.runner->timeline().get(t, "jelp-co", "order", "nope")->has_value() == false);
}

TEST_CASE("eudr DDS: DRAFT -> SUBMITTED -> APPROVED with explicit from, out of order SUBMITTED") {
  fixture f;
  f.append(event("integ-7", "dds.status_changed", {}, "dds", "DDS-2024-00042", "", "DRAFT", kT0));
  f.append(event("integ-7", "dds.approved", {}, "dds", "DDS-2024-00042", "SUBMITTED", "APPROVED", kT0 + 60 * kMin));
  f.append(event("integ-7", "dds.submitted", {}, "dds", "DDS-2024-00042", "DRAFT", "SUBMITTED", kT0 + 5 * kMin));
  f.sync();
  auto tr = transitions(f, "integ-7", "dds", "DDS-2024-00042");
  REQUIRE(tr.size() == 3);
  CHECK(tr[0].to == "DRAFT");
  CHECK(tr[1].from == "DRAFT");
  CHECK(tr[1].to == "SUBMITTED");
  CHECK(tr[1].out_of_order);
  CHECK(tr[2].from == "SUBMITTED");
  CHECK(tr[2].to == "APPROVED");
  CHECK_FALSE(tr[2].out_of_order);
}

TEST_CASE("crowdsender box: previousValue -> newValue, an early arrival placed first; equal times keep seq order") {
  fixture f;
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "REGISTERED", "IN_TRANSIT", kT0 + 20 * kMin));
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "IN_TRANSIT", "DELIVERED", kT0 + 40 * kMin));
  // The registration arrives last but happened first; it has no from.
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "", "REGISTERED", kT0));
  // Two updates at the same occurred time: in order, by seq.
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "", "RETURNING", kT0 + 40 * kMin));
  f.sync();
  auto tr = transitions(f, "cs", "box", "BX-1");
  REQUIRE(tr.size() == 4);
  CHECK(tr[0].to == "REGISTERED");
  CHECK(tr[0].from == "");  // nothing before it
  CHECK(tr[0].out_of_order);
  CHECK(tr[1].to == "IN_TRANSIT");
  CHECK(tr[2].to == "DELIVERED");
  CHECK(tr[3].from == "DELIVERED");
  CHECK(tr[3].to == "RETURNING");
  CHECK_FALSE(tr[3].out_of_order);
}

TEST_CASE("an out-of-order arrival without from takes the status just before it") {
  fixture f;
  f.append(event("t", "x", {}, "job", "J1", "", "A", kT0));
  f.append(event("t", "x", {}, "job", "J1", "", "C", kT0 + 20 * kMin));
  f.append(event("t", "x", {}, "job", "J1", "", "B", kT0 + 10 * kMin));
  f.sync();
  auto tr = transitions(f, "t", "job", "J1");
  REQUIRE(tr.size() == 3);
  CHECK(tr[1].to == "B");
  CHECK(tr[1].from == "A");
  CHECK(tr[1].out_of_order);
}
