// The runner's batch count (projection_runner::batch_count(), /metrics
// hooklog_projection_batches_total): one per committed batch, catch-ups and rebuilds alike,
// none for a batch that failed.
#include <catch2/catch.hpp>

#include <cstdint>

#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

TEST_CASE("batch_count counts committed batches, not records and not failed batches") {
  fixture f(10);  // batches of at most 10 records
  CHECK(f.runner->batch_count() == 0);
  std::uint64_t last = 0;
  for (int i = 0; i < 35; ++i) last = f.append(event("t", "order_new"));
  f.sync();  // 10 + 10 + 10 + 5
  CHECK(f.runner->applied_seq() == last);
  CHECK(f.runner->batch_count() == 4);
  f.sync();  // nothing left: no batch
  CHECK(f.runner->batch_count() == 4);

  last = f.append(event("t", "order_new"));
  f.runner->fail_next_batch_after(0);
  CHECK_FALSE(f.runner->catch_up());  // rolled back: not counted
  CHECK(f.runner->batch_count() == 4);
  f.sync();
  CHECK(f.runner->applied_seq() == last);
  CHECK(f.runner->batch_count() == 5);

  // A rebuild applies the 36 records again in batches of 10 (its write-out is not a batch).
  REQUIRE(f.runner->rebuild("all"));
  CHECK(f.runner->applied_seq() == last);
  CHECK(f.runner->batch_count() == 9);
}
