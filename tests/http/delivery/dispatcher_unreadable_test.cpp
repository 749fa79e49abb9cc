// An event the dispatcher cannot read (dispatcher.cpp, launch(): "cannot be read"): its attempt is
// recorded as a failure naming the event and the log's error, and its attempt context is handed
// back at once (the early finish() path); the readable event due with it goes out whole.
#include <catch2/catch.hpp>

#include <string>

#include "engine/log_test_util.hpp"
#include "engine/record.hpp"
#include "http/delivery/delivery_fixture.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
}  // namespace

TEST_CASE("dispatcher: an unreadable event is recorded as a failed attempt, the next one delivered",
          "[delivery][dispatcher_unreadable]") {
  delivery_fixture f;
  // No dispatcher while the items are made and the first event is damaged.
  f.disp->stop();
  f.disp.reset();
  receiver_proc r(f.dir, "r", {});
  f.add_endpoint("ep", {{"url", r.url()}, {"secret", kSecret}});
  const auto bad = f.add_event("A", "{\"n\":1}");
  const auto good = f.add_event("B", "{\"n\":2}");
  REQUIRE(f.runner->wait_applied(good, std::chrono::seconds(10)));
  damage_record(*f.log, bad);

  f.disp = std::make_unique<http::dispatcher>(*f.log, *f.writer, *f.runner, f.dopts);
  f.disp->start();
  // The attempts, read from after the damaged record (a walk over it stops at its error).
  auto attempts = [&] {
    std::vector<nlohmann::json> out;
    auto n = f.log->for_each(good + 1, UINT64_MAX, [&](const record_view& v) {
      if (v.kind == record_kind::delivery_attempt) out.push_back(nlohmann::json::parse(v.body));
      return true;
    });
    REQUIRE(n);
    return out;
  };
  REQUIRE(eventually([&] { return attempts().size() == 2; }, std::chrono::seconds(8)));
  const auto got = attempts();
  const nlohmann::json* failed = nullptr;
  const nlohmann::json* sent = nullptr;
  for (const auto& a : got) (a["event_seq"] == bad ? failed : sent) = &a;
  REQUIRE(failed != nullptr);
  REQUIRE(sent != nullptr);
  CHECK((*failed)["outcome"] == "failure");
  CHECK((*failed)["status"] == 0);
  const std::string error = (*failed)["error"];
  CHECK(error.rfind("protocol: event " + std::to_string(bad) + " cannot be read: ", 0) == 0);
  CHECK((*failed)["next_attempt_at"].is_number());  // retried later, not dead
  CHECK((*sent)["event_seq"] == good);
  CHECK((*sent)["outcome"] == "success");
  // The receiver got the readable event only, whole.
  auto lines = r.lines();
  REQUIRE(lines.size() == 1);
  CHECK(nlohmann::json::parse(lines[0]["body"].get<std::string>())["n"] == 2);
}
