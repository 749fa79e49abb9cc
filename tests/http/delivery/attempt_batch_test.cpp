// Attempt records gathered into one submission (http/delivery/attempt_batch.hpp), against the
// real log writer: one flush scheduled for several attempts, one outcome per attempt in add()
// order, a record that fails keeping only its own attempt out, and the records in the log in
// add() order.
#include "http/delivery/attempt_batch.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <future>
#include <vector>

#include "engine/log_test_util.hpp"
#include "engine/log_writer.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;

namespace {

record attempt_record(const char* endpoint, std::uint64_t ref, std::size_t type_size = 10) {
  record r = test::make_event("t", std::string(type_size, 't'), endpoint, 0, R"({"attempt":1})");
  r.kind = record_kind::delivery_attempt;
  r.source.clear();
  r.entity_kind = "endpoint";
  r.ref_seq = ref;
  return r;
}

struct settled_call {
  std::string endpoint_id;
  std::uint64_t event_seq;
  bool ok;
  std::uint64_t settle;
};

}  // namespace

TEST_CASE("attempt batch: one submission, one outcome per attempt in order", "[attempt_batch]") {
  test::temp_dir dir;
  auto log = test::open_log(dir.path().string());
  log_writer writer(*log);
  std::vector<std::function<void()>> scheduled;
  std::vector<settled_call> calls;
  std::promise<void> all;
  http::attempt_batch batch(
      writer, [&](std::function<void()> fn) { scheduled.push_back(std::move(fn)); },
      [&](const http::attempt_batch::tag& t, bool ok, std::uint64_t settle) {
        calls.push_back({t.endpoint_id, t.event_seq, ok, settle});
        if (calls.size() == 3) all.set_value();
      });

  batch.add({attempt_record("ep_a", 7), std::nullopt}, {"ep_a", 7});
  // a type longer than the codec allows: this record alone fails
  batch.add({attempt_record("ep_b", 8, 70'000), std::nullopt}, {"ep_b", 8});
  // an attempt and the endpoint_disabled record it caused
  record d;
  d.kind = record_kind::endpoint_disabled;
  d.tenant = "t";
  d.entity_kind = "endpoint";
  d.entity_id = "ep_c";
  d.body = R"({"by":"dispatcher"})";
  batch.add({attempt_record("ep_c", 9), std::move(d)}, {"ep_c", 9});

  REQUIRE(scheduled.size() == 1);  // one flush for the three attempts
  scheduled[0]();
  batch.flush();  // nothing left: no second submission
  REQUIRE(all.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].endpoint_id == "ep_a");
  CHECK(calls[0].event_seq == 7);
  CHECK(calls[0].ok);
  CHECK(calls[0].settle == 1);
  CHECK(calls[1].endpoint_id == "ep_b");
  CHECK_FALSE(calls[1].ok);
  CHECK(calls[2].endpoint_id == "ep_c");
  CHECK(calls[2].event_seq == 9);
  CHECK(calls[2].ok);
  CHECK(calls[2].settle == 3);  // the later of its two records
  CHECK(writer.stats().groups == 1);

  auto r1 = log->get(1);
  REQUIRE(r1.ok());
  REQUIRE(*r1);
  CHECK((*r1)->entity_id == "ep_a");
  CHECK((*r1)->ref_seq == 7);
  auto r2 = log->get(2);
  REQUIRE(r2.ok());
  REQUIRE(*r2);
  CHECK((*r2)->kind == record_kind::delivery_attempt);
  CHECK((*r2)->entity_id == "ep_c");
  auto r3 = log->get(3);
  REQUIRE(r3.ok());
  REQUIRE(*r3);
  CHECK((*r3)->kind == record_kind::endpoint_disabled);
  CHECK(log->head().seq == 3);

  // The next add() schedules a flush again.
  batch.add({attempt_record("ep_a", 10), std::nullopt}, {"ep_a", 10});
  CHECK(scheduled.size() == 2);
  writer.stop();
}
