#pragma once
// What the dispatcher keeps in memory per endpoint between rounds: its slots in flight, its
// rate limit's tokens, a Retry-After pause, its failing period, whether a disable was written,
// and its claims. The stored endpoint (projections/endpoint.hpp) is the truth; this is the
// dispatcher's running account of it, forgotten at a restart.
//
// refresh(updated_at): the stored endpoint changed (an enable, a PATCH): the pause, the failing
// period and the disable decision end. Returns true when they did.
// refill(now, rate)/take_token(now, rate): a token bucket of `rate` tokens per second holding at
// most max(1, rate), full at the first refill; take_token() takes one, or says when (µs) the
// next one comes. A rate of 0 is no limit (neither is called).
// free_slots(): max_in_flight less the attempts in flight.
// slot_freed(): an attempt ended; true when the dispatcher should run a round for it: due items
// waited for a slot (starved) and enough are free to be worth one (an eighth of
// max_in_flight, at least one).
//
// Thread safety: none; the dispatcher guards each under its lock (claims and scan_after: its
// own thread's, see below).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace hooklog::http {

struct endpoint_state {
  std::uint32_t in_flight = 0;
  std::uint32_t max_in_flight = 1;
  double tokens = 0;
  std::int64_t refilled_at = 0;
  std::int64_t not_before = 0;     // Retry-After pause
  std::int64_t failing_since = 0;  // first failure after the last success (0 = unknown)
  bool disabling = false;          // an endpoint_disabled record was written
  bool starved = false;            // due items waited for a free slot in the last round
  // The endpoint's updated_at when not_before, failing_since and disabling were decided.
  std::int64_t seen_updated_at = -1;
  // Claims: event seqs in flight, or whose attempt record is not applied yet. The dispatcher
  // thread's alone (read without its lock by the round's queue walk, once per item looked at):
  // other threads hand releases over to it.
  std::unordered_set<std::uint64_t> claimed;
  // Where the next round's walk starts (the last item the previous one looked at when it was
  // cut at the scan bound; 0 = from the first). Dispatcher thread only.
  std::uint64_t scan_after = 0;
  // Endpoints with entity ordering: each entity's first queued item the walks since the last
  // one from the first item have seen (entity key -> event seq). A walk that goes on from
  // scan_after has not seen the items before it, so this says which entities they hold: an item
  // whose entity has an earlier one here waits. Cleared when a walk starts from the first item.
  // Dispatcher thread only.
  std::unordered_map<std::string, std::uint64_t> entity_first;

  bool refresh(std::int64_t updated_at);
  // The next walk starts from the first item, with nothing known of its entities.
  void restart_walk() {
    scan_after = 0;
    entity_first.clear();
  }
  void refill(std::int64_t now_us, std::int64_t rate);
  std::optional<std::int64_t> take_token(std::int64_t now_us, std::int64_t rate);
  std::uint32_t free_slots() const {
    return in_flight >= max_in_flight ? 0 : max_in_flight - in_flight;
  }
  bool slot_freed();
};

}  // namespace hooklog::http
