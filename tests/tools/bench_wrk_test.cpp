// The benchmarks' reading of wrk's summary (tools/bench_wrk.hpp): every figure the ingest and
// delivery benchmarks set beside their own comes from these numbers.
#include <catch2/catch.hpp>
#include <cmath>

#include "tools/bench_wrk.hpp"

using namespace hooklog::bench;

namespace {

// What wrk 4.1.0 prints for `wrk --latency -t2 -c64 -d5s URL` with errors and non-2xx answers.
const char* kOutput =
    "Running 5s test @ http://127.0.0.1:8080/healthz\n"
    "  2 threads and 64 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency     1.05ms  661.00us  20.00ms   90.00%\n"
    "    Req/Sec    30.00k     2.00k   35.00k    70.00%\n"
    "  Latency Distribution\n"
    "     50%  661.00us\n"
    "     75%    1.05ms\n"
    "     90%    2.00ms\n"
    "     99%    1.50s\n"
    "  300000 requests in 5.00s, 40.00MB read\n"
    "  Socket errors: connect 1, read 3, write 4, timeout 2\n"
    "  Non-2xx or 3xx responses: 17\n"
    "Requests/sec:  59999.50\n"
    "Transfer/sec:      8.00MB\n";

}  // namespace

TEST_CASE("bench wrk: the summary's counts, rate, errors and percentiles") {
  const wrk_output w = parse_wrk(kOutput);
  CHECK(w.ok);
  CHECK(w.requests == 300000);
  CHECK(w.duration_s == Approx(5.0));
  CHECK(w.rps == Approx(59999.5));
  CHECK(w.non2xx == 17);
  CHECK(w.answered_ok() == 299983);
  CHECK(w.err_connect == 1);
  CHECK(w.err_read == 3);
  CHECK(w.err_write == 4);
  CHECK(w.err_timeout == 2);
  CHECK(w.socket_errors() == 10);
  REQUIRE(w.pct_us.size() == 4);
  CHECK(w.pct_us.at(50) == Approx(661.0));
  CHECK(w.pct_us.at(75) == Approx(1050.0));
  CHECK(w.pct_us.at(90) == Approx(2000.0));
  CHECK(w.pct_us.at(99) == Approx(1.5e6));
  CHECK(w.raw == kOutput);
}

TEST_CASE("bench wrk: an output without a count or a rate is not ok") {
  CHECK_FALSE(parse_wrk("").ok);
  CHECK_FALSE(parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n").ok);
  // The "Thread Stats" latency line is not the distribution: no percentiles from it.
  const wrk_output w = parse_wrk(
      "    Latency     1.05ms  661.00us  20.00ms   90.00%\n"
      "  10 requests in 1.00m, 1.00KB read\n");
  CHECK_FALSE(w.ok);
  CHECK(w.requests == 10);
  CHECK(w.duration_s == Approx(60.0));
  CHECK(w.pct_us.empty());
  CHECK(std::isnan(parse_time_us("3.00days")));
  CHECK(parse_time_us("2.00h") == Approx(7.2e9));
}

TEST_CASE("bench wrk: shell_quote keeps a word whole through /bin/sh") {
  for (const std::string s : {"plain", "it's", "a b  c", "$HOME `id` \"q\" \\n", "''"}) {
    CHECK(run_command("printf %s " + shell_quote(s)) == s);
  }
  CHECK(run_command("printf 'a\\nb'") == "a\nb");
}
