// The hooklog command: `hooklog <subcommand> [flags]`.
#include <cstdio>
#include <cstring>
#include <string>

#include "hooklog_build_paths.hpp"
#include "tools/cli_common.hpp"

namespace {

struct command {
  const char* name;
  int (*fn)(int, char**);
  const char* help;
};

const command kCommands[] = {
    {"serve", hooklog::cli::cmd_serve, "run the HTTP server (hooklog serve --help)"},
    {"rebuild", hooklog::cli::cmd_rebuild, "rebuild projections from the log (server stopped)"},
    {"verify", hooklog::cli::cmd_verify, "check the log's checksums and hash chain"},
    {"import", hooklog::cli::cmd_import, "import historical events (NDJSON, JSON arrays, exports)"},
    {"export", hooklog::cli::cmd_export, "write a range of events as NDJSON (read-only)"},
    {"proof", hooklog::cli::cmd_proof, "check an audit bundle, or that a tree head extends another"},
    {"replay", hooklog::cli::cmd_replay, "start a replay on a running server"},
    {"replays", hooklog::cli::cmd_replays, "list, show or cancel replays on a running server"},
    {"tail", hooklog::cli::cmd_tail, "follow the log live, filtered (read-only)"},
    {"timeline", hooklog::cli::cmd_timeline,
     "an entity's status changes, as the API shows them (read-only)"},
    {"stats", hooklog::cli::cmd_stats, "counts of records, events by type, the head (read-only)"},
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: hooklog <command> [flags]\n       hooklog <command> --help\n"
               "       hooklog --version\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.help);
  std::fprintf(out,
               "\nEvery command that opens a data directory takes --data DIR (default ./var).\n"
               "Times print as RFC 3339 with microseconds (2026-11-30T12:00:00.000000Z); time\n"
               "flags take RFC 3339 or integer microseconds.\n%s\n",
               hooklog::cli::kExitCodesHelp);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hooklog::cli;
  if (argc < 2) {
    usage(stderr);
    return kExitUsage;
  }
  const std::string first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    usage(stdout);
    return kExitOk;
  }
  if (first == "--version" || first == "version") {
    std::printf("hooklog %s\n", HOOKLOG_VERSION);
    return kExitOk;
  }
  for (const auto& c : kCommands) {
    if (first != c.name) continue;
    try {
      return c.fn(argc, argv);
    } catch (const usage_error& e) {
      std::fprintf(stderr, "hooklog %s: %s\n", c.name, e.what());
      return kExitUsage;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.name);
  const std::string near = closest(first, names);
  std::fprintf(stderr, "hooklog: unknown command '%s'%s\n\n", first.c_str(),
               near.empty() ? "" : (" (did you mean '" + near + "'?)").c_str());
  usage(stderr);
  return kExitUsage;
}
