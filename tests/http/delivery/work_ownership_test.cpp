// Work ownership seen from the dispatcher: only owned endpoints are served, a newly owned
// endpoint's due items start on the change notification, a lost endpoint gets no new attempt
// (the one in flight finishes and is counted).
#include <catch2/catch.hpp>

#include <mutex>
#include <set>

#include "engine/record.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "http/delivery/work_ownership.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// An owner whose set the test changes: add() notifies (like a lease taken), drop() does not
// (like a lease that fenced itself by the clock).
class set_owner final : public http::work_ownership {
 public:
  explicit set_owner(std::set<std::string> ids) : ids_(std::move(ids)) {}
  bool owns(std::string_view id) const override {
    std::lock_guard lk(mu_);
    return ids_.count(std::string(id)) > 0;
  }
  void on_change(std::function<void()> fn) override {
    std::lock_guard lk(mu_);
    fns_.push_back(std::move(fn));
  }
  void add(const std::string& id) {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard lk(mu_);
      ids_.insert(id);
      fns = fns_;
    }
    for (auto& f : fns) f();
  }
  void drop(const std::string& id) {
    std::lock_guard lk(mu_);
    ids_.erase(id);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> ids_;
  std::vector<std::function<void()>> fns_;
};

std::set<std::string> webhook_ids(const receiver_proc& r) {
  std::set<std::string> out;
  for (auto& l : r.lines()) out.insert(l["webhook_id"].get<std::string>());
  return out;
}
}  // namespace

TEST_CASE(
    "delivery ownership: only owned endpoints are served, a newly owned one starts on the "
    "notification",
    "[delivery][ownership]") {
  set_owner owner({"mine"});
  http::dispatcher_options o;
  o.ownership = &owner;
  delivery_fixture f(o);
  receiver_proc mine(f.dir, "mine", {});
  receiver_proc other(f.dir, "other", {});
  f.add_endpoint("mine", {{"url", mine.url()}, {"secret", kSecret}});
  f.add_endpoint("other", {{"url", other.url()}, {"secret", kSecret}});
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.insert(event_id_for(f.add_event("O" + std::to_string(i), "{}")));
  REQUIRE(eventually([&] { return f.attempts("mine").size() == 3; }));
  REQUIRE(eventually([&] { return f.runner->applied_seq() == f.log->committed_seq(); }));
  CHECK(webhook_ids(mine) == ids);
  CHECK(f.attempts("other").empty());
  CHECK(other.lines().empty());
  CHECK(f.disp->stats().unowned_endpoints == 1);

  // Taken over: the due items of "other" come from the pending projection, same webhook-ids.
  owner.add("other");
  REQUIRE(eventually([&] { return f.attempts("other").size() == 3; }));
  CHECK(webhook_ids(other) == ids);
  CHECK(f.disp->stats().unowned_endpoints == 0);
  CHECK(f.disp->stats().finished_unowned == 0);
}

TEST_CASE(
    "delivery ownership: a lost endpoint gets no new attempt, the one in flight finishes and is "
    "counted",
    "[delivery][ownership]") {
  set_owner owner({"ep"});
  http::dispatcher_options o;
  o.ownership = &owner;
  delivery_fixture f(o);
  receiver_proc slow(f.dir, "slow", {"--delay-ms", "600"});
  f.add_endpoint("ep", {{"url", slow.url()}, {"secret", kSecret}, {"max_in_flight", 1}});
  for (int i = 0; i < 3; ++i) f.add_event("L" + std::to_string(i), "{}");
  REQUIRE(eventually([&] { return f.disp->stats().in_flight == 1; }));
  owner.drop("ep");  // no notification: the dispatcher must ask before each attempt
  REQUIRE(eventually([&] { return f.attempts("ep").size() == 1; }));
  CHECK(f.disp->stats().finished_unowned == 1);
  // More work arrives and is applied (a new round runs): still nothing is sent.
  const auto rounds = f.disp->stats().rounds;
  f.add_event("L3", "{}");
  REQUIRE(eventually(
      [&] { return f.disp->stats().rounds > rounds && f.disp->stats().in_flight == 0; }));
  REQUIRE(eventually([&] { return f.runner->applied_seq() == f.log->committed_seq(); }));
  CHECK(f.attempts("ep").size() == 1);
  CHECK(slow.lines().size() == 1);
  CHECK(f.disp->stats().sent == 1);
}

TEST_CASE("delivery ownership: owns_everything serves every endpoint", "[delivery][ownership]") {
  http::owns_everything all;
  http::dispatcher_options o;
  o.ownership = &all;
  delivery_fixture f(o);
  receiver_proc a(f.dir, "a", {});
  receiver_proc b(f.dir, "b", {});
  f.add_endpoint("a", {{"url", a.url()}, {"secret", kSecret}});
  f.add_endpoint("b", {{"url", b.url()}, {"secret", kSecret}});
  f.add_event("E", "{}");
  REQUIRE(eventually([&] { return f.attempts("a").size() == 1 && f.attempts("b").size() == 1; }));
  CHECK(f.disp->stats().unowned_endpoints == 0);
}
