// hooklog import [--source S [--tenant T] [--type T]] [--deliver] [--data DIR] FILE...
// Imports historical events straight into a data directory (the server must be
// stopped: the directory's lock tells). With --source, FILE is NDJSON or a JSON array of
// that source's events; without it, FILE is an export (hooklog export), checked line by
// line before it is restored; "-" reads stdin. Idempotent (engine/backfill.hpp). A progress bar
// on a terminal, plain progress lines otherwise; a summary at the end.
// Exit: 0 all stored or duplicate, 1 some refused, 2 usage or the log cannot be opened.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/backfill.hpp"
#include "tools/cli_common.hpp"
#include "hooklog_build_paths.hpp"

namespace hooklog::cli {

int cmd_import(int argc, char** argv) {
  auto app = make_app(
      "import",
      "Imports historical events into a data directory (the server must be stopped: the\n"
      "directory is locked while it runs). With --source, FILE is NDJSON or a JSON array of\n"
      "that source's events; without it, FILE is a hooklog export. - for stdin. Without\n"
      "--deliver the events are never scheduled for delivery (replay them later). Idempotent.\n"
      "Exit 1 when some line was refused.");
  std::string data, sources_dir = std::string(HOOKLOG_DATA_DIR) + "/sources", source, tenant, type;
  bool deliver = false, quiet = false;
  std::vector<std::string> files;
  add_data_flag(*app, data);
  app->add_option("--source", source,
                  "the source every line comes from (a data/sources name); without it, FILE is "
                  "a hooklog export");
  app->add_option("--tenant", tenant,
                  "forces the tenant of every event, whatever its payload names (a tenant's "
                  "backfill never writes into another tenant)");
  app->add_option("--type", type, "the type of events that name none (like ?type= on ingest)");
  app->add_option("--sources", sources_dir, "the source files' directory");
  app->add_flag("--deliver", deliver, "schedule the imported events for delivery");
  app->add_flag("--quiet", quiet, "no progress output");
  app->add_option("FILE", files, "files to import; - reads stdin")->required();
  if (auto rc = parse(*app, argc, argv)) return *rc;
  auto sources = source_registry::load_dir(sources_dir);
  if (!sources) {
    std::fprintf(stderr, "hooklog import: %s\n", sources.err().message.c_str());
    return 2;
  }
  if (source.empty() && (!tenant.empty() || !type.empty())) {
    std::fprintf(stderr, "hooklog import: --tenant and --type apply to events of a --source; an "
                         "export keeps its own\n");
    return 2;
  }
  if (!source.empty() && !sources->has(source)) {
    std::fprintf(stderr, "hooklog import: no source named %s\n", source.c_str());
    return 2;
  }
  std::uint64_t total_bytes = 0;
  for (const auto& f : files) {
    if (f == "-") continue;
    std::error_code ec;
    auto sz = std::filesystem::file_size(f, ec);
    if (ec) {
      std::fprintf(stderr, "hooklog import: cannot read %s: %s\n", f.c_str(), ec.message().c_str());
      return 2;
    }
    total_bytes += sz;
  }
  log_options lo;
  lo.dir = data_dir(data);
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog import: %s%s\n", log.err().message.c_str(),
                 log.err().code == make_error_code(errc::locked)
                     ? " (is the server running? stop it first, or post to the batch ingest route)"
                     : "");
    return 2;
  }
  if (auto cell = (*log)->cluster_cell(); !cell || *cell) {
    std::fprintf(stderr, "hooklog import: %s\n",
                 cell ? ("data directory " + lo.dir + " is a node of cell " + **cell +
                         ": its log is written only from the cell's stream; post to the batch "
                         "ingest route of a node instead")
                            .c_str()
                      : cell.err().message.c_str());
    return 2;
  }
  log_writer writer(**log);
  import_options io;
  io.source = source;
  io.tenant = tenant;
  io.type_hint = type;
  io.deliver = deliver;
  importer imp(writer, &*sources, io);

  const bool tty = isatty(2) && !quiet;
  // Reading stdin, the total is unknown: counts, bytes and the rate, no bar.
  const bool known_total = std::find(files.begin(), files.end(), "-") == files.end();
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  auto show = [&](bool final) {
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - last_print < std::chrono::milliseconds(tty ? 200 : 2000)) return;
    last_print = now;
    const auto c = imp.counts();
    const double secs = std::max(1e-6, std::chrono::duration<double>(now - start).count());
    const double rate = static_cast<double>(c.read) / secs;
    const double frac = total_bytes ? std::min(1.0, static_cast<double>(c.bytes) / static_cast<double>(total_bytes)) : 0;
    const double left = c.bytes && total_bytes ? static_cast<double>(c.read) * (1 - frac) / std::max(frac, 1e-9) : 0;
    const double eta = rate > 0 ? left / rate : 0;
    if (!known_total) {
      const double mb = static_cast<double>(c.bytes) / 1e6;
      if (tty)
        std::fprintf(stderr, "\r%llu done, %.1f MB read, %.0f/s   %s",
                     static_cast<unsigned long long>(c.read), mb, rate, final ? "\n" : "");
      else if (!quiet)
        std::fprintf(stderr, "progress: %llu done, %.1f MB read, %.0f/s\n",
                     static_cast<unsigned long long>(c.read), mb, rate);
    } else if (tty) {
      char bar[31];
      const int filled = static_cast<int>(frac * 30);
      for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '.';
      bar[30] = 0;
      std::fprintf(stderr, "\r[%s] %3.0f%% %llu done, ~%.0f left, %.0f/s, %.0fs to go   ", bar, frac * 100,
                   static_cast<unsigned long long>(c.read), left, rate, eta);
      if (final) std::fprintf(stderr, "\n");
    } else if (!quiet) {
      std::fprintf(stderr, "progress: %llu done, ~%.0f left, %.0f/s, %.0fs to go\n",
                   static_cast<unsigned long long>(c.read), left, rate, eta);
    }
  };
  for (const auto& f : files) {
    if (f == "-") {
      imp.add(std::cin, "-", [&] { show(false); });
      continue;
    }
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "hooklog import: cannot open %s\n", f.c_str());
      return 2;
    }
    imp.add(in, f, [&] { show(false); });
  }
  imp.finish();
  writer.stop();
  show(true);
  const auto c = imp.counts();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("imported: %llu stored, %llu duplicate, %llu refused (%llu read in %.2fs)\n",
              static_cast<unsigned long long>(c.stored), static_cast<unsigned long long>(c.duplicate),
              static_cast<unsigned long long>(c.refused), static_cast<unsigned long long>(c.read), secs);
  for (const auto& r : imp.refusals())
    std::printf("refused: %s:%zu: %s\n", r.input.c_str(), r.line, r.message.c_str());
  return c.refused ? 1 : 0;
}

}  // namespace hooklog::cli
