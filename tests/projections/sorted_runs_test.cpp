// projections/sorted_runs.hpp: merge hands every entry over in key order (bytes compared as
// unsigned, a key before the longer keys it prefixes), equal keys in the order they were added,
// whether the entries stayed in memory or were spilled to run files; clear() removes the files.
// The keys are made to defeat the sort's 32-byte heads: long shared prefixes, keys that prefix
// others, zero bytes (the heads' padding), and duplicates; and, in numbers that take the sort
// through its radix levels (sorted_runs.cpp), keys of uniform random bytes and keys shaped like
// timelines' (bucket, tenant, kind, entity id, occurred time, seq).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/log_keys.hpp"
#include "projections/key_codec.hpp"
#include "projections/sorted_runs.hpp"
#include "support/temp_dir.hpp"

using hooklog::projections::sorted_runs;
namespace keys = hooklog::projections::keys;
using hooklog::test::temp_dir;

namespace {

// Keys drawn from a few families that share 0, 28, 32, 33 or 40 leading bytes (timeline keys of
// one entity share ~28), some cut short so that they prefix others, some ending in zero bytes.
std::vector<std::string> make_keys(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> prefixes = {"", std::string(28, 'e'), std::string(32, 'e'),
                                       std::string(33, 'e'), std::string(40, '\0')};
  prefixes.push_back(std::string(31, 'e') + '\0');
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string k = prefixes[rng() % prefixes.size()];
    const std::size_t tail = rng() % 24;
    for (std::size_t j = 0; j < tail; ++j) {
      const unsigned pick = rng() % 8;
      k.push_back(pick == 0 ? '\0' : pick == 1 ? '\xff' : static_cast<char>('a' + rng() % 3));
    }
    if (rng() % 10 == 0 && !k.empty()) k.resize(rng() % k.size());        // a prefix of others
    if (rng() % 20 == 0 && !keys.empty()) k = keys[rng() % keys.size()];  // a duplicate
    keys.push_back(std::move(k));
  }
  return keys;
}

// n keys of 0..40 uniformly random bytes: every byte value at every depth.
std::vector<std::string> make_binary_keys(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> keys(n);
  for (auto& k : keys) {
    k.resize(rng() % 41);
    for (auto& c : k) c = static_cast<char>(rng() & 0xff);
  }
  return keys;
}

// n keys laid out as timelines' (projections/timelines.cpp), with the same codec: a 4-byte
// bucket, tenant, kind and entity id each ending in a zero byte, then the occurred time and seq.
// Few buckets and tenants, ids that share their first bytes, entities with several transitions
// that tie on the 32-byte head, occurred times that repeat, and one key in 50 a copy of an earlier
// one.
std::vector<std::string> make_timeline_keys(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const char* tenants[] = {"jelp-co", "oms-eu", "lynxo-1", "cs-live", "eudr-int"};
  std::vector<std::string> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string& k = out[i];
    hooklog::log_keys::append_bucket(k, static_cast<std::uint32_t>(i * 3 / n));
    keys::put_part(k, tenants[rng() % 5]);
    keys::put_part(k, "order");
    keys::put_part(k, "ORD" + std::to_string(rng() % (n / 4)));
    keys::put_i64_be(k, 1'707'500'000'000'000 + static_cast<std::int64_t>(rng() % (n / 2)) * 1000);
    keys::put_u64_be(k, i + 1);
    if (i > 0 && rng() % 50 == 0) k = out[rng() % i];  // a repeated transition: equal keys
  }
  return out;
}

using entries = std::vector<std::pair<std::string, std::string>>;

// What merge must hand over: (key, the index it was added at) by key, then by index.
entries expected(const std::vector<std::string>& keys) {
  entries want;
  for (std::size_t i = 0; i < keys.size(); ++i) want.emplace_back(keys[i], std::to_string(i));
  std::stable_sort(want.begin(), want.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return want;
}

// A merge callback that copies each entry into `out`.
auto collect_into(entries& out) {
  return [&out](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return hooklog::result<void>{};
  };
}

}  // namespace

TEST_CASE("sorted_runs: merge is in key order, equal keys as added (in memory)") {
  const auto keys = make_keys(20'000, 7);
  sorted_runs runs("/nonexistent", "t", SIZE_MAX);
  for (std::size_t i = 0; i < keys.size(); ++i) runs.add(keys[i], std::to_string(i));
  REQUIRE(runs.entries() == keys.size());
  const auto want = expected(keys);

  entries got;
  REQUIRE(runs.merge_memory(collect_into(got)));
  REQUIRE(runs.runs() == 0);
  CHECK(got == want);

  got.clear();  // merge() without run files: the same, and the entries stay until clear()
  REQUIRE(runs.merge(collect_into(got)));
  CHECK(got == want);
}

TEST_CASE("sorted_runs: spilled runs and the entries in memory merge in key order") {
  temp_dir dir;
  const std::string run_dir = (dir / "runs").string();
  const auto keys = make_keys(20'000, 11);
  sorted_runs runs(run_dir, "t", 96 << 10);  // a run file every few thousand entries
  for (std::size_t i = 0; i < keys.size(); ++i) {
    runs.add_written(keys[i].size(), std::to_string(i).size(), [&](char* p) {
      const std::string v = std::to_string(i);
      std::copy(keys[i].begin(), keys[i].end(), p);
      std::copy(v.begin(), v.end(), p + keys[i].size());
    });
    if (i % 1000 == 999) REQUIRE(runs.spill_if_over());
  }
  REQUIRE(runs.runs() >= 3);
  CHECK(std::distance(std::filesystem::directory_iterator(run_dir),
                      std::filesystem::directory_iterator()) ==
        static_cast<std::ptrdiff_t>(runs.runs()));

  entries got;
  REQUIRE(runs.merge(collect_into(got)));
  CHECK(got == expected(keys));

  runs.clear();
  CHECK(runs.runs() == 0);
  CHECK(std::filesystem::is_empty(run_dir));
}

TEST_CASE("sorted_runs: many entries go through the radix levels in key order") {
  const auto check = [](const std::vector<std::string>& keys) {
    sorted_runs runs("/nonexistent", "t", SIZE_MAX);
    for (std::size_t i = 0; i < keys.size(); ++i) runs.add(keys[i], std::to_string(i));
    entries got;
    REQUIRE(runs.merge_memory(collect_into(got)));
    CHECK(got == expected(keys));
  };
  SECTION("uniform random bytes") {
    check(make_binary_keys(60'000, 3));
  }
  SECTION("timeline-shaped keys") {
    check(make_timeline_keys(100'000, 5));
  }
  SECTION("the tricky families, many of each") {
    check(make_keys(100'000, 13));
  }
  SECTION("one key, many times") {
    check(std::vector<std::string>(5'000, std::string(40, 'k')));
  }
}
