// The pending projection with several replays on one endpoint: replays relying on an item another
// queued (pending_relied), cancels, in-flight attempts of dropped items, repeated dead letters.
#include <catch2/catch.hpp>

#include "pending_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
std::uint64_t replay_items(fixture& f, const std::string& rid) {
  auto t = f.read();
  auto n = f.runner->queue().replay_items(t, rid);
  REQUIRE(n);
  return *n;
}
record replay_record(record_kind kind, const std::string& rid, json body) {
  record r;
  r.kind = kind;
  r.tenant = "t";
  r.entity_kind = "replay";
  r.entity_id = rid;
  body["replay_id"] = rid;
  r.body = body.dump();
  return r;
}
record progressed(const std::string& rid, const std::string& ep, std::vector<std::uint64_t> seqs) {
  const auto to = seqs.back();
  return replay_record(record_kind::replay_progressed, rid,
                       {{"endpoint_id", ep}, {"scheduled", std::move(seqs)}, {"scanned_to", to}});
}
record cancelled(const std::string& rid) {
  return replay_record(record_kind::replay_cancelled, rid, json::object());
}
}  // namespace

TEST_CASE("cancelling a replay hands the items another replay relies on over to it") {
  fixture f;
  // Three events before the endpoint (replays queue them), one after (live).
  const auto old = f.append_all({event("t", "order_new"), event("t", "order_new"), event("t", "order_new")});
  const auto e1 = old[0], e2 = old[1], e3 = old[2];
  f.append(create_endpoint("t", "ep", {"*"}));
  auto e4 = f.append(event("t", "order_new"));  // live
  f.append(progressed("rp_a", "ep", {e1, e2, e3}));
  f.append(progressed("rp_b", "ep", {e1, e2, e3, e4}));  // all queued already: B relies on them
  f.sync();
  CHECK(counts(f, "ep").queued == 4);
  CHECK(replay_items(f, "rp_a") == 3);
  CHECK(replay_items(f, "rp_b") == 4);
  f.append(cancelled("rp_a"));
  f.sync();
  // Before: A's items went with A's cancel, B's events were never delivered.
  CHECK(counts(f, "ep").queued == 4);
  for (auto e : {e1, e2, e3}) {
    auto it = find(f, "ep", e);
    REQUIRE(it);
    CHECK(it->replay_id == "rp_b");
    CHECK(it->attempt == 1);
  }
  CHECK(find(f, "ep", e4)->replay_id.empty());
  CHECK(replay_items(f, "rp_a") == 0);
  CHECK(replay_items(f, "rp_b") == 4);
  // An attempt made under A before the cancel, applied after: the item stays B's.
  f.append(attempt("t", "ep", e2, 1, false, 5'000'000, false, 20'000, "rp_a"));
  f.append(attempt("t", "ep", e1, 1, true, std::nullopt, false, 20'000, "rp_b"));
  f.append(attempt("t", "ep", e4, 1, true, std::nullopt));  // the live delivery serves B too
  f.sync();
  CHECK(find(f, "ep", e2)->replay_id == "rp_b");
  CHECK(find(f, "ep", e2)->attempt == 2);
  CHECK(replay_items(f, "rp_b") == 2);
  // Cancelling B now drops what is left; a replay relying on a live item leaves it alone.
  auto e5 = f.append(event("t", "order_new"));
  f.append(progressed("rp_c", "ep", {e5}));
  f.append(cancelled("rp_c"));
  f.append(cancelled("rp_b"));
  f.sync();
  CHECK(counts(f, "ep").queued == 1);
  CHECK(find(f, "ep", e5));
  CHECK(replay_items(f, "rp_b") == 0);
  CHECK(replay_items(f, "rp_c") == 0);

  // A rebuild from the log gives the same state.
  const auto dbs = all_state_dbs(*f.runner);
  const auto before = dump_state(*f.runner, dbs);
  REQUIRE(f.runner->rebuild("pending"));
  CHECK(dump_state(*f.runner, dbs) == before);
}

TEST_CASE("a delivery in flight when its replay was cancelled is not queued again when it fails") {
  fixture f;
  auto e1 = f.append(event("t", "order_new"));
  f.append(create_endpoint("t", "ep", {"*"}));
  f.append(progressed("rp_a", "ep", {e1}));
  f.append(cancelled("rp_a"));
  // The attempt started before the cancel and failed with a next attempt.
  f.append(attempt("t", "ep", e1, 1, false, 5'000'000, false, 20'000, "rp_a"));
  f.sync();
  CHECK_FALSE(find(f, "ep", e1));
  CHECK(counts(f, "ep").queued == 0);
  CHECK(replay_items(f, "rp_a") == 0);
  // Likewise an item dropped with its endpoint.
  f.append(create_endpoint("t", "ep2", {"*"}));
  auto e2 = f.append(event("t", "order_new"));
  f.append(endpoint_record(record_kind::endpoint_deleted, "t", "ep2", {{"reason", "gone"}}));
  f.append(attempt("t", "ep2", e2, 1, false, 5'000'000));
  f.sync();
  CHECK_FALSE(find(f, "ep2", e2));
}

TEST_CASE("a replay dead-lettering an event again does not count a second dead letter") {
  fixture f;
  f.append(create_endpoint("t", "ep", {"*"}));
  auto e1 = f.append(event("t", "order_new"));
  f.append(attempt("t", "ep", e1, 1, false, std::nullopt, true));
  f.sync();
  CHECK(counts(f, "ep").dead == 1);
  for (const char* rid : {"rp_1", "rp_2"}) {
    f.append(progressed(rid, "ep", {e1}));
    f.append(attempt("t", "ep", e1, 1, false, std::nullopt, true, 20'000, rid));
  }
  f.sync();
  CHECK(counts(f, "ep").dead == 1);  // before: 3
  CHECK(counts(f, "ep").queued == 0);
  auto t = f.read();
  auto dl = f.runner->queue().dead_letters(t, "ep", 0, 10);
  REQUIRE(dl);
  REQUIRE(dl->size() == 1);
  CHECK((*dl)[0].replay_id == "rp_2");
}
