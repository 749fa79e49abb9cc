#pragma once
// Shared helpers of the `hooklog` subcommands: argument parsing (CLI11), checked
// conversions of flag values, exit codes, the server connection, and the
// subcommand table. Each subcommand lives in its own tools/cli_<name>.cpp.
//
// Every subcommand refuses what it does not know: an unknown flag (naming the
// closest known one), a value that is not a number where a number is expected,
// a negative number where none makes sense, an inverted range. Those are usage
// errors: exit 2 with one line naming the flag.
#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hooklog::cli {

// The exit codes of every subcommand (README "CLI", `hooklog --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // an operation failed, or a check found a problem
inline constexpr int kExitUsage = 2;        // bad flags or arguments; nothing was done
inline constexpr int kExitUnreachable = 3;  // the server could not be reached

// The footer of every help text.
extern const char* const kExitCodesHelp;

// A usage error: main() prints "hooklog CMD: <what>" and exits 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A subcommand's parser: CLI11 with the shared conventions (help on -h/--help,
// the last of repeated single-value flags wins, unknown flags refused).
std::unique_ptr<CLI::App> make_app(const std::string& command, const std::string& description);

// Parses argv[2..]. nullopt: go on. Otherwise the exit code after printing help
// (0; `help_text` replaces the generated one when given) or throws usage_error
// (unknown flag with the closest known one, missing value, stray argument).
std::optional<int> parse(CLI::App& app, int argc, char** argv, const char* help_text = nullptr);

// The known name closest to `name` (edit distance), "" when none is close.
std::string closest(const std::string& name, const std::vector<std::string>& known);
// The long flag names of `app` ("listen", "data", ...), without dashes.
std::vector<std::string> flag_names(const CLI::App& app);

// Checked numbers: a whole number within [min, max], else usage_error naming `flag`.
std::uint64_t to_uint(const std::string& flag, const std::string& value, std::uint64_t min = 0,
                      std::uint64_t max = UINT64_MAX);
// A time: RFC 3339 or integer microseconds, else usage_error naming `flag`.
std::int64_t to_time(const std::string& flag, const std::string& value);
// Refuses `from` not before `to` (an empty or inverted range).
void check_range(const std::string& from_flag, std::int64_t from, const std::string& to_flag,
                 std::int64_t to, bool inclusive);
// --from/--to (each optional; --from before --to) and --time (recorded or occurred), as export
// and replay take them; usage_error naming the flag otherwise.
struct time_range {
  std::optional<std::int64_t> from, to;
};
time_range parse_time_range(const std::string& from, const std::string& to, const std::string& time);
// "KIND" or "KIND:ID" of --entity.
void split_entity(const std::string& value, std::string& kind, std::string& id);

// --rebuild-memory MIB of serve and rebuild: the bytes a projection rebuild from empty stages in
// memory (projections::runner_options::rebuild_memory); usage_error outside 1 MiB to 1 TiB.
std::size_t rebuild_memory_bytes(const std::string& mib);

// --data DIR, else $HOOKLOG_DATA, else ./var.
void add_data_flag(CLI::App& app, std::string& out);
std::string data_dir(const std::string& flag_value);

// A running server for the subcommands that talk HTTP: --server http://HOST:PORT
// (or $HOOKLOG_SERVER) and --key KEY (or $HOOKLOG_KEY).
struct server_flags {
  std::string server, key;
};
void add_server_flags(CLI::App& app, server_flags& out);

struct server_conn {
  std::string command;  // for messages: "replay"
  std::string host, key;
  unsigned short port = 0;
  struct reply {
    unsigned status = 0;  // 0: not reached; `body` says why
    std::string body;
  };
  reply call(const std::string& method, const std::string& target,
             const std::string& body = "") const;
  // The exit code for `r` (0 when its status is `want`), after printing why not:
  // "hooklog CMD: error: 404 not_found: no endpoint ep_1 (GET /v1/endpoints/ep_1)", or
  // "cannot reach the server" with exit 3.
  int check(const reply& r, const std::string& method, const std::string& target,
            unsigned want) const;
};
// Throws usage_error when --server is absent or malformed.
server_conn server_from(const server_flags& f, const std::string& command);

int cmd_verify(int argc, char** argv);
int cmd_import(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_replay(int argc, char** argv);
int cmd_replays(int argc, char** argv);
int cmd_tail(int argc, char** argv);
int cmd_timeline(int argc, char** argv);
int cmd_stats(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_rebuild(int argc, char** argv);
int cmd_proof(int argc, char** argv);  // cli_proof.cpp

}  // namespace hooklog::cli
