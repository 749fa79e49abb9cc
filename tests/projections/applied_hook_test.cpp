// The runner's applied hook (runner.hpp: set_applied_hook) and pending's due_changes()
// (pending.hpp), which the dispatcher uses to skip rounds when nothing it serves changed: the
// hook sees each published applied_seq() in order, is gone once removed, and the counter
// stays put for events no endpoint takes and moves for everything else.
#include <catch2/catch.hpp>

#include <vector>

#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

TEST_CASE("runner: the applied hook sees each published applied_seq, none once removed",
          "[applied_hook]") {
  fixture f(2);                  // batches of 2 records
  f.ropts.bulk_rebuild = false;  // one publish per batch (a bulk load publishes at its end)
  f.open_runner();
  std::vector<std::uint64_t> seen;
  f.runner->set_applied_hook([&](std::uint64_t applied) { seen.push_back(applied); });
  for (int i = 0; i < 5; ++i) f.append(event("t", "x"));
  f.sync();
  CHECK(seen == std::vector<std::uint64_t>{2, 4, 5});
  CHECK(f.runner->applied_seq() == 5);
  f.runner->set_applied_hook({});
  f.append(event("t", "x"));
  f.sync();
  CHECK(f.runner->applied_seq() == 6);
  CHECK(seen.size() == 3);
}

TEST_CASE("pending: due_changes moves for what the dispatcher serves, not for events nobody takes",
          "[applied_hook]") {
  fixture f;
  f.ropts.bulk_rebuild = false;  // (a bulk load's end counts once more: finish_bulk)
  f.open_runner();
  const auto& q = f.runner->queue();
  auto changes = [&] {
    f.sync();
    return q.due_changes();
  };
  const auto c0 = changes();
  f.append(event("t", "order.created"));  // no endpoint at all
  f.append(
      event("t", "order.created", json::object(), "", "", "", "", 0, record_flags::kNoDelivery));
  CHECK(changes() == c0);

  f.append(create_endpoint("t", "ep", {"order.*"}));  // an endpoint record: may change the round
  const auto c1 = changes();
  CHECK(c1 == c0 + 1);
  f.append(event("u", "order.created"));  // another tenant: not matched
  f.append(event("t", "invoice.paid"));   // another type: not matched
  CHECK(changes() == c1);
  const auto seq = f.append(event("t", "order.created"));  // queued for "ep"
  const auto c2 = changes();
  CHECK(c2 == c1 + 1);
  f.append(attempt("t", "ep", seq, 1, true, std::nullopt));  // settled: the round must see it
  CHECK(changes() == c2 + 1);
}
