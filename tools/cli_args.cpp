// Argument parsing shared by the subcommands (cli_common.hpp).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "engine/time_util.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

const char* const kExitCodesHelp =
    "exit codes: 0 ok, 1 failure (or a check found a problem), 2 usage error, 3 server "
    "unreachable";

std::unique_ptr<CLI::App> make_app(const std::string& command, const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, "hooklog " + command);
  app->set_help_flag("-h,--help", "print this help and exit");
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->allow_extras();  // refused below, with a suggestion
  app->footer(kExitCodesHelp);
  return app;
}

std::vector<std::string> flag_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options())
    for (const auto& n : o->get_lnames()) names.push_back(n);
  return names;
}

std::string closest(const std::string& name, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = SIZE_MAX;
  for (const auto& k : known) {
    std::vector<std::size_t> row(k.size() + 1);
    for (std::size_t j = 0; j <= k.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= name.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= k.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (name[i - 1] == k[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    if (row[k.size()] < best_d) best_d = row[k.size()], best = k;
  }
  return best_d <= std::max<std::size_t>(2, name.size() / 3) ? best : "";
}

std::optional<int> parse(CLI::App& app, int argc, char** argv, const char* help_text) {
  std::vector<std::string> args;  // CLI11 takes them last first
  for (int i = argc - 1; i >= 2; --i) args.emplace_back(argv[i]);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    if (help_text)
      std::printf("%s\n%s\n", help_text, kExitCodesHelp);
    else
      std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    throw usage_error(std::string(e.what()) + " (see " + app.get_name() + " --help)");
  }
  for (const auto& x : app.remaining()) {
    if (x.size() > 1 && x[0] == '-') {
      std::string name = x.substr(x.find_first_not_of('-'));
      name = name.substr(0, name.find('='));
      const std::string near = closest(name, flag_names(app));
      throw usage_error("unknown flag " + x.substr(0, x.find('=')) +
                        (near.empty() ? "" : " (did you mean --" + near + "?)") + " (see " +
                        app.get_name() + " --help)");
    }
    throw usage_error("unexpected argument '" + x + "' (see " + app.get_name() + " --help)");
  }
  return std::nullopt;
}

std::uint64_t to_uint(const std::string& flag, const std::string& v, std::uint64_t min,
                      std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (!v.empty() && v[0] == '-' && v.find_first_not_of("0123456789", 1) == std::string::npos &&
      v.size() > 1)
    throw usage_error("--" + flag + " must not be negative, got \"" + v + "\"");
  if (v.empty() || ec == std::errc::invalid_argument || p != v.data() + v.size())
    throw usage_error("--" + flag + " must be a whole number, got \"" + v + "\"");
  if (ec == std::errc::result_out_of_range || n < min || n > max)
    throw usage_error("--" + flag + " must be " +
                      (max == UINT64_MAX
                           ? "at least " + std::to_string(min)
                           : "from " + std::to_string(min) + " to " + std::to_string(max)) +
                      ", got \"" + v + "\"");
  return n;
}

std::int64_t to_time(const std::string& flag, const std::string& v) {
  if (auto t = parse_rfc3339(v)) return *t;
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (!v.empty() && ec == std::errc() && p == v.data() + v.size()) return n;
  throw usage_error("--" + flag +
                    " must be an RFC 3339 time (2024-02-10T00:37:34Z) or microseconds, got \"" + v +
                    "\"");
}

void check_range(const std::string& from_flag, std::int64_t from, const std::string& to_flag,
                 std::int64_t to, bool inclusive) {
  if (inclusive ? from <= to : from < to) return;
  throw usage_error("--" + from_flag + " must be " + (inclusive ? "at most" : "before") + " --" +
                    to_flag + ": the range is " + (from == to ? "empty" : "inverted"));
}

time_range parse_time_range(const std::string& from, const std::string& to,
                            const std::string& time) {
  time_range r;
  if (!from.empty()) r.from = to_time("from", from);
  if (!to.empty()) r.to = to_time("to", to);
  if (r.from && r.to) check_range("from", *r.from, "to", *r.to, false);
  if (time != "recorded" && time != "occurred")
    throw usage_error("--time is recorded or occurred, got \"" + time + "\"");
  return r;
}

void split_entity(const std::string& e, std::string& kind, std::string& id) {
  const auto colon = e.find(':');
  kind = e.substr(0, colon);
  if (colon != std::string::npos) id = e.substr(colon + 1);
  if (kind.empty()) throw usage_error("--entity is KIND or KIND:ID, got \"" + e + "\"");
}

std::size_t rebuild_memory_bytes(const std::string& mib) {
  return static_cast<std::size_t>(to_uint("rebuild-memory", mib, 1, std::uint64_t{1} << 20)) << 20;
}

void add_data_flag(CLI::App& app, std::string& out) {
  app.add_option("--data", out, "the data directory ($HOOKLOG_DATA, else ./var)");
}

std::string data_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("HOOKLOG_DATA"); env && *env) return env;
  return "./var";
}

}  // namespace hooklog::cli
