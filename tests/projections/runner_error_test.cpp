// The runner reports a failed batch (a full disk, an LMDB error) until it can write again, then
// clears it (issue 12, item 12: /readyz kept reporting the error after space was freed).
#include <catch2/catch.hpp>

#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

TEST_CASE(
    "runner: a failed batch is retried by the thread and its error cleared once a batch commits") {
  fixture f;
  f.ropts.retry_pause = std::chrono::milliseconds(10);
  f.ropts.idle_wait = std::chrono::milliseconds(10);
  f.open_runner();
  for (int i = 0; i < 30; ++i)
    f.append(event("t", "x", {}, "job", "J" + std::to_string(i % 3), "", "S" + std::to_string(i)));
  // The first batch fails after 10 records (rolled back), as a full disk's commit would.
  f.runner->fail_next_batch_after(10);
  auto failed = f.runner->catch_up(UINT64_MAX, 1);
  REQUIRE_FALSE(failed.ok());
  REQUIRE(f.runner->last_error());
  CHECK(f.runner->last_error()->message == "injected batch failure (test hook)");
  CHECK(f.runner->applied_seq() == 0);

  // The runner thread retries; the batch commits and the error is gone.
  f.runner->start();
  REQUIRE(f.runner->wait_applied(30, std::chrono::seconds(30)));
  CHECK_FALSE(f.runner->last_error());
  CHECK(f.runner->lag() == 0);

  // A failure while following, then records that apply: cleared again.
  f.runner->fail_next_batch_after(0);
  f.append(event("t", "x", {}, "job", "J0", "", "LAST"));
  REQUIRE(f.runner->wait_applied(31, std::chrono::seconds(30)));
  CHECK_FALSE(f.runner->last_error());
  f.runner->stop();
}

TEST_CASE(
    "runner: an error is cleared by a synchronous catch-up that finds nothing left to apply") {
  fixture f;
  f.append(event("t", "x"));
  f.runner->fail_next_batch_after(0);
  REQUIRE_FALSE(f.runner->catch_up().ok());
  REQUIRE(f.runner->last_error());
  REQUIRE(f.runner->catch_up());
  CHECK_FALSE(f.runner->last_error());
  CHECK(f.runner->applied_seq() == 1);
}
