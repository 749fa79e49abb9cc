// hooklog export [--data DIR] [--out FILE] [--from T] [--to T] [--time recorded|occurred]
//                [--type T] [--tenant T] [--source S] [--entity KIND:ID]
// Writes the matching events as NDJSON export lines (engine/backfill.hpp): raw body,
// normalized fields, hashes. Opens the log read-only (safe while the server runs).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "engine/backfill.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

int cmd_export(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help"}, err);
  if (!a || a->has("help")) {
    std::fprintf(a ? stdout : stderr,
                 "%s%susage: hooklog export [--data DIR] [--out FILE] [--from T] [--to T] "
                 "[--time recorded|occurred] [--type T] [--tenant T] [--source S] [--entity KIND:ID]\n",
                 err.c_str(), err.empty() ? "" : "\n");
    return a ? 0 : 2;
  }
  scan_query q;
  std::optional<std::int64_t> from, to;
  if (!time_flag(*a, "from", from) || !time_flag(*a, "to", to)) return 2;
  const std::string time = a->get("time", "recorded");
  if (time != "recorded" && time != "occurred") {
    std::fprintf(stderr, "hooklog export: --time is recorded or occurred\n");
    return 2;
  }
  if (time == "occurred") {
    q.occurred_from = from;
    q.occurred_to = to;
  } else {
    q.recorded_from = from;
    q.recorded_to = to;
  }
  q.type = a->get("type");
  q.tenant = a->get("tenant");
  q.source = a->get("source");
  if (a->has("entity")) {
    const std::string e = a->get("entity");
    const auto colon = e.find(':');
    q.entity_kind = e.substr(0, colon);
    if (colon != std::string::npos) q.entity_id = e.substr(colon + 1);
  }
  log_options lo;
  lo.dir = data_dir(*a);
  lo.read_only = true;
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog export: %s\n", log.err().message.c_str());
    return 2;
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (a->has("out") && a->get("out") != "-") {
    // A new export file is private (0600) like the data directory it comes from;
    // an existing one keeps its mode.
    if (int fd = ::open(a->get("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); fd >= 0)
      ::close(fd);
    file.open(a->get("out"), std::ios::binary | std::ios::trunc);
    if (!file) {
      std::fprintf(stderr, "hooklog export: cannot write %s\n", a->get("out").c_str());
      return 2;
    }
    out = &file;
  }
  auto n = export_events(**log, q, *out);
  out->flush();
  if (!n) {
    std::fprintf(stderr, "hooklog export: %s\n", n.err().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "exported %llu events\n", static_cast<unsigned long long>(*n));
  return 0;
}

}  // namespace hooklog::cli
