#pragma once
// The work_ownership of a cluster node: an endpoint is owned while this node holds the lease of
// its slot (slot_leases::slot_of(endpoint id)); fenced leases own nothing.
//
// Catch-up gate. Every node's pending projection says what is due; a node that has just taken a
// slot (it joined, came back after a pause, or the slots were rebalanced) may not yet have
// applied the attempts the slot's previous holder recorded, and would send those deliveries
// again. So a newly held slot is owned only once the projections have applied the stream up to
// its last sequence as of the moment the slot was taken (asked of JetStream then); until then
// owns() is false for its endpoints, and when the projections get there the change listeners run
// (the dispatcher starts a round). Every slot starts gated, and a slot is gated again when a
// change finds it lost, so none is owned between being taken and its target being set. A slot
// held again without any change between (a fence lifted by the next heartbeat) is not gated:
// nobody else held it meanwhile. Gated slots are checked every 20 ms, and once a second when
// none is. Without a gate (both functions empty) a held slot is owned at once.
//
// Thread safety: owns() from any thread (two atomic loads); the gate is set on the lease
// thread's change notification and cleared by this object's own thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "http/delivery/cluster/slot_leases.hpp"
#include "http/delivery/work_ownership.hpp"

namespace hooklog::http {

struct catch_up_gate {
  // The stream's last sequence now (nullopt when it cannot be asked: the slot stays gated until
  // it can).
  std::function<std::optional<std::uint64_t>()> stream_last_seq;
  // The sequence every projection has applied.
  std::function<std::uint64_t()> applied_seq;
};

class slot_ownership final : public work_ownership {
 public:
  // `leases` must outlive this object and be stopped before it is destroyed (its listener, added
  // here, calls into this object).
  explicit slot_ownership(cluster::slot_leases& leases, catch_up_gate gate = {});
  ~slot_ownership() override;
  slot_ownership(const slot_ownership&) = delete;
  slot_ownership& operator=(const slot_ownership&) = delete;

  // Stops the gate's thread (idempotent; the destructor calls it): call it before the objects
  // behind the gate's functions go away. Gated slots stay gated.
  void stop();

  bool owns(std::string_view endpoint_id) const override;
  void on_change(std::function<void()> fn) override;

  // Slots held but gated (waiting for the projections).
  std::size_t gated() const;

 private:
  void leases_changed();  // on the lease thread
  void gate_loop();
  void notify();

  cluster::slot_leases& leases_;
  catch_up_gate gate_;
  // Per slot: 0 open, else the sequence the projections must reach (kUnknown: ask again).
  std::unique_ptr<std::atomic<std::uint64_t>[]> until_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::uint32_t> held_;  // at the last change notification
  std::vector<std::function<void()>> listeners_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hooklog::http
