// Replays in cluster mode, in one process: two replay managers over one log stand for two nodes.
// The one that does not own the endpoint takes the request and the cancellation; the owner
// follows them from the log and runs the replay; the other follows the owner's checkpoints.
#include <catch2/catch.hpp>

#include <future>
#include <set>

#include "engine/record.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "http/delivery/replay_manager.hpp"
#include "http/delivery/work_ownership.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

http::replay_info create(http::replay_manager& m, http::replay_spec spec) {
  std::promise<result<http::replay_info>> p;
  m.create(std::move(spec), [&](result<http::replay_info> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  REQUIRE(r);
  return *r;
}
}  // namespace

TEST_CASE(
    "replay ownership: a replay asked of one node runs on the owner, both see it through the log",
    "[delivery][ownership][replay]") {
  http::owns_everything all;
  http::owns_nothing none;
  http::replay_manager* other_ptr = nullptr;
  http::dispatcher_options o;
  o.ownership = &all;
  // The webhook-id is resolved by the node that did not take the request (from the log if it has
  // not followed the request yet).
  o.replay_webhook_id = [&](std::string_view id, std::uint64_t seq) {
    return other_ptr ? other_ptr->webhook_id(id, seq) : std::string();
  };
  delivery_fixture f(o);
  receiver_proc rcv(f.dir, "r", {});
  f.add_endpoint("ep", {{"url", rcv.url()}, {"secret", kSecret}});
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 5; ++i) seqs.push_back(f.add_event("P" + std::to_string(i), "{}"));
  REQUIRE(eventually([&] { return rcv.lines().size() == 5; }));

  http::replay_options owner_opts, other_opts;
  owner_opts.ownership = &all;
  other_opts.ownership = &none;
  http::replay_manager owner(*f.log, *f.writer, *f.runner, owner_opts);
  http::replay_manager other(*f.log, *f.writer, *f.runner, other_opts);
  other_ptr = &other;
  REQUIRE(owner.load());
  REQUIRE(other.load());
  owner.start();
  other.start();

  http::replay_spec spec;
  spec.endpoint_id = "ep";
  spec.tenant = "t1";
  spec.webhook_ids = "fresh";
  const auto r = create(other, spec);
  REQUIRE(eventually([&] {
    auto g = owner.get(r.id);
    return g && g->state == "finished" && g->delivered == 5;
  }));
  REQUIRE(eventually([&] { return rcv.lines().size() == 10; }));
  std::set<std::string> replayed, expected;
  for (std::size_t i = 5; i < 10; ++i)
    replayed.insert(rcv.lines()[i]["webhook_id"].get<std::string>());
  for (auto s : seqs) expected.insert(http::fresh_webhook_id(r.id, s));
  CHECK(replayed == expected);
  // The node that took the request follows the owner's checkpoints and end.
  REQUIRE(eventually([&] {
    auto g = other.get(r.id);
    return g && g->state == "finished" && g->delivered == 5;
  }));
  auto seen = other.get(r.id);
  CHECK(seen->scheduled == 5);
  CHECK(seen->scanned_to == r.spec.to_seq);
  // Scheduled once: only the owner wrote checkpoints.
  std::size_t scheduled = 0;
  for (auto& rec : f.records_of(record_kind::replay_progressed))
    scheduled += nlohmann::json::parse(rec.body)["scheduled"].size();
  CHECK(scheduled == 5);

  // A cancellation through the node that does not own the endpoint stops the owner's run.
  spec.webhook_ids = "original";
  spec.rate_limit = 1;  // one event a second: still running when the cancellation comes
  const auto slow = create(other, spec);
  REQUIRE(eventually([&] { return owner.get(slow.id).has_value(); }));
  std::promise<result<http::replay_info>> cp;
  other.cancel(slow.id, "changed my mind",
               [&](result<http::replay_info> c) { cp.set_value(std::move(c)); });
  auto cancelled = cp.get_future().get();
  REQUIRE(cancelled);
  CHECK(cancelled->state == "cancelled");
  REQUIRE(eventually([&] { return owner.get(slow.id)->state == "cancelled"; }));
  owner.stop();
  other.stop();
}
