#include "http/delivery/cluster/slot_ownership.hpp"

#include <chrono>
#include <limits>

namespace hooklog::http {

namespace {
constexpr std::uint64_t kUnknown = std::numeric_limits<std::uint64_t>::max();
constexpr auto kPoll = std::chrono::milliseconds(20);
}  // namespace

slot_ownership::slot_ownership(cluster::slot_leases& leases, catch_up_gate gate)
    : leases_(leases),
      gate_(std::move(gate)),
      until_(new std::atomic<std::uint64_t>[leases.options().slots]) {
  for (std::uint32_t s = 0; s < leases.options().slots; ++s) until_[s].store(0);
  if (gate_.stream_last_seq && gate_.applied_seq) {
    thread_ = std::thread([this] { gate_loop(); });
    leases_.on_change([this] { leases_changed(); });
  } else {
    leases_.on_change([this] { notify(); });
  }
}

slot_ownership::~slot_ownership() { stop(); }

void slot_ownership::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool slot_ownership::owns(std::string_view endpoint_id) const {
  const std::uint32_t slot = leases_.slot_of(endpoint_id);
  if (!leases_.holds(slot)) return false;
  return until_[slot].load(std::memory_order_acquire) == 0;
}

void slot_ownership::on_change(std::function<void()> fn) {
  std::lock_guard lk(mu_);
  listeners_.push_back(std::move(fn));
}

std::size_t slot_ownership::gated() const {
  std::size_t n = 0;
  for (auto s : leases_.held()) n += until_[s].load() != 0;
  return n;
}

void slot_ownership::notify() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard lk(mu_);
    fns = listeners_;
  }
  for (auto& f : fns) f();
}

void slot_ownership::leases_changed() {
  const auto now = leases_.held();
  std::vector<std::uint32_t> gained;
  {
    std::lock_guard lk(mu_);
    for (auto s : now)
      if (!held_.count(s)) gained.push_back(s);
    held_ = {now.begin(), now.end()};
  }
  if (!gained.empty()) {
    // Asked after the slots were taken: every attempt their previous holder recorded before
    // losing them is at or below this sequence.
    const std::uint64_t target = gate_.stream_last_seq().value_or(kUnknown);
    for (auto s : gained) until_[s].store(target, std::memory_order_release);  // 0: an empty stream
    cv_.notify_all();
  }
  notify();  // lost slots (and gained ones already caught up) take effect at once
}

void slot_ownership::gate_loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, kPoll);
    if (stop_) break;
    std::vector<std::uint32_t> waiting(held_.begin(), held_.end());
    lk.unlock();
    bool opened = false;
    std::optional<std::uint64_t> asked;  // at most one JetStream request per pass
    const std::uint64_t applied = gate_.applied_seq();
    for (auto s : waiting) {
      std::uint64_t until = until_[s].load(std::memory_order_acquire);
      if (until == kUnknown) {
        if (!asked) asked = gate_.stream_last_seq().value_or(kUnknown);
        until = *asked;
        until_[s].store(until, std::memory_order_release);
      }
      if (until != 0 && until != kUnknown && applied >= until) {
        until_[s].store(0, std::memory_order_release);
        opened = true;
      }
    }
    if (opened) notify();
    lk.lock();
  }
}

}  // namespace hooklog::http
