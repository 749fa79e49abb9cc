// The hooklog command: `hooklog <subcommand> [flags]`.
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string>

#include "tools/cli_common.hpp"

namespace hooklog::cli {

std::optional<args> args::parse(int argc, char** argv, int first,
                                const std::vector<std::string>& booleans, std::string& error) {
  args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0 || s == "--" || s == "-") {
      a.positional.push_back(s);
      continue;
    }
    std::string name = s.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (std::find(booleans.begin(), booleans.end(), name) != booleans.end()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      error = "flag --" + name + " needs a value";
      return std::nullopt;
    }
    a.flags[name].push_back(value);
  }
  return a;
}

std::string args::get(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> args::all(const std::string& name) const {
  auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

std::string data_dir(const args& a) {
  if (a.has("data")) return a.get("data");
  if (const char* env = std::getenv("HOOKLOG_DATA"); env && *env) return env;
  return "./var";
}

}  // namespace hooklog::cli

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
    {"replay", hooklog::cli::cmd_replay, "start a replay on a running server"},
    {"replays", hooklog::cli::cmd_replays, "list, show or cancel replays on a running server"},
    {"tail", hooklog::cli::cmd_tail, "follow the log live, filtered (read-only)"},
    {"timeline", hooklog::cli::cmd_timeline, "an entity's events and status changes (read-only)"},
    {"stats", hooklog::cli::cmd_stats, "counts of records, events by type, the head (read-only)"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: hooklog <command> [flags]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.help);
  std::fprintf(out, "\nEvery command that opens a data directory takes --data DIR (default ./var).\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands)
    if (!std::strcmp(argv[1], c.name)) return c.fn(argc, argv);
  std::fprintf(stderr, "hooklog: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
