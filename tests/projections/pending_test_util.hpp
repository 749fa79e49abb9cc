#pragma once
// Reads of the pending projection shared by its tests (pending_test.cpp, pending_replay_test.cpp).
#include "proj_test_util.hpp"

namespace hooklog::test {

inline std::optional<projections::pending_item> find(fixture& f, const std::string& ep,
                                                     std::uint64_t seq) {
  auto t = f.read();
  auto p = f.runner->queue().find(t, ep, seq);
  REQUIRE(p);
  return *p;
}
inline projections::pending_counts counts(fixture& f, const std::string& ep) {
  auto t = f.read();
  auto c = f.runner->queue().counts(t, ep);
  REQUIRE(c);
  return *c;
}

}  // namespace hooklog::test
