// Replay scan rate and import rate, each beside its limit measured in the same run:
//   * replay scan (events examined and scheduled per second by scan_replay_chunk, the
//     replay worker's code, in 1,000-event chunks) over a log of --events events,
//     beside a raw cursor scan (event_log::for_each) of the same log;
//   * import (engine/backfill.hpp: normalize + idempotency + group commit, fsync on)
//     of an NDJSON file of --import events, beside the raw group-commit rate of the
//     same records, already built, through the same log_writer.
// usage: hooklog-bench-replay [--dir DIR] [--events N] [--import N]   (--import 0: replay only)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_result.hpp"
#include "engine/backfill.hpp"
#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"
#include "hooklog_build_paths.hpp"
#include "http/delivery/replay_manager.hpp"

using namespace hooklog;
using clk = std::chrono::steady_clock;

namespace {

double secs_since(clk::time_point t) {
  return std::chrono::duration<double>(clk::now() - t).count();
}

std::string body_for(std::uint64_t i) {
  return nlohmann::json{
      {"id", "bench_" + std::to_string(i)},
      {"type", i % 4 == 0 ? "invoice.paid" : "invoice.created"},
      {"timestamp", "2024-05-01T12:00:00Z"},
      {"tenant", "acme"},
      {"entity", {{"kind", "invoice"}, {"id", "INV-" + std::to_string(i % 1000)}}},
      {"data", {{"n", i}, {"amount", 1250}, {"currency", "EUR"}}}}
      .dump();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = (std::filesystem::temp_directory_path() / "hooklog-bench-replay").string();
  std::uint64_t events = 1'000'000, imports = 200'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--dir")
      dir = argv[i + 1];
    else if (k == "--events")
      events = std::stoull(argv[i + 1]);
    else if (k == "--import")
      imports = std::stoull(argv[i + 1]);
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // 1. A log of `events` events (fsync off: only the scans are measured here).
  {
    log_options lo;
    lo.dir = dir + "/scan";
    lo.sync = false;
    auto log = event_log::open(lo);
    if (!log) return std::fprintf(stderr, "%s\n", log.err().what().c_str()), 1;
    const auto t0 = clk::now();
    std::vector<record> batch;
    for (std::uint64_t i = 0; i < events; ++i) {
      record r;
      r.kind = record_kind::event_received;
      r.tenant = "acme";
      r.source = "standard";
      r.type = i % 4 == 0 ? "invoice.paid" : "invoice.created";
      r.entity_kind = "invoice";
      r.entity_id = "INV-" + std::to_string(i % 1000);
      r.body = body_for(i);
      batch.push_back(std::move(r));
      if (batch.size() == 20000 || i + 1 == events) {
        (*log)->append(batch);
        batch.clear();
      }
    }
    std::printf("log built: %llu events in %.1fs\n", static_cast<unsigned long long>(events),
                secs_since(t0));

    for (int round = 0; round < 2; ++round) {  // the first round warms the page cache
      auto t1 = clk::now();
      std::uint64_t raw = 0;
      auto rs = (*log)->for_each(1, UINT64_MAX, [&](const record_view&) {
        ++raw;
        return true;
      });
      if (!rs) return std::fprintf(stderr, "%s\n", rs.err().what().c_str()), 1;
      const double raw_s = secs_since(t1);

      projections::endpoint ep;
      ep.id = "ep_bench";
      ep.tenant = "acme";
      ep.events = {*projections::parse_type_pattern("*", "events")};
      http::replay_spec spec;
      spec.endpoint_id = ep.id;
      spec.tenant = "acme";
      spec.to_seq = (*log)->committed_seq();
      auto t2 = clk::now();
      std::uint64_t examined = 0, scheduled = 0, chunks = 0, next = 1;
      for (;;) {
        auto c = http::scan_replay_chunk(**log, spec, ep, next, 1000, 50'000);
        if (!c) return std::fprintf(stderr, "%s\n", c.err().what().c_str()), 1;
        examined += c->examined;
        scheduled += c->scheduled.size();
        ++chunks;
        next = c->scanned_to + 1;
        if (c->done) break;
      }
      const double rep_s = secs_since(t2);
      if (round == 0) continue;
      std::printf("raw cursor scan:  %10.0f records/s (%llu in %.2fs)\n", raw / raw_s,
                  static_cast<unsigned long long>(raw), raw_s);
      std::printf(
          "replay scan:      %10.0f events examined/s, %.0f scheduled/s (%llu chunks of <=1000, "
          "%.2fs)"
          "  = %.2f x raw\n",
          examined / rep_s, scheduled / rep_s, static_cast<unsigned long long>(chunks), rep_s,
          (examined / rep_s) / (raw / raw_s));
      bench::print({"replay_scan", "replay scan, mode all", examined / rep_s, "events/s",
                    raw / raw_s, "cursor scan of the same log, for_each: decode + checksum",
                    ">= 500000", examined / rep_s >= 500'000});

      // Mode "missing" on a tenth: the same scan plus an attempt lookup per event.
      spec.mode = "missing";
      spec.to_seq = std::min<std::uint64_t>(spec.to_seq, events / 10);
      auto t3 = clk::now();
      std::uint64_t ex2 = 0;
      next = 1;
      for (;;) {
        auto c = http::scan_replay_chunk(**log, spec, ep, next, 1000, 50'000);
        if (!c) return 1;
        ex2 += c->examined;
        next = c->scanned_to + 1;
        if (c->done) break;
      }
      const double missing_rate = ex2 / secs_since(t3);
      std::printf("replay scan (missing mode, attempt lookup per event): %10.0f events/s\n",
                  missing_rate);
      bench::print({"replay_scan_missing", "replay scan, mode missing (a tenth of the log)",
                    missing_rate, "events/s"});
    }
  }

  // 2. Import from a file, fsync on, beside raw group commits of the same records (--import 0
  // leaves it out: no import figure is printed).
  if (imports == 0) {
    std::filesystem::remove_all(dir);
    return 0;
  }
  const std::string file = dir + "/import.ndjson";
  {
    std::ofstream f(file, std::ios::binary);
    for (std::uint64_t i = 0; i < imports; ++i) f << body_for(i) << '\n';
  }
  auto sources = source_registry::load_dir(std::string(HOOKLOG_DATA_DIR) + "/sources");
  if (!sources) return std::fprintf(stderr, "%s\n", sources.err().what().c_str()), 1;
  double import_rate = 0, raw_rate = 0;
  {
    log_options lo;
    lo.dir = dir + "/import";
    auto log = event_log::open(lo);
    if (!log) return 1;
    log_writer w(**log);
    import_options io;
    io.source = "standard";
    importer imp(w, &*sources, io);
    std::ifstream in(file, std::ios::binary);
    const auto t0 = clk::now();
    imp.add(in, file);
    imp.finish();
    const double s = secs_since(t0);
    auto c = imp.counts();
    import_rate = c.stored / s;
    std::printf("import:           %10.0f events/s (%llu stored, %llu refused, %.2fs, fsync on)\n",
                import_rate, static_cast<unsigned long long>(c.stored),
                static_cast<unsigned long long>(c.refused), s);
    w.stop();
  }
  {
    log_options lo;
    lo.dir = dir + "/raw";
    auto log = event_log::open(lo);
    if (!log) return 1;
    log_writer w(**log);
    // The same records, normalized beforehand: only the group commits are timed.
    std::vector<std::vector<record>> chunks;
    std::vector<record> cur;
    std::ifstream in(file, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      ingest_input ii;
      ii.source = "standard";
      ii.body = line;
      auto ev = sources->normalize(ii);
      if (!ev) continue;
      cur.push_back(source_registry::to_record(*ev, line));
      if (cur.size() == 4096) chunks.push_back(std::move(cur)), cur.clear();
    }
    if (!cur.empty()) chunks.push_back(std::move(cur));
    const auto t0 = clk::now();
    std::vector<std::future<log_writer::outcomes>> fl;
    for (auto& ch : chunks) {
      fl.push_back(w.submit(std::move(ch)));
      if (fl.size() >= 4) {
        fl.front().get();
        fl.erase(fl.begin());
      }
    }
    for (auto& f : fl) f.get();
    const double s = secs_since(t0);
    raw_rate = imports / s;
    std::printf("raw group commit: %10.0f records/s (same records, 4096 per submit, fsync on)\n",
                raw_rate);
    w.stop();
  }
  std::printf("import / raw group commit = %.2f\n", import_rate / raw_rate);
  bench::print({"import", "hooklog import of NDJSON, fsync on", import_rate, "events/s", raw_rate,
                "raw group commits of the same records", ">= 150000", import_rate >= 150'000});
  std::filesystem::remove_all(dir);
  return 0;
}
