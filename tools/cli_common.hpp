#pragma once
// Shared helpers of the `hooklog` subcommands: a small flag parser and the
// subcommand table. Each subcommand lives in its own tools/cli_<name>.cpp.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hooklog::cli {

// Parses "--name value", "--name=value" and bare "--flag" arguments; the rest
// are positional. Flags listed in `booleans` take no value.
struct args {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;

  static std::optional<args> parse(int argc, char** argv, int first,
                                   const std::vector<std::string>& booleans, std::string& error);
  bool has(const std::string& name) const { return flags.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
};

// "--data DIR", else $HOOKLOG_DATA, else ./var.
std::string data_dir(const args& a);

// A running server for the subcommands that talk HTTP: --server http://HOST:PORT
// (or $HOOKLOG_SERVER) and --key KEY (or $HOOKLOG_KEY). call() prints nothing; it
// returns the status and body, or an error message in `body` with status 0.
struct server_conn {
  std::string host, key;
  unsigned short port = 0;
  struct reply {
    unsigned status = 0;
    std::string body;
  };
  reply call(const std::string& method, const std::string& target, const std::string& body = "") const;
};
// nullopt (after printing why) when --server is absent or malformed.
std::optional<server_conn> server_from(const args& a, const char* command);
// A time flag: RFC 3339 or µs; nullopt when absent; false when malformed.
bool time_flag(const args& a, const std::string& name, std::optional<std::int64_t>& out);

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

}  // namespace hooklog::cli
