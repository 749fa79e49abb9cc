// The events of a scheduling round read together (http/delivery/round_events.hpp): runs of
// nearby seqs in one walk, a lone seq alone, and every event with the outcome get() gives it:
// its fields, "not found" beyond the head, a damaged record's checksum error (never its bytes),
// also when the damaged record sits inside a run.
#include "http/delivery/round_events.hpp"

#include <catch2/catch.hpp>

#include "engine/errc.hpp"
#include "engine/log_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;

TEST_CASE("round events: each event read once, with get()'s outcome", "[round_events]") {
  test::temp_dir dir;
  auto log = test::open_log(dir.path().string());
  for (int i = 1; i <= 20; ++i) {
    std::vector<record> one{test::make_event("t" + std::to_string(i), "type." + std::to_string(i),
                                             "e", i, "{\"n\":" + std::to_string(i) + "}")};
    REQUIRE(log->append(one)[0].ok());
  }
  http::round_events ev(*log);
  ev.read({2, 3, 5, 13, 40});  // 2..13 one run (gaps <= 8), 40 beyond the head
  for (std::uint64_t s : {2, 3, 5, 13}) {
    INFO(s);
    auto* e = ev.find(s);
    REQUIRE(e != nullptr);
    CHECK(e->found);
    CHECK_FALSE(e->failure);
    CHECK(e->tenant == "t" + std::to_string(s));
    CHECK(e->type == "type." + std::to_string(s));
    CHECK(e->body == "{\"n\":" + std::to_string(s) + "}");
  }
  CHECK(ev.find(4) == nullptr);  // walked over, not asked for
  REQUIRE(ev.find(40) != nullptr);
  CHECK_FALSE(ev.find(40)->found);
  CHECK_FALSE(ev.find(40)->failure);

  // A damaged record inside a run (not asked for) and one asked for.
  test::damage_record(*log, 4);
  test::damage_record(*log, 6);
  ev.clear();
  CHECK(ev.find(2) == nullptr);
  ev.read({2, 3, 5, 6, 7});
  for (std::uint64_t s : {2, 3, 5, 7}) {
    INFO(s);
    auto* e = ev.find(s);
    REQUIRE(e != nullptr);
    CHECK(e->found);
    CHECK(e->body == "{\"n\":" + std::to_string(s) + "}");
  }
  auto* bad = ev.find(6);
  REQUIRE(bad != nullptr);
  CHECK_FALSE(bad->found);
  REQUIRE(bad->failure);
  CHECK(bad->failure->code == make_error_code(errc::checksum_mismatch));
  CHECK(bad->failure->message.find("record 6") != std::string::npos);
  CHECK(bad->body.empty());
  ev.erase(7);
  CHECK(ev.find(7) == nullptr);
}
