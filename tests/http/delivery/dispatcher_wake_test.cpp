// What wakes the dispatcher thread (dispatcher.hpp, "No polling"): the runner's applied hook
// pokes it only when pending's due_changes() moved or a claim waits to settle. The dispatcher's
// own timed wake-up is set to 30 s here (stop_check), so a wake-up that is skipped when it was
// needed shows as a delivery that never comes within the test's 8 s.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "engine/record.hpp"
#include "http/delivery/delivery_fixture.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

http::dispatcher_options slow_ticks() {
  http::dispatcher_options o;
  o.stop_check = std::chrono::seconds(30);
  return o;
}
}  // namespace

TEST_CASE("dispatcher wake-up: events no endpoint takes start no round",
          "[delivery][dispatcher_wake]") {
  delivery_fixture f(slow_ticks());
  REQUIRE(eventually([&] { return f.disp->stats().rounds >= 1; }));  // the first round
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto rounds = f.disp->stats().rounds;
  std::uint64_t last = 0;
  for (int i = 0; i < 40; ++i) last = f.add_event("O" + std::to_string(i), "{}");  // 40 commits
  REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(f.disp->stats().rounds == rounds);  // the watcher thread made one per applied batch

  // An endpoint record and a matched event do wake it: delivered long before the 30 s tick.
  receiver_proc r(f.dir, "r", {});
  f.add_endpoint("ep", {{"url", r.url()}, {"secret", kSecret}});
  f.add_event("P", "{\"n\":1}");
  CHECK(eventually([&] { return f.attempts("ep").size() == 1; }, std::chrono::seconds(8)));
  CHECK(f.disp->stats().rounds > rounds);
  CHECK(r.lines().size() == 1);
}

TEST_CASE("dispatcher wake-up: claims settle and free their items without the timed wake-up",
          "[delivery][dispatcher_wake]") {
  // max_in_flight 2 and one entity: every next event waits for the one before to be recorded
  // and applied (ordering "entity"), so each of the 30 needs the applied hook's wake-up.
  delivery_fixture f(slow_ticks());
  receiver_proc r(f.dir, "r", {});
  f.add_endpoint(
      "ep", {{"url", r.url()}, {"secret", kSecret}, {"max_in_flight", 2}, {"ordering", "entity"}});
  for (int i = 0; i < 30; ++i) f.add_event("same", "{\"n\":" + std::to_string(i) + "}");
  REQUIRE(eventually([&] { return f.attempts("ep").size() == 30; }, std::chrono::seconds(8)));
  auto lines = r.lines();
  REQUIRE(lines.size() == 30);
  for (std::size_t i = 0; i < lines.size(); ++i)  // in event order, each once
    CHECK(nlohmann::json::parse(lines[i]["body"].get<std::string>())["n"] == static_cast<int>(i));
}
