// Property: random mutations of the samples never crash the normalizer, and every accepted
// event has a type (and a source and a tenant). Deterministic seed, bounded count.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <random>

#include "source_test_util.hpp"
#include "hooklog_build_paths.hpp"

using namespace hooklog;
using hooklog::test::read_file;
using hooklog::test::sources;

TEST_CASE("mutated samples never crash the normalizer nor yield an event without a type",
          "[source][property]") {
  namespace fs = std::filesystem;
  struct input {
    std::string source, hint, body;
  };
  std::vector<input> inputs;
  for (const auto& dir : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/samples")) {
    for (const auto& f : fs::directory_iterator(dir.path())) {
      std::string type = f.path().stem().string();
      for (std::size_t p; (p = type.find("--")) != std::string::npos;) type.replace(p, 2, ":");
      inputs.push_back({dir.path().filename().string(), type, read_file(f.path().string())});
    }
  }
  for (const auto& dir : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/bad-examples")) {
    for (const auto& f : fs::directory_iterator(dir.path())) {
      inputs.push_back({dir.path().filename().string(), "", read_file(f.path().string())});
    }
  }
  REQUIRE(inputs.size() >= 56);

  static const char* const kTokens[] = {"{",    "}",     "[",      "]",
                                        ",",    ":",     "\"",     "null",
                                        "true", "0",     "-1e999", "\"\\u0000\"",
                                        "\\",   "\xC3",  "\xFF",   "{}",
                                        "[]",   "\"x\"", "1.5",    "9223372036854775808"};
  std::mt19937_64 rng(20240210);
  int accepted = 0, refused = 0;
  constexpr int kMutations = 20000;
  normalize_limits lim;
  lim.max_depth = 16;
  for (int i = 0; i < kMutations; ++i) {
    const input& in = inputs[rng() % inputs.size()];
    std::string body = in.body;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const std::size_t pos = rng() % body.size();
      switch (rng() % 6) {
        case 0:
          body[pos] = static_cast<char>(rng() & 0xFF);
          break;  // flip a byte
        case 1:
          body.erase(pos, 1 + rng() % 16);
          break;  // delete bytes
        case 2:
          body.insert(pos, kTokens[rng() % std::size(kTokens)]);
          break;  // insert a token
        case 3:
          body.resize(pos);
          break;  // truncate
        case 4:
          body.insert(pos, body.substr(rng() % body.size(), rng() % 64));
          break;    // duplicate
        default: {  // swap a value token for another of another kind
          const std::size_t colon = body.find(':', pos);
          if (colon != std::string::npos)
            body.insert(colon + 1, kTokens[rng() % std::size(kTokens)]);
        }
      }
    }
    const std::string hint = (rng() % 3 == 0) ? std::string() : in.hint;
    const auto ev = sources().normalize({in.source, body, hint, {}, {}}, lim);
    if (ev.ok()) {
      ++accepted;
      REQUIRE_FALSE(ev->type.empty());
      REQUIRE(ev->source == in.source);
      REQUIRE_FALSE(ev->tenant.empty());
      REQUIRE(ev->type.size() <= lim.max_field_bytes);
      REQUIRE(ev->entity_id.empty() == ev->entity_kind.empty());
    } else {
      ++refused;
      REQUIRE(ev.err().code.category() == source_category());
      REQUIRE_FALSE(ev.err().message.empty());
    }
  }
  CHECK(accepted + refused == kMutations);
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

// Hidden (run with "[.bench]"): normalize throughput on one core, for the ingest budget.
TEST_CASE("normalize throughput", "[.bench]") {
  for (const char* which :
       {"jelp/order_new", "eudr/dds.status_changed", "crowdsender/trackingUpdated"}) {
    const std::string w = which;
    const std::string source = w.substr(0, w.find('/'));
    const std::string body =
        read_file(hooklog::test::sample_path(source, w.substr(w.find('/') + 1)));
    constexpr int kRounds = 20000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) {
      auto ev = sources().normalize({source, body, "order_new", {}, {}});
      REQUIRE(ev.ok());
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    WARN(which << " (" << body.size() << " bytes): " << static_cast<long>(kRounds / s)
               << " events/s");
  }
}
