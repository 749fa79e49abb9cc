// hooklog import of a JSON array (engine/backfill.hpp): each object element is an event; every
// other element, and anything after the closing bracket, is refused with its line.
#include <catch2/catch.hpp>

#include <sstream>

#include "engine/backfill.hpp"
#include "log_test_util.hpp"
#include "source_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::sources;
using hooklog::test::temp_dir;

namespace {

struct imported {
  import_counts counts;
  std::vector<import_refusal> refusals;
};

imported import_text(const temp_dir& dir, const std::string& text) {
  auto log = test::open_log(dir.path());
  log_writer writer(*log);
  import_options io;
  io.source = "standard";
  importer imp(writer, &sources(), io);
  std::istringstream in(text);
  imp.add(in, "a.json");
  imp.finish();
  imported out{imp.counts(), imp.refusals()};
  writer.stop();
  return out;
}

std::vector<std::string> where(const imported& r) {
  std::vector<std::string> out;
  for (const auto& f : r.refusals) out.push_back(f.input + ":" + std::to_string(f.line) + ": " + f.message);
  return out;
}

}  // namespace

TEST_CASE("import: every object of a JSON array is an event, its bytes kept", "[import][array]") {
  temp_dir dir;
  const auto r = import_text(dir, "[\n {\"id\":\"a1\",\"type\":\"a.b\",\"data\":{\"s\":\"]}[{\"}},\n"
                                  " {\"id\":\"a2\",\"type\":\"a.b\",\"data\":[1,2]}\n]\n");
  CHECK(r.counts.stored == 2);
  CHECK(r.counts.refused == 0);
  CHECK(r.refusals.empty());
}

TEST_CASE("import: a JSON array's scalar elements are refused one by one with their line, objects "
          "beside them are stored",
          "[import][array]") {
  temp_dir dir;
  const auto r = import_text(dir, "[\n 1,\n {\"id\":\"a1\",\"type\":\"a.b\"},\n true, null,\n"
                                  " \"text, with a comma\",\n -2.5e3 ,\n {\"id\":\"a2\",\"type\":\"a.b\"}\n]");
  CHECK(r.counts.stored == 2);
  CHECK(r.counts.refused == 5);
  CHECK(where(r) == std::vector<std::string>{"a.json:2: an array element is not a JSON object",
                                             "a.json:4: an array element is not a JSON object",
                                             "a.json:4: an array element is not a JSON object",
                                             "a.json:5: an array element is not a JSON object",
                                             "a.json:6: an array element is not a JSON object"});
}

TEST_CASE("import: text after a JSON array and an array left open are refused", "[import][array]") {
  temp_dir dir;
  {
    const auto r = import_text(dir, "[{\"id\":\"a1\",\"type\":\"a.b\"}]\n\n{\"id\":\"a2\",\"type\":\"a.b\"}\n");
    CHECK(r.counts.stored == 1);
    CHECK(where(r) == std::vector<std::string>{"a.json:3: text after the JSON array's closing bracket"});
  }
  {
    const auto r = import_text(dir, "[{\"id\":\"a3\",\"type\":\"a.b\"},\n{\"id\":\"a4\"");
    CHECK(r.counts.stored == 1);
    CHECK(where(r) == std::vector<std::string>{"a.json:2: the JSON array is not closed"});
  }
}
