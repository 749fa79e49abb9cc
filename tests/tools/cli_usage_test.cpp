// The hooklog command line as a user meets it, through the real binary: help in every form,
// --version, unknown flags and config keys refused (naming the closest known one), bad numbers,
// negative numbers and inverted ranges refused naming the flag, the exit codes (0 ok, 1 failure,
// 2 usage, 3 server unreachable) and HTTP errors as one sentence.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "hooklog_build_paths.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {

// Runs hooklog with stderr merged into the output (both are what a user sees).
run_result run_all(const std::vector<std::string>& args) {
  std::vector<std::string> sh = {"-c", "exec \"$0\" \"$@\" 2>&1", HOOKLOG_BINARY};
  sh.insert(sh.end(), args.begin(), args.end());
  child_process p("/bin/sh", sh);
  auto st = p.wait_exit(std::chrono::seconds(60));
  REQUIRE(st);
  return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.stdout_text()};
}

bool has(const run_result& r, const std::string& text) {
  return r.out.find(text) != std::string::npos;
}

const char* const kCommands[] = {"serve",  "rebuild", "verify", "import",   "export",
                                 "replay", "replays", "tail",   "timeline", "stats"};

}  // namespace

TEST_CASE("hooklog help: -h, --help and help at the top, -h and --help on every command",
          "[cli][usage]") {
  for (const char* form : {"-h", "--help", "help"}) {
    auto r = run_all({form});
    INFO(form << ": " << r.out);
    CHECK(r.exit_code == 0);
    CHECK(has(r, "usage: hooklog <command> [flags]"));
    CHECK(has(r,
              "exit codes: 0 ok, 1 failure (or a check found a problem), 2 usage error, 3 server "
              "unreachable"));
  }
  for (const char* cmd : kCommands) {
    for (const char* form : {"-h", "--help"}) {
      auto r = run_all({cmd, form});
      INFO(cmd << " " << form << ": " << r.out);
      CHECK(r.exit_code == 0);
      CHECK(has(r, "hooklog " + std::string(cmd)));
      CHECK(has(r, "exit codes: 0 ok"));
    }
  }
  // serve -h prints its help and starts nothing.
  auto serve = run_all({"serve", "-h"});
  CHECK(has(serve, "--max-connections-per-client N"));
  CHECK_FALSE(has(serve, "data directory: "));  // what a started server prints
  // No command: the usage on stderr, exit 2.
  CHECK(run_all({}).exit_code == 2);
  auto unknown = run_all({"tial"});
  CHECK(unknown.exit_code == 2);
  CHECK(has(unknown, "hooklog: unknown command 'tial' (did you mean 'tail'?)"));
}

TEST_CASE("hooklog --version prints the project version", "[cli][usage]") {
  auto r = run_all({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == std::string("hooklog ") + HOOKLOG_VERSION + "\n");
}

TEST_CASE("hooklog: unknown flags are refused with exit 2, naming the closest known flag",
          "[cli][usage]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  auto serve = run_all({"serve", "--lsten", "127.0.0.1:0", "--data", data});
  INFO(serve.out);
  CHECK(serve.exit_code == 2);
  CHECK(has(serve, "hooklog serve: unknown flag --lsten (did you mean --listen?)"));
  CHECK_FALSE(has(serve, "listening on"));
  auto exp = run_all({"export", "--data", data, "--frm", "2024-01-01T00:00:00Z"});
  CHECK(exp.exit_code == 2);
  CHECK(has(exp, "hooklog export: unknown flag --frm (did you mean --from?)"));
  auto eq = run_all({"tail", "--data", data, "--jsn=1"});
  CHECK(eq.exit_code == 2);
  CHECK(has(eq, "hooklog tail: unknown flag --jsn (did you mean --json?)"));
  auto far = run_all({"stats", "--data", data, "--completely-different"});
  CHECK(far.exit_code == 2);
  CHECK(has(far, "hooklog stats: unknown flag --completely-different (see hooklog stats --help)"));
  auto stray = run_all({"stats", "--data", data, "extra"});
  CHECK(stray.exit_code == 2);
  CHECK(has(stray, "hooklog stats: unexpected argument 'extra'"));
  auto missing = run_all({"tail", "--data", data, "--lines"});
  CHECK(missing.exit_code == 2);
  CHECK(has(missing, "--lines"));
}

TEST_CASE("hooklog serve --config: unknown keys and bad values are refused naming them",
          "[cli][usage]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  const std::string cfg = (d.path() / "config.json").string();
  std::ofstream(cfg) << R"({"listen":"127.0.0.1:0","lsten":"127.0.0.1:0"})";
  auto r = run_all({"serve", "--config", cfg, "--data", data});
  CHECK(r.exit_code == 2);
  CHECK(has(r, "unknown key \"lsten\" (did you mean \"listen\"?)"));
  std::ofstream(cfg) << R"({"listen":"127.0.0.1:0","threads":"many"})";
  auto t = run_all({"serve", "--config", cfg, "--data", data});
  CHECK(t.exit_code == 2);
  CHECK(has(t, "hooklog serve: --threads must be a whole number, got \"many\""));
}

TEST_CASE("hooklog: bad and negative numbers are refused with exit 2 naming the flag",
          "[cli][usage]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  struct refusal {
    std::vector<std::string> args;
    std::string says;
  };
  const refusal refusals[] = {
      {{"tail", "--data", data, "--lines", "abc", "--no-follow"},
       "hooklog tail: --lines must be a whole number, got \"abc\""},
      {{"tail", "--data", data, "--lines=-5", "--no-follow"},
       "hooklog tail: --lines must not be negative, got \"-5\""},
      {{"replay", "--server", "http://127.0.0.1:9", "--endpoint", "ep_1", "--rate", "abc"},
       "hooklog replay: --rate must be a whole number, got \"abc\""},
      {{"serve", "--data", data, "--threads", "x2"},
       "hooklog serve: --threads must be a whole number, got \"x2\""},
      {{"serve", "--data", data, "--read-timeout=-1"},
       "hooklog serve: --read-timeout must not be negative, got \"-1\""},
      {{"serve", "--data", data, "--max-headers", "65"},
       "hooklog serve: --max-headers must be from 1 to 64, got \"65\""},
      {{"serve", "--data", data, "--rebuild-memory", "2G"},
       "hooklog serve: --rebuild-memory must be a whole number, got \"2G\""},
      {{"serve", "--data", data, "--projection-nice", "20"},
       "hooklog serve: --projection-nice must be from 0 to 19, got \"20\""},
      {{"rebuild", "--data", data, "--rebuild-memory", "0"},
       "hooklog rebuild: --rebuild-memory must be from 1 to 1048576, got \"0\""},
      {{"verify", "--data", data, "--from", "1x"},
       "hooklog verify: --from must be a whole number, got \"1x\""},
      {{"export", "--data", data, "--from", "yesterday"},
       "hooklog export: --from must be an RFC 3339 time"},
  };
  for (const auto& r : refusals) {
    auto out = run_all(r.args);
    INFO(r.says << "\n" << out.out);
    CHECK(out.exit_code == 2);
    CHECK(has(out, r.says));
  }
}

TEST_CASE(
    "hooklog: inverted ranges are refused in export, replay and verify, exclusive flags in tail",
    "[cli][usage]") {
  temp_dir d;
  const std::string data = (d.path() / "data").string();
  auto exp = run_all(
      {"export", "--data", data, "--from", "2024-02-01T00:00:00Z", "--to", "2024-01-01T00:00:00Z"});
  CHECK(exp.exit_code == 2);
  CHECK(has(exp, "hooklog export: --from must be before --to: the range is inverted"));
  auto empty = run_all({"export", "--data", data, "--from", "1000", "--to", "1000"});
  CHECK(empty.exit_code == 2);
  CHECK(has(empty, "the range is empty"));
  auto replay = run_all({"replay", "--server", "http://127.0.0.1:9", "--endpoint", "ep_1", "--from",
                         "2024-02-01T00:00:00Z", "--to", "2024-01-01T00:00:00Z"});
  CHECK(replay.exit_code == 2);
  CHECK(has(replay, "hooklog replay: --from must be before --to: the range is inverted"));
  auto verify = run_all({"verify", "--data", data, "--from", "9", "--to", "3"});
  CHECK(verify.exit_code == 2);
  CHECK(has(verify, "hooklog verify: --from 9 is greater than --to 3: the range is inverted"));
  auto tail = run_all({"tail", "--data", data, "--lines", "3", "--from-seq", "1", "--no-follow"});
  CHECK(tail.exit_code == 2);
  CHECK(has(tail, "--lines excludes --from-seq"));
}

TEST_CASE("hooklog: a server that cannot be reached exits 3, an HTTP error is one sentence",
          "[cli][usage]") {
  // A loopback port nobody listens on: bind one, note it, close it.
  unsigned short port = 0;
  {
    hooklog_server s;
    port = s.port();
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto down = run_all({"replays", "--server", url, "--key", kAdminKey});
  INFO(down.out);
  CHECK(down.exit_code == 3);
  CHECK(has(down, "hooklog replays: cannot reach the server at 127.0.0.1:" + std::to_string(port)));
  auto replay = run_all({"replay", "--server", url, "--key", kAdminKey, "--endpoint", "ep_1"});
  CHECK(replay.exit_code == 3);

  hooklog_server s;
  const std::string live = "http://127.0.0.1:" + std::to_string(s.port());
  auto missing = run_all({"replays", "--server", live, "--key", kAdminKey, "rpl_0000000000000000"});
  INFO(missing.out);
  CHECK(missing.exit_code == 1);
  CHECK(has(missing, "hooklog replays: error: 404 not_found: "));
  CHECK(has(missing, "(GET /v1/replays/rpl_0000000000000000)"));
  CHECK_FALSE(has(missing, "{\"error\""));
  auto denied = run_all({"replays", "--server", live, "--key", "wrong"});
  CHECK(denied.exit_code == 1);
  CHECK(has(denied, "hooklog replays: error: 401 "));
  CHECK(has(denied, "(GET /v1/replays?limit=1000)"));
}
