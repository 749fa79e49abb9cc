// hooklog export --out with the real binary (tools/cli_out_file.hpp): the file appears only when
// the export succeeded; a refusal leaves nothing at the path and an existing file as it was.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/tree_head.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The names in `dir`, sorted (a temporary file left behind would show here).
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("export --out: a refused export leaves nothing at the path, an existing file as it was",
          "[cli][export]") {
  hooklog_server s({"--head-interval", "0"});
  for (int i = 0; i < 3; ++i)
    REQUIRE(s.call("POST", "/v1/sources/standard/events",
                   R"({"id":"ev-)" + std::to_string(i) + R"(","type":"order.created"})")
                .status == 202);
  const std::string data = s.data_dir();
  temp_dir d;
  const fs::path out = d / "out";
  fs::create_directory(out);
  const fs::path fresh = out / "new.json", kept = out / "kept.json";
  std::ofstream(kept) << "an earlier export\n";
  fs::permissions(kept, fs::perms(0640));
  REQUIRE(head_signer::load("", d.path().string()).ok());  // another key: <d>/head.key

  auto refused = [&](const std::vector<std::string>& extra, int code) {
    for (const fs::path& target : {fresh, kept}) {
      std::vector<std::string> args = {"export", "--proof", "--data", data, "--out", target};
      args.insert(args.end(), extra.begin(), extra.end());
      auto r = run_hooklog(args);
      INFO(target << " " << extra.size());
      CHECK(r.exit_code == code);
      CHECK(names_in(out) == std::vector<std::string>{"kept.json"});  // nothing new, no temporary
      CHECK(read_file(kept) == "an earlier export\n");
      CHECK(mode_of(kept) == 0640);
    }
  };
  // No signed tree head yet.
  refused({}, 1);
  REQUIRE(s.call("POST", "/v1/audit/heads", "").status == 201);
  // A key the head does not verify with; a --public-key that is no key (a usage error, thrown).
  refused({"--head-key-file", (d / "head.key").string()}, 1);
  refused({"--public-key", "not-a-key"}, 2);
  // A selection that is refused: --from after --to (before the file is touched at all).
  refused({"--from", "2024-02-01T00:00:00Z", "--to", "2024-01-01T00:00:00Z"}, 2);

  // The same exports, accepted: a new file is 0600, an existing one keeps its mode.
  REQUIRE(run_hooklog({"export", "--proof", "--data", data, "--out", fresh}).exit_code == 0);
  CHECK(mode_of(fresh) == 0600);
  CHECK(nlohmann::json::parse(read_file(fresh))["events"].size() == 3);
  REQUIRE(run_hooklog({"export", "--data", data, "--out", kept}).exit_code == 0);
  CHECK(mode_of(kept) == 0640);
  const std::string ndjson = read_file(kept);
  CHECK(std::count(ndjson.begin(), ndjson.end(), '\n') == 3);
  CHECK(names_in(out) == std::vector<std::string>{"kept.json", "new.json"});

  // A symlink to a file: the target gets the export, the link stays.
  fs::create_symlink("new.json", out / "link.json");
  REQUIRE(run_hooklog({"export", "--data", data, "--out", out / "link.json"}).exit_code == 0);
  CHECK(fs::is_symlink(out / "link.json"));
  CHECK(read_file(fresh) == ndjson);
  CHECK(names_in(out) == std::vector<std::string>{"kept.json", "link.json", "new.json"});
  // A special file is written as it is; a write that fails is a failed export, not "exported 3".
  CHECK(run_hooklog({"export", "--data", data, "--out", "/dev/null"}).exit_code == 0);
  CHECK(run_hooklog({"export", "--data", data, "--out", "/dev/full"}).exit_code == 1);
  // A directory that does not exist: refused, nothing created.
  CHECK(run_hooklog({"export", "--data", data, "--out", out / "no" / "x.json"}).exit_code == 1);
  CHECK_FALSE(fs::exists(out / "no"));
}
