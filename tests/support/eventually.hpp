#pragma once
// Polls `pred` every 10 ms until it holds or `timeout` passes; returns its last value. For tests
// that wait on another thread or process (a bounded wait, never a timed assertion).
#include <chrono>
#include <thread>

namespace hooklog::test {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace hooklog::test
