// Attempt records gathered into one submission (http/delivery/attempt_batch.hpp), against the
// real log writer: one flush scheduled for several attempts, one outcome per attempt in add()
// order, a record that fails keeping only its own attempt out, and the records in the log in
// add() order.
#include "http/delivery/attempt_batch.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
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

// A batch on a real log writer whose scheduled flushes are kept for the test to run, and whose
// settled() calls are recorded; `all` is set at the `expect`th call.
struct batch_on_writer {
  explicit batch_on_writer(std::size_t expect, std::chrono::microseconds linger = {})
      : log(test::open_log(dir.path().string())),
        writer(*log),
        batch(
            writer, [this](std::function<void()> fn) { scheduled.push_back(std::move(fn)); },
            [this, expect](const http::attempt_batch::tag& t, bool ok, std::uint64_t settle) {
              calls.push_back({t.endpoint_id, t.event_seq, ok, settle});
              if (calls.size() == expect) all.set_value();
            },
            linger) {}
  bool settled_within(std::chrono::seconds d) {
    return all.get_future().wait_for(d) == std::future_status::ready;
  }
  test::temp_dir dir;
  std::unique_ptr<event_log> log;
  log_writer writer;
  std::vector<std::function<void()>> scheduled;
  std::vector<settled_call> calls;
  std::promise<void> all;
  http::attempt_batch batch;
};

}  // namespace

TEST_CASE("attempt batch: one submission, one outcome per attempt in order", "[attempt_batch]") {
  batch_on_writer f(3);
  auto& [dir, log, writer, scheduled, calls, all, batch] = f;

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
  REQUIRE(f.settled_within(std::chrono::seconds(10)));
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

TEST_CASE("attempt batch: with a linger, two passes' submissions share one commit",
          "[attempt_batch]") {
  batch_on_writer f(2, std::chrono::milliseconds(300));
  auto& [dir, log, writer, scheduled, calls, all, batch] = f;
  batch.add({attempt_record("ep_a", 7), std::nullopt}, {"ep_a", 7});
  REQUIRE(scheduled.size() == 1);
  scheduled[0]();  // the first pass's submission: held by the writer
  batch.add({attempt_record("ep_b", 8), std::nullopt}, {"ep_b", 8});
  REQUIRE(scheduled.size() == 2);
  scheduled[1]();  // the second pass's, within the first one's linger
  REQUIRE(f.settled_within(std::chrono::seconds(30)));
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].ok);
  CHECK(calls[0].settle == 1);
  CHECK(calls[1].ok);
  CHECK(calls[1].settle == 2);
  CHECK(writer.stats().groups == 1);
}
