// hooklog rebuild --data DIR [projection]
// Drops a projection's state (and what it depends on) and rebuilds it from
// sequence 1. The server must be stopped: the command takes the data
// directory's lock.
#include <chrono>
#include <cstdio>

#include "engine/event_log.hpp"
#include "projections/runner.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

int cmd_rebuild(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help"}, err);
  if (!a || a->has("help") || a->positional.size() > 1) {
    std::fprintf(a && a->has("help") ? stdout : stderr,
                 "usage: hooklog rebuild --data DIR [subscriptions|timelines|pending|stats|all]\n");
    return a && a->has("help") ? 0 : 2;
  }
  const std::string name = a->positional.empty() ? "all" : a->positional[0];
  log_options lo;
  lo.dir = data_dir(*a);
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog rebuild: %s\n", log.err().what().c_str());
    return 1;
  }
  projections::runner_options ro;
  ro.state_dir = lo.dir + "/state";
  auto runner = projections::projection_runner::open(**log, ro);
  if (!runner) {
    std::fprintf(stderr, "hooklog rebuild: %s\n", runner.err().what().c_str());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  if (auto r = (*runner)->rebuild(name); !r) {
    std::fprintf(stderr, "hooklog rebuild: %s\n", r.err().what().c_str());
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto n = (*log)->committed_seq();
  std::printf("rebuilt %s from %llu records in %.2f s (%.0f records/s)\n", name.c_str(),
              static_cast<unsigned long long>(n), s, s > 0 ? static_cast<double>(n) / s : 0.0);
  return 0;
}

}  // namespace hooklog::cli
