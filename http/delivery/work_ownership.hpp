#pragma once
// Work ownership: which deliveries and replays this node runs.
//
// Single-node mode has no ownership object (or owns_everything): the node runs all work, exactly
// as before. In cluster mode every node materializes the same log, so every node's pending
// projection holds every due delivery; the dispatcher and the replay manager ask owns() before
// they start work for an endpoint, and only the node that holds the endpoint's slot (a lease,
// http/delivery/cluster/slot_leases.hpp) sends it.
//
// Contract of an implementation:
//   * owns() is cheap (called per endpoint per dispatch round and before every attempt) and
//     safe from any thread; it may turn false at any moment without a notification (a lease
//     that was not renewed in time fences itself by the local monotonic clock), never true
//     without one.
//   * on_change() registers a function that runs (on an implementation thread, never under a
//     lock the caller could hold) after owned work was added or removed; the dispatcher uses it
//     to start a round, so due deliveries of a newly owned slot start at once (they are read
//     from the pending projection, which every node holds). Registered before start(); the
//     function must stay callable until the owner is destroyed or the dispatcher stopped.
//   * Work that was started before owns() turned false may finish (an attempt in flight is
//     completed and recorded); the successor may send it again: at-least-once, with the same
//     webhook-id, which depends only on the log (event_id_for(seq) or
//     fresh_webhook_id(replay id, seq)).
#include <functional>
#include <string_view>

namespace hooklog::http {

class work_ownership {
 public:
  virtual ~work_ownership() = default;
  // True while this node runs the deliveries and replays of `endpoint_id`.
  virtual bool owns(std::string_view endpoint_id) const = 0;
  virtual void on_change(std::function<void()> fn) = 0;
};

// The single-node owner: everything, never changes.
class owns_everything final : public work_ownership {
 public:
  bool owns(std::string_view) const override { return true; }
  void on_change(std::function<void()>) override {}
};

// A cluster node that does not deliver (serve --no-deliver): it runs no replay either.
class owns_nothing final : public work_ownership {
 public:
  bool owns(std::string_view) const override { return false; }
  void on_change(std::function<void()>) override {}
};

}  // namespace hooklog::http
