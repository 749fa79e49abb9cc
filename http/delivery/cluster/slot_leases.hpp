#pragma once
// Slot leases: which node of a cell runs which delivery work, held in a JetStream key-value
// bucket `hooklog_<cell>_leases`.
//
// The work is split into N slots (default 64); an endpoint's slot is slot_of(endpoint id, N), a
// stable hash (FNV-1a 64 of the id's bytes, mod N), the same on every node and build. Keys:
//   config.slots   N, created by the first node; a node started with another N is refused.
//   config.lease_ttl_ms, config.key_check
//                  the same for the lease TTL (each node judges the others' heartbeats by its
//                  own TTL and fences itself by it) and for a check value of --secret-key.
//   node.<id>      the node's heartbeat: put every `heartbeat` (the value is a counter); its
//                  revision moving is what tells the others the node lives. At open, a node
//                  whose key exists waits 2.5 heartbeats: a revision that moves meanwhile is
//                  another live process with the same id, and the open is refused.
//   slot.<n>       the holder's node id, or "" when free. Every change is a compare-and-set on
//                  the revision last seen (kvStore_Create / kvStore_Update), so of two nodes that
//                  take the same slot at once exactly one wins; the loser sees the winner on the
//                  next tick.
// A watcher (kvStore_WatchAll) keeps a local copy of the bucket and the moment (this node's
// clock) each key's current revision was first seen.
//
// One tick (every `heartbeat`, on the lease thread; tests may call tick() themselves):
//   1. heartbeat: put node.<id>. A node whose heartbeat was acknowledged late (after its fence
//      time) was fenced meanwhile: it drops every slot and takes them again by CAS (below), so a
//      takeover that happened in the gap wins.
//   2. live nodes = this one + every node whose heartbeat revision moved less than `ttl` ago;
//      fair share = ceil(N / live).
//   3. a slot this node holds that names another node now was taken over: dropped.
//   4. more than the share: the extra slots are dropped at once (owns() turns false) and
//      released (CAS to "") one heartbeat later, so that attempts in flight on them finish and
//      are recorded before a successor reads their due items.
//   5. fewer: take slots (up to the share) that are missing, free, or held by a dead node (its
//      heartbeat revision unchanged for `ttl` as this node observed it, checked again with a
//      fresh read just before the CAS).
//
// Fencing and the clock assumption. holds() is true only while the last acknowledged heartbeat
// was *sent* less than `ttl - fence_margin` ago, by this node's own clock (CLOCK_BOOTTIME: it
// counts time spent stopped, paused or suspended). Another node takes a slot over only when the
// holder's heartbeat revision did not move for `ttl` since it first saw that revision, which is
// after the holder sent it. So a holder that stops heart-beating (stuck, SIGSTOP, cut off from
// NATS) stops starting work at least `fence_margin` before anyone may take its slots over,
// provided the nodes' clocks run at the same rate within fence_margin / ttl (NTP slews by at
// most 0.05 %; the defaults leave 20 %). Wall clocks need not agree. Work started before the
// fence (requests in flight) may finish: the successor may send it again (at-least-once, with
// the same webhook-id).
//
// Thread safety: holds(), held(), stats() from any thread; tick() from one thread at a time
// (the lease thread, or a test when start() was not called). on_change functions run on the
// thread that ticks, with no lock held, after the set of held slots changed.
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/result.hpp"

namespace hooklog::cluster {

enum class lease_errc {
  success = 0,
  nats_failure,  // a NATS call failed; the message names the call and NATS' text
  bad_config,    // options that cannot work (a bad node id, ttl too short, another slot count)
};
const std::error_category& lease_category() noexcept;
inline std::error_code make_error_code(lease_errc e) noexcept {
  return {static_cast<int>(e), lease_category()};
}

struct slot_lease_options {
  std::string cell;     // the bucket is hooklog_<cell>_leases
  std::string node_id;  // unique in the cell; letters, digits, '-' and '_'
  std::uint32_t slots = 64;
  std::chrono::milliseconds ttl{5000};           // others take over after this without a heartbeat
  std::chrono::milliseconds heartbeat{1000};     // tick interval
  std::chrono::milliseconds fence_margin{1000};  // stop this long before anyone may take over
  int replicas = 1;                              // of the bucket's stream (3 on a 3-server cluster)
  // A value every node of the cell must share, checked like the slot count (empty: not
  // checked): app.cpp passes a check value derived from --secret-key, so a node started with
  // another key (whose endpoint secrets and tree heads the others cannot open or verify) is
  // refused at start. Never the key itself.
  std::string key_check;
};

struct slot_lease_stats {
  std::uint64_t ticks = 0, heartbeat_failures = 0, acquired = 0, taken_over = 0, released = 0,
                lost = 0, cas_conflicts = 0, fenced = 0;
  std::size_t held = 0, live_nodes = 0;
};

class slot_leases {
 public:
  // Opens (creates when missing) the bucket on `conn` (borrowed: it must outlive this object)
  // and starts the watcher. Checks the options and the cell's slot count.
  static result<std::unique_ptr<slot_leases>> open(natsConnection* conn, slot_lease_options opts);
  ~slot_leases();
  slot_leases(const slot_leases&) = delete;
  slot_leases& operator=(const slot_leases&) = delete;

  // Starts the lease thread (tick() every heartbeat).
  void start();
  // Stops the lease thread and the watcher. release: drop every slot and free it (CAS to ""),
  // and delete the heartbeat key, so the others take over at once (a clean shutdown); without
  // it the slots stay named until the others see the heartbeat stop (like a crash).
  void stop(bool release = true);

  // One heartbeat and balancing step (see above). An error when the heartbeat was not
  // acknowledged; the leases fence themselves by the clock either way.
  result<void> tick();

  static std::uint32_t slot_of(std::string_view key, std::uint32_t slots);
  std::uint32_t slot_of(std::string_view key) const { return slot_of(key, opts_.slots); }
  // True while this node holds `slot` and its last heartbeat is recent enough (fencing).
  bool holds(std::uint32_t slot) const;
  // The slots holds() is true for, ascending.
  std::vector<std::uint32_t> held() const;
  slot_lease_stats stats() const;
  const slot_lease_options& options() const { return opts_; }
  void on_change(std::function<void()> fn);

 private:
  struct observed {
    std::string value;
    std::uint64_t rev = 0;
    bool present = false;
    std::int64_t seen_ms = 0;  // when this revision was first seen (boot clock)
  };
  explicit slot_leases(slot_lease_options opts);
  result<void> setup(natsConnection* conn);
  // Stores `mine` under `key` when the bucket has none; else bad_config with refusal(have, mine)
  // unless the stored value equals it.
  result<void> agree(
      const std::string& key, const std::string& mine,
      const std::function<std::string(const std::string&, const std::string&)>& refusal);
  // bad_config when another live process heartbeats under this node id (its key's revision
  // moves within 2.5 heartbeats); waits that long only when the key exists.
  result<void> id_in_use();
  void watch_loop();
  void tick_loop();
  void balance(std::int64_t now);
  bool fenced_at(std::int64_t now) const;
  bool node_alive(const std::string& node, std::int64_t now) const;  // under mu_
  // Create (exists false) or update at revision `last`; the new revision, 0 when refused.
  std::uint64_t cas(const std::string& key, const std::string& value, std::uint64_t last,
                    bool exists);
  void drop(const std::vector<std::uint32_t>& slots);
  void notify();

  slot_lease_options opts_;
  std::string node_key_;
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
  kvWatcher* watcher_ = nullptr;
  std::thread watch_thread_, tick_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;

  mutable std::mutex mu_;
  std::map<std::string, observed, std::less<>> seen_;  // the bucket as the watcher saw it
  bool synced_ = false;                                // the watcher delivered the initial state
  std::condition_variable synced_cv_;
  std::set<std::uint32_t> held_;
  std::map<std::uint32_t, std::uint64_t> written_;  // revision of our last take of each slot
  std::map<std::uint32_t, std::int64_t> draining_;  // dropped extras -> when (freed a beat later)
  std::atomic<std::int64_t> last_ok_ms_{0};         // send time of the last acknowledged heartbeat
  std::uint64_t beat_ = 0;
  slot_lease_stats stats_;
  std::vector<std::function<void()>> listeners_;
};

}  // namespace hooklog::cluster

template <>
struct std::is_error_code_enum<hooklog::cluster::lease_errc> : std::true_type {};
