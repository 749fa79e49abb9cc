// Durable appends per second of 1 KiB events through the group-commit writer,
// with 1, 64 and 1,000 appends in flight, each beside two loops run in the same
// process that commit batches of exactly the sizes the writer formed (one fsync per
// commit): event_log::append of the same records from one thread (the same work
// per record: index keys, chain hash, Merkle leaves; no writer thread, no hand-off),
// which is the writer's limit (goal >= 0.8), and a raw LMDB loop putting values of
// the same size under one key each (what a commit of those bytes costs; no goal:
// the ratio shows the log's own work per record). Prints figures, limits, ratios.
//
// usage: hooklog-bench-log-writer [--dir DIR] [--seconds S] [--inflight 1,64,1000]
#include <lmdb.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "bench_result.hpp"
#include "engine/bytes.hpp"
#include "engine/lmdb.hpp"
#include "engine/log_writer.hpp"

using namespace hooklog;
using clk = std::chrono::steady_clock;

namespace {

record make_record(std::uint64_t i, const std::string& body) {
  record r;
  r.kind = record_kind::event_received;
  r.tenant = "tenant-" + std::to_string(i % 5);
  r.source = "standard";
  r.type = "order.updated";
  r.entity_kind = "order";
  r.entity_id = "ord-" + std::to_string(i % 10);
  r.body = body;
  return r;
}

struct writer_result {
  double rate;
  std::vector<std::uint32_t> groups;
  std::uint64_t appended;
};

// A fresh log in `dir` (removed first); exits on failure.
std::unique_ptr<event_log> open_log(const std::string& dir) {
  std::filesystem::remove_all(dir);
  log_options o;
  o.dir = dir;
  o.initial_map_size = 1ull << 30;
  auto log = event_log::open(o);
  if (!log) {
    std::fprintf(stderr, "open: %s\n", log.err().message.c_str());
    std::exit(1);
  }
  return std::move(*log);
}

writer_result run_writer(const std::string& dir, int inflight, double seconds,
                         const std::string& body) {
  auto log = open_log(dir);
  log_writer writer(*log);
  std::atomic<std::uint64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;
  int active = inflight;
  std::function<void()> launch;
  launch = [&] {
    const std::uint64_t i = next++;
    std::vector<record> one{make_record(i, body)};
    writer.submit(std::move(one), [&](log_writer::outcomes&& out) {
      if (!out[0]) {
        std::fprintf(stderr, "append failed: %s\n", out[0].err().message.c_str());
        std::exit(1);
      }
      done++;
      if (!stop.load()) {
        launch();
      } else {
        std::lock_guard g(m);
        if (--active == 0) cv.notify_all();
      }
    });
  };
  writer.take_group_sizes();
  const auto start = clk::now();
  for (int i = 0; i < inflight; ++i) launch();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  {
    std::unique_lock g(m);
    cv.wait(g, [&] { return active == 0; });
  }
  const double elapsed = std::chrono::duration<double>(clk::now() - start).count();
  writer_result res{static_cast<double>(done.load()) / elapsed, writer.take_group_sizes(),
                    done.load()};
  const auto st = writer.stats();
  std::fprintf(stderr,
               "  [writer: %llu groups, %.0f us mean in append per group, %.0f us/group overall]\n",
               (unsigned long long)st.groups, (double)st.commit_micros_total / (double)st.groups,
               elapsed * 1e6 / (double)st.groups);
  writer.stop();
  return res;
}

// The writer's limit: event_log::append of the same records from this thread, batched exactly as
// the writer did.
double run_append_loop(const std::string& dir, const std::vector<std::uint32_t>& groups,
                       const std::string& body) {
  auto log = open_log(dir);
  std::uint64_t i = 0, n = 0;
  std::vector<record> batch;
  const auto start = clk::now();
  for (std::uint32_t g : groups) {
    batch.clear();
    for (std::uint32_t k = 0; k < g; ++k) batch.push_back(make_record(i++, body));
    for (const auto& r : log->append(batch))
      if (!r) {
        std::fprintf(stderr, "append failed: %s\n", r.err().message.c_str());
        std::exit(1);
      }
    n += g;
  }
  const double elapsed = std::chrono::duration<double>(clk::now() - start).count();
  return static_cast<double>(n) / elapsed;
}

// Plain LMDB puts of the same size, batched exactly as the writer did.
double run_raw(const std::string& dir, const std::vector<std::uint32_t>& groups,
               const std::string& body) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto env = lmdb::env::open(dir, MDB_NOTLS, 1ull << 30, 4);
  if (!env) {
    std::fprintf(stderr, "%s\n", env.err().message.c_str());
    std::exit(1);
  }
  lmdb::dbi d;
  {
    auto t = lmdb::txn::begin(*env, false);
    d = *lmdb::dbi::open(*t, "records", MDB_CREATE);
    (void)t->commit();
  }
  // A value of the size the log writes for one record (80-byte prefix + fields + body).
  const std::string value(body.size() + 160, 'v');
  std::uint64_t seq = 0, n = 0;
  const auto start = clk::now();
  for (std::uint32_t g : groups) {
    auto t = lmdb::txn::begin(*env, false);
    for (std::uint32_t i = 0; i < g; ++i) (void)d.put(*t, bytes::be64(++seq), value, MDB_APPEND);
    if (!t->commit()) std::exit(1);
    n += g;
  }
  const double elapsed = std::chrono::duration<double>(clk::now() - start).count();
  return static_cast<double>(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = (std::filesystem::temp_directory_path() / "hooklog-bench-writer").string();
  double seconds = 3;
  std::vector<int> inflights{1, 64, 1000};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--seconds"))
      seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--inflight")) {
      inflights.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string x; std::getline(ss, x, ',');) inflights.push_back(std::stoi(x));
    }
  }
  const std::string body(1024, 'x');
  std::printf(
      "# durable 1 KiB appends/s: group-commit writer vs event_log::append and a raw LMDB loop, "
      "both with the same batches\n");
  std::printf("%-10s %12s %14s %6s %12s %6s %11s %10s\n", "in_flight", "writer/s", "append_loop/s",
              "ratio", "raw_loop/s", "ratio", "mean_group", "goal");
  bool all_ok = true;
  std::vector<bench::result> results;
  for (int inflight : inflights) {
    auto w = run_writer(dir + "/log", inflight, seconds, body);
    const double loop = run_append_loop(dir + "/loop", w.groups, body);
    const double raw = run_raw(dir + "/raw", w.groups, body);
    double mean = 0;
    for (auto g : w.groups) mean += g;
    mean = w.groups.empty() ? 0 : mean / static_cast<double>(w.groups.size());
    const double ratio = w.rate / loop;
    const bool ok = ratio >= 0.8 && (inflight != 1000 || w.rate >= 200000);
    all_ok &= ok;
    std::printf("%-10d %12.0f %14.0f %6.2f %12.0f %6.2f %11.1f %10s\n", inflight, w.rate, loop,
                ratio, raw, w.rate / raw, mean, inflight == 1000 ? ">=0.8,200k" : ">=0.8");
    const std::string what = "group-commit writer, " + std::to_string(inflight) + " in flight";
    results.push_back({"log_writer_" + std::to_string(inflight), what, w.rate, "appends/s", loop,
                       "event_log::append loop, same records, same groups",
                       inflight == 1000 ? ">= 0.8 of limit and >= 200000" : ">= 0.8 of limit", ok});
    results.push_back({"log_writer_raw_" + std::to_string(inflight), what, w.rate, "appends/s", raw,
                       "raw LMDB loop, same value size, same groups"});
  }
  for (const auto& r : results) bench::print(r);
  std::filesystem::remove_all(dir);
  std::printf("# %s\n", all_ok ? "all goals met" : "some goals missed");
  return 0;
}
