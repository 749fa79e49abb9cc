// hooklog rebuild --data DIR [--rebuild-memory MIB] [projection]
// Drops a projection's state (and what it depends on) and rebuilds it from
// sequence 1. The server must be stopped: the command takes the data
// directory's lock.
//
// hooklog rebuild --data DIR --check
// Rebuilds every projection into a temporary state (<data dir>/state.check,
// removed afterwards) and compares it byte for byte with the live state
// (projections/state_compare.hpp). Both are taken to the same seq: the highest
// checkpoint of the live state — the live state's content is left as it is when
// its projections are all at one seq (the normal case, after a clean stop or a
// kill -9); one whose projections are at different seqs is first caught up to
// the highest, as `serve` would on start. Exit 0 when equal, 1 naming the
// projection, database and first differing key (or on an error). Server
// stopped, like every rebuild: a running server keeps appending attempts, and
// its pending projection keeps changing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine/event_log.hpp"
#include "projections/runner.hpp"
#include "projections/state_compare.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {
namespace {

int check(event_log& log, const std::string& dir, const projections::runner_options& ro) {
  auto live = projections::projection_runner::open(log, ro);
  if (!live) {
    std::fprintf(stderr, "hooklog rebuild --check: %s\n", live.err().what().c_str());
    return 1;
  }
  std::uint64_t seq = 0;
  for (const auto& name : (*live)->names())
    seq = std::max(seq, (*live)->checkpoint(name).value_or(0));
  if ((*live)->applied_seq() < seq) {
    if (auto c = (*live)->catch_up(seq); !c) {
      std::fprintf(stderr, "hooklog rebuild --check: catching up the live state: %s\n",
                   c.err().what().c_str());
      return 1;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path tmp = dir + "/state.check";
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  int code = 1;
  {
    projections::runner_options to = ro;
    to.state_dir = tmp.string();
    auto rebuilt = projections::projection_runner::open(log, to);
    if (!rebuilt) {
      std::fprintf(stderr, "hooklog rebuild --check: %s\n", rebuilt.err().what().c_str());
    } else if (auto c = (*rebuilt)->catch_up(seq); !c) {
      std::fprintf(stderr, "hooklog rebuild --check: rebuilding: %s\n", c.err().what().c_str());
    } else {
      projections::compare_totals n;
      auto d =
          projections::first_difference(**live, **rebuilt, &n, "the live state", "the rebuild");
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!d) {
        std::fprintf(stderr, "hooklog rebuild --check: comparing: %s\n", d.err().what().c_str());
      } else if (*d) {
        std::printf(
            "projection %s differs from a rebuild at seq %llu: database %s, key \"%s\": %s\n",
            (*d)->projection.c_str(), static_cast<unsigned long long>(seq), (*d)->database.c_str(),
            projections::printable_key((*d)->key).c_str(), (*d)->what.c_str());
      } else {
        std::printf(
            "projections equal a rebuild at seq %llu: %llu keys (%llu bytes) in %llu databases "
            "(%.2f s)\n",
            static_cast<unsigned long long>(seq), static_cast<unsigned long long>(n.keys),
            static_cast<unsigned long long>(n.bytes), static_cast<unsigned long long>(n.databases),
            s);
        code = 0;
      }
    }
  }
  std::filesystem::remove_all(tmp, ec);
  return code;
}

}  // namespace

int cmd_rebuild(int argc, char** argv) {
  auto app =
      make_app("rebuild",
               "Drops a projection's state and rebuilds it from the log (the server must be\n"
               "stopped). --check rebuilds every projection aside and compares it with the live\n"
               "state: exit 1 naming the first difference.");
  std::string data, name = "all", memory;
  bool check_only = false;
  add_data_flag(*app, data);
  app->add_option("--rebuild-memory", memory,
                  "memory the rebuild stages before it spills sorted runs to "
                  "<data>/state/rebuild-runs/ (512)")
      ->type_name("MIB");
  app->add_option("PROJECTION", name, "subscriptions, timelines, pending, stats or all (default)");
  auto* c = app->add_flag("--check", check_only, "compare the state with a rebuild");
  c->excludes(app->get_option("PROJECTION"));
  if (auto rc = parse(*app, argc, argv)) return *rc;
  projections::runner_options ro;
  if (!memory.empty()) ro.rebuild_memory = rebuild_memory_bytes(memory);
  log_options lo;
  lo.dir = data_dir(data);
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog rebuild: %s\n", log.err().what().c_str());
    return 1;
  }
  ro.state_dir = lo.dir + "/state";
  if (check_only) return check(**log, lo.dir, ro);
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
