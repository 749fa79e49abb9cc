// hooklog-bench-merkle: the cost of the Merkle tree (issue 15), bounded and single-threaded.
//   1. append rate with the tree beside without it, same run, alternating rounds (no fsync: the
//      CPU and LMDB cost of the tree is the whole difference; with fsync it hides behind the sync)
//   2. root, inclusion and consistency proof time on a log of --proof-records records (1M)
//   3. audit bundle verification rate (events/s)
// usage: hooklog-bench-merkle [--records N] [--rounds R] [--batch B] [--proof-records N] [--dir D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <random>
#include <string>
#include <vector>

#include "engine/audit_bundle.hpp"
#include "engine/event_log.hpp"
#include "engine/merkle_store.hpp"
#include "engine/tree_head.hpp"
#include "tools/bench_result.hpp"

using namespace hooklog;
using clk = std::chrono::steady_clock;

namespace {

record make(std::uint64_t i) {
  record r;
  r.kind = record_kind::event_received;
  r.tenant = "t" + std::to_string(i % 7);
  r.source = "standard";
  r.type = i % 3 ? "order.paid" : "order.created";
  r.entity_kind = "order";
  r.entity_id = "o" + std::to_string(i % 1000);
  r.body = R"({"id":"ev-)" + std::to_string(i) +
           R"(","type":"order.paid","data":{"amount":1200,"currency":"EUR","customer":"c-42","lines":[1,2,3]}})";
  return r;
}

std::unique_ptr<event_log> open(const std::string& dir, bool tree) {
  log_options o;
  o.dir = dir;
  o.sync = false;
  o.merkle_tree = tree;
  o.initial_map_size = 1ull << 30;
  auto l = event_log::open(o);
  if (!l) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), l.err().message.c_str());
    std::exit(1);
  }
  return std::move(*l);
}

// Appends n records in batches; records/s.
double fill(event_log& log, std::uint64_t n, std::size_t batch) {
  const auto t0 = clk::now();
  for (std::uint64_t i = 0; i < n;) {
    std::vector<record> v;
    for (std::size_t j = 0; j < batch && i < n; ++j, ++i) v.push_back(make(i));
    for (auto& o : log.append(v))
      if (!o) {
        std::fprintf(stderr, "append: %s\n", o.err().message.c_str());
        std::exit(1);
      }
  }
  return n / std::chrono::duration<double>(clk::now() - t0).count();
}

std::uint64_t arg(int argc, char** argv, const char* name, std::uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::stoull(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t records = arg(argc, argv, "--records", 100000);
  const std::uint64_t rounds = arg(argc, argv, "--rounds", 3);
  const std::size_t batch = arg(argc, argv, "--batch", 64);
  const std::uint64_t proof_records = arg(argc, argv, "--proof-records", 1000000);
  std::string base = "/tmp/hooklog-bench-merkle-" + std::to_string(::getpid());
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--dir") == 0) base = argv[i + 1];
  namespace fs = std::filesystem;

  // 1. Append rate, alternating without/with the tree, each round on a fresh log.
  std::vector<double> without, with;
  for (std::uint64_t r = 0; r < rounds; ++r)
    for (bool tree : {false, true}) {
      const std::string dir = base + "/append-" + std::to_string(r) + (tree ? "-tree" : "-plain");
      auto log = open(dir, tree);
      (tree ? with : without).push_back(fill(*log, records, batch));
      log.reset();
      fs::remove_all(dir);
    }
  std::sort(without.begin(), without.end());
  std::sort(with.begin(), with.end());
  const double w0 = without[without.size() / 2], w1 = with[with.size() / 2];
  std::printf("append, %llu records in batches of %zu, no fsync, median of %llu rounds:\n"
              "  without the tree %.0f records/s, with it %.0f records/s, ratio %.3f (goal >= 0.9)\n",
              static_cast<unsigned long long>(records), batch, static_cast<unsigned long long>(rounds),
              w0, w1, w1 / w0);
  bench::print(bench::result("merkle_append", "append rate with the Merkle tree", w1, "records/s", w0,
                             "without the tree", ">= 0.9", w1 / w0 >= 0.9));

  // 2. Proof times on a big log.
  const std::string big = base + "/proofs";
  auto log = open(big, true);
  const double fill_rate = fill(*log, proof_records, 1024);
  std::printf("built a log of %llu records with its tree (%.0f records/s)\n",
              static_cast<unsigned long long>(proof_records), fill_rate);
  std::mt19937_64 rng(15);
  const int kSamples = 2000;
  auto time_us = [&](auto&& fn) {
    const auto t0 = clk::now();
    for (int i = 0; i < kSamples; ++i) fn();
    return std::chrono::duration<double, std::micro>(clk::now() - t0).count() / kSamples;
  };
  const std::uint64_t n = proof_records;
  const double incl = time_us([&] {
    const std::uint64_t seq = 1 + rng() % n;
    if (!merkle::prove_inclusion(*log, seq, n)) std::exit(1);
  });
  const double cons = time_us([&] {
    const std::uint64_t m = 1 + rng() % n;
    if (!merkle::prove_consistency(*log, m, n)) std::exit(1);
  });
  const double rt = time_us([&] {
    if (!merkle::tree_root(*log, 1 + rng() % n)) std::exit(1);
  });
  std::printf("at %llu records: inclusion proof %.1f µs, consistency proof %.1f µs, root %.1f µs "
              "(mean of %d random sizes/seqs; goal < 1 ms)\n",
              static_cast<unsigned long long>(n), incl, cons, rt, kSamples);
  bench::print(bench::result("merkle_inclusion_1m", "inclusion proof at " + std::to_string(n) + " records",
                             incl, "µs", std::nullopt, "-", "< 1000", incl < 1000));
  bench::print(bench::result("merkle_consistency_1m", "consistency proof at " + std::to_string(n) + " records",
                             cons, "µs", std::nullopt, "-", "< 1000", cons < 1000));

  // 3. Bundle verification rate: 1000 events of one tenant, against a head over the whole log.
  auto signer = head_signer::load("", big);
  tree_head head;
  head.tree_size = n;
  head.root = *merkle::tree_root(*log, n);
  head.timestamp = 1;
  if (!signer || !signer->sign(head)) return 1;
  scan_query q;
  q.tenant = "t3";
  q.to_seq = 7000;
  auto b = make_bundle(*log, q, head, signer->public_key());
  if (!b) return 1;
  const std::string text = b->dump() + "\n";
  const std::uint64_t events = (*b)["events"].size();
  const auto t0 = clk::now();
  int reps = 0;
  while (std::chrono::duration<double>(clk::now() - t0).count() < 2.0) {
    if (!verify_bundle(text)) return 1;
    ++reps;
  }
  const double rate = events * reps / std::chrono::duration<double>(clk::now() - t0).count();
  std::printf("bundle of %llu events (%zu bytes): verified %.0f events/s (%d bundles)\n",
              static_cast<unsigned long long>(events), text.size(), rate, reps);
  bench::print(bench::result("merkle_bundle_verify", "audit bundle verification", rate, "events/s"));
  log.reset();
  fs::remove_all(base);
  return 0;
}
