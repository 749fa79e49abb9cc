#pragma once
// Shared helpers of the `hooklog` subcommands: a small flag parser and the
// subcommand table. Each subcommand lives in its own tools/cli_<name>.cpp.
#include <map>
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

int cmd_verify(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_rebuild(int argc, char** argv);

}  // namespace hooklog::cli
