#include "http/delivery/cluster/slot_ownership.hpp"
#include "engine/thread_name.hpp"

#include <chrono>
#include <limits>

namespace hooklog::http {

namespace {
constexpr std::uint64_t kUnknown = std::numeric_limits<std::uint64_t>::max();
constexpr auto kPoll = std::chrono::milliseconds(20);
constexpr auto kIdlePoll = std::chrono::seconds(1);
}  // namespace

slot_ownership::slot_ownership(cluster::slot_leases& leases, catch_up_gate gate)
    : leases_(leases),
      gate_(std::move(gate)),
      until_(new std::atomic<std::uint64_t>[leases.options().slots]) {
  // With a gate every slot starts gated, so one is never owned between the leases taking it
  // and leases_changed() setting its target.
  const bool gated = gate_.stream_last_seq && gate_.applied_seq;
  for (std::uint32_t s = 0; s < leases.options().slots; ++s) until_[s].store(gated ? kUnknown : 0);
  if (gated) {
    thread_ = std::thread([this] {
      set_thread_name("slot-gate");
      gate_loop();
    });
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
    std::set<std::uint32_t> next(now.begin(), now.end());
    for (auto s : now)
      if (!held_.count(s)) gained.push_back(s);
    for (auto s : held_)  // a lost slot is gated again until it is taken and caught up
      if (!next.count(s)) until_[s].store(kUnknown, std::memory_order_release);
    held_ = std::move(next);
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
  bool waiting = false;  // a held slot is gated: check often
  while (!stop_) {
    // Idle, a slower check still opens a slot held again without a change notification (a
    // fence lifted after a notification that found the slot lost).
    cv_.wait_for(lk, waiting ? kPoll : kIdlePoll);
    if (stop_) break;
    lk.unlock();
    bool opened = false;
    waiting = false;
    std::optional<std::uint64_t> asked;  // at most one JetStream request per pass
    const std::uint64_t applied = gate_.applied_seq();
    for (auto s : leases_.held()) {
      std::uint64_t until = until_[s].load(std::memory_order_acquire);
      if (until == 0) continue;
      if (until == kUnknown) {
        if (!asked) asked = gate_.stream_last_seq().value_or(kUnknown);
        until = *asked;
        until_[s].store(until, std::memory_order_release);
      }
      if (until != kUnknown && applied >= until) {
        until_[s].store(0, std::memory_order_release);
        opened = true;
      } else {
        waiting = true;
      }
    }
    if (opened) notify();
    lk.lock();
  }
}

}  // namespace hooklog::http
