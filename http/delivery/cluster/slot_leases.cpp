#include "http/delivery/cluster/slot_leases.hpp"

#include <time.h>

#include <algorithm>

#include "engine/logger.hpp"
#include "engine/thread_name.hpp"

namespace hooklog::cluster {

namespace {

class lease_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.lease"; }
  std::string message(int c) const override {
    switch (static_cast<lease_errc>(c)) {
      case lease_errc::success:
        return "success";
      case lease_errc::nats_failure:
        return "a NATS call failed";
      case lease_errc::bad_config:
        return "bad lease configuration";
    }
    return "unknown lease error";
  }
};

error lease_error(lease_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

error nats_error(const std::string& call, natsStatus s) {
  std::string text = natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last && *last)
    text += std::string(": ") + last;
  return lease_error(lease_errc::nats_failure, call + " failed: " + text);
}

// Milliseconds of CLOCK_BOOTTIME: monotonic, and it keeps counting while the process is stopped
// or the machine suspended (CLOCK_MONOTONIC does not count a suspend).
std::int64_t boot_ms() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

bool valid_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

std::string slot_key(std::uint32_t s) {
  return "slot." + std::to_string(s);
}
constexpr std::string_view kNodePrefix = "node.";

}  // namespace

const std::error_category& lease_category() noexcept {
  static const lease_category_impl c;
  return c;
}

std::uint32_t slot_leases::slot_of(std::string_view key, std::uint32_t slots) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return slots ? static_cast<std::uint32_t>(h % slots) : 0;
}

slot_leases::slot_leases(slot_lease_options opts)
    : opts_(std::move(opts)), node_key_("node." + opts_.node_id) {}

result<std::unique_ptr<slot_leases>> slot_leases::open(natsConnection* conn,
                                                       slot_lease_options opts) {
  if (!valid_token(opts.cell))
    return lease_error(lease_errc::bad_config,
                       "cell '" + opts.cell + "': use 1 to 64 letters, digits, '-' or '_'");
  if (!valid_token(opts.node_id))
    return lease_error(lease_errc::bad_config,
                       "node id '" + opts.node_id + "': use 1 to 64 letters, digits, '-' or '_'");
  if (opts.slots == 0 || opts.slots > 4096)
    return lease_error(lease_errc::bad_config,
                       "slots: must be 1 to 4096, got " + std::to_string(opts.slots));
  if (opts.heartbeat.count() <= 0 || opts.fence_margin.count() <= 0 ||
      opts.ttl <= opts.heartbeat + opts.fence_margin)
    return lease_error(lease_errc::bad_config,
                       "lease ttl (" + std::to_string(opts.ttl.count()) +
                           " ms) must exceed heartbeat (" + std::to_string(opts.heartbeat.count()) +
                           " ms) + fence margin (" + std::to_string(opts.fence_margin.count()) +
                           " ms)");
  std::unique_ptr<slot_leases> l(new slot_leases(std::move(opts)));
  if (auto r = l->setup(conn); !r) return r.err();
  return l;
}

result<void> slot_leases::setup(natsConnection* conn) {
  if (auto s = natsConnection_JetStream(&js_, conn, nullptr); s != NATS_OK)
    return nats_error("JetStream context", s);
  const std::string bucket = "hooklog_" + opts_.cell + "_leases";
  // Nodes of a new cell starting at once: the bucket's stream may be electing its leader (a
  // timeout, no responders); tried again for up to 30 s.
  natsStatus s = NATS_OK;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    s = js_KeyValue(&kv_, js_, bucket.c_str());
    if (s == NATS_NOT_FOUND) {
      kvConfig cfg;
      kvConfig_Init(&cfg);
      cfg.Bucket = bucket.c_str();
      cfg.Description = "hooklog delivery slot leases";
      cfg.History = 1;
      cfg.Replicas = opts_.replicas;
      s = js_CreateKeyValue(&kv_, js_, &cfg);
      if (s != NATS_OK && s != NATS_TIMEOUT && s != NATS_NO_RESPONDERS)
        s = js_KeyValue(&kv_, js_, bucket.c_str());  // another node created it first
    }
    if ((s != NATS_TIMEOUT && s != NATS_NO_RESPONDERS) ||
        std::chrono::steady_clock::now() >= give_up)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (s != NATS_OK) return nats_error("opening key-value bucket " + bucket, s);
  // Settings every node of the cell must share: the first node's are stored, the others' must
  // equal them. The slot count splits the work; the lease TTL is what each node judges the
  // others' heartbeats by and fences itself by (a node with a longer one kept slots after a node
  // with a shorter one took them: both delivered, for up to the difference); the key check
  // says the nodes open each other's sealed secrets.
  if (auto a = agree("config.slots", std::to_string(opts_.slots),
                     [&](const std::string& have, const std::string& mine) {
                       return "cell '" + opts_.cell + "' splits delivery work into " + have +
                              " slots, this node was started with " + mine;
                     });
      !a)
    return a.err();
  if (auto a = agree("config.lease_ttl_ms", std::to_string(opts_.ttl.count()),
                     [&](const std::string& have, const std::string& mine) {
                       return "cell '" + opts_.cell + "' runs with a lease TTL of " + have +
                              " ms, this node was started with " + mine +
                              " ms (--lease-ttl-ms): every node must use the same";
                     });
      !a)
    return a.err();
  if (!opts_.key_check.empty())
    if (auto a = agree("config.key_check", opts_.key_check,
                       [&](const std::string&, const std::string&) {
                         return "cell '" + opts_.cell +
                                "' was started with another --secret-key than this node: its "
                                "endpoint secrets and tree heads would not open or verify here";
                       });
        !a)
      return a.err();
  // A node id is one live process's: two processes heartbeating under one id both hold every
  // slot the id holds, and both deliver everything. A heartbeat key left by this id's last run
  // (a crash) stays still; one a live process writes moves within its heartbeat.
  if (auto live = id_in_use(); !live) return live.err();
  if (auto w = kvStore_WatchAll(&watcher_, kv_, nullptr); w != NATS_OK)
    return nats_error("watching " + bucket, w);
  watch_thread_ = std::thread([this] {
    set_thread_name("lease-watch");
    watch_loop();
  });
  std::unique_lock lk(mu_);
  if (!synced_cv_.wait_for(lk, std::chrono::seconds(10), [&] { return synced_; }))
    return lease_error(lease_errc::nats_failure,
                       "the watcher of " + bucket + " gave no initial state in 10 s");
  return {};
}

result<void> slot_leases::agree(
    const std::string& key, const std::string& mine,
    const std::function<std::string(const std::string&, const std::string&)>& refusal) {
  std::uint64_t rev = 0;
  if (kvStore_CreateString(&rev, kv_, key.c_str(), mine.c_str()) == NATS_OK) return {};
  kvEntry* e = nullptr;
  if (auto g = kvStore_Get(&e, kv_, key.c_str()); g != NATS_OK)
    return nats_error("reading " + key, g);
  std::string have = kvEntry_ValueString(e) ? kvEntry_ValueString(e) : "";
  kvEntry_Destroy(e);
  if (have != mine) return lease_error(lease_errc::bad_config, refusal(have, mine));
  return {};
}

result<void> slot_leases::id_in_use() {
  auto revision = [&]() -> std::optional<std::uint64_t> {
    kvEntry* e = nullptr;
    if (kvStore_Get(&e, kv_, node_key_.c_str()) != NATS_OK) return std::nullopt;
    const std::uint64_t r = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return r;
  };
  const auto before = revision();
  if (!before) return {};  // no heartbeat under this id (or it was deleted by a clean stop)
  std::this_thread::sleep_for(opts_.heartbeat * 5 / 2);  // a late tick still lands in it
  const auto after = revision();
  if (after && *after != *before)
    return lease_error(lease_errc::bad_config,
                       "node id '" + opts_.node_id + "' is in use by a live node of cell '" +
                           opts_.cell + "' (its heartbeat moved while this node waited): give " +
                           "each node its own --node-id (a copied data directory copies " +
                           "<data>/cluster-node-id)");
  return {};
}

slot_leases::~slot_leases() {
  stop(false);
  if (watcher_) kvWatcher_Destroy(watcher_);
  if (kv_) kvStore_Destroy(kv_);
  if (js_) jsCtx_Destroy(js_);
}

void slot_leases::watch_loop() {
  while (!stopping_) {
    kvEntry* e = nullptr;
    natsStatus s = kvWatcher_Next(&e, watcher_, 200);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) {
      if (stopping_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    std::lock_guard lk(mu_);
    if (!e) {
      synced_ = true;
      synced_cv_.notify_all();
      continue;
    }
    auto& o = seen_[kvEntry_Key(e)];
    const std::uint64_t rev = kvEntry_Revision(e);
    if (rev > o.rev) {
      o.rev = rev;
      o.seen_ms = boot_ms();
      o.present = kvEntry_Operation(e) == kvOp_Put;
      const void* v = kvEntry_Value(e);
      o.value = o.present && v ? std::string(static_cast<const char*>(v), kvEntry_ValueLen(e))
                               : std::string();
    }
    kvEntry_Destroy(e);
  }
}

void slot_leases::start() {
  if (tick_thread_.joinable()) return;
  stopping_ = false;
  tick_thread_ = std::thread([this] {
    set_thread_name("lease-tick");
    tick_loop();
  });
}

void slot_leases::tick_loop() {
  while (!stopping_) {
    const auto next = std::chrono::steady_clock::now() + opts_.heartbeat;
    (void)tick();  // failures are counted; the leases fence themselves by the clock
    std::unique_lock lk(stop_mu_);
    stop_cv_.wait_until(lk, next, [&] { return stopping_.load(); });
  }
}

void slot_leases::stop(bool release) {
  {
    std::lock_guard lk(stop_mu_);
    if (stopping_ && !tick_thread_.joinable() && !watch_thread_.joinable()) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (tick_thread_.joinable()) tick_thread_.join();
  if (release && kv_) {
    std::vector<std::uint32_t> mine, all;
    {
      std::lock_guard lk(mu_);
      mine.assign(held_.begin(), held_.end());
      all = mine;
      for (auto& [s, t] : draining_) all.push_back(s);
      draining_.clear();
    }
    drop(mine);
    for (auto s : all) {
      std::uint64_t last = 0;
      {
        std::lock_guard lk(mu_);
        auto it = seen_.find(slot_key(s));
        if (it == seen_.end() || it->second.value != opts_.node_id) continue;
        last = it->second.rev;
      }
      if (cas(slot_key(s), "", last, true)) {
        std::lock_guard lk(mu_);
        ++stats_.released;
      }
    }
    kvStore_Delete(kv_, node_key_.c_str());
  }
  if (watcher_) kvWatcher_Stop(watcher_);
  if (watch_thread_.joinable()) watch_thread_.join();
}

void slot_leases::on_change(std::function<void()> fn) {
  std::lock_guard lk(mu_);
  listeners_.push_back(std::move(fn));
}

void slot_leases::notify() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard lk(mu_);
    fns = listeners_;
  }
  for (auto& f : fns) f();
}

bool slot_leases::fenced_at(std::int64_t now) const {
  const std::int64_t ok = last_ok_ms_.load();
  return ok == 0 || now >= ok + (opts_.ttl - opts_.fence_margin).count();
}

bool slot_leases::holds(std::uint32_t slot) const {
  if (fenced_at(boot_ms())) return false;
  std::lock_guard lk(mu_);
  return held_.count(slot) > 0;
}

std::vector<std::uint32_t> slot_leases::held() const {
  if (fenced_at(boot_ms())) return {};
  std::lock_guard lk(mu_);
  return {held_.begin(), held_.end()};
}

slot_lease_stats slot_leases::stats() const {
  const auto h = held();
  std::lock_guard lk(mu_);
  slot_lease_stats s = stats_;
  s.held = h.size();
  return s;
}

void slot_leases::drop(const std::vector<std::uint32_t>& slots) {
  if (slots.empty()) return;
  {
    std::lock_guard lk(mu_);
    for (auto s : slots) held_.erase(s);
  }
  notify();
}

std::uint64_t slot_leases::cas(const std::string& key, const std::string& value, std::uint64_t last,
                               bool exists) {
  std::uint64_t rev = 0;
  natsStatus s =
      exists ? kvStore_Update(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()),
                              last)
             : kvStore_Create(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK) return rev;
  std::lock_guard lk(mu_);
  ++stats_.cas_conflicts;
  return 0;
}

result<void> slot_leases::tick() {
  const std::int64_t sent = boot_ms();
  const std::string beat = std::to_string(++beat_);
  natsStatus s =
      kvStore_Put(nullptr, kv_, node_key_.c_str(), beat.data(), static_cast<int>(beat.size()));
  const std::int64_t acked = boot_ms();
  {
    std::lock_guard lk(mu_);
    ++stats_.ticks;
    if (s != NATS_OK) ++stats_.heartbeat_failures;
  }
  if (s != NATS_OK) {
    if (fenced_at(acked)) {
      std::vector<std::uint32_t> mine;
      {
        std::lock_guard lk(mu_);
        mine.assign(held_.begin(), held_.end());
        if (!mine.empty()) ++stats_.fenced;
      }
      if (!mine.empty())
        logging::warn(
            "cluster.fenced",
            "no heartbeat acknowledged in time: this node stopped dispatching its delivery slots",
            {{"node", opts_.node_id}, {"slots", mine.size()}, {"error", natsStatus_GetText(s)}});
      drop(mine);
    }
    return nats_error("heartbeat " + node_key_, s);
  }
  if (fenced_at(acked)) {
    // Fenced since the last acknowledged heartbeat (or never held): whatever this node held may
    // have been taken over meanwhile; it is taken again by CAS only.
    std::vector<std::uint32_t> mine;
    {
      std::lock_guard lk(mu_);
      mine.assign(held_.begin(), held_.end());
      if (last_ok_ms_.load() != 0 && !mine.empty()) ++stats_.fenced;
    }
    if (!mine.empty())
      logging::warn("cluster.fenced",
                    "a heartbeat was acknowledged after the fence: this node stopped dispatching "
                    "its delivery "
                    "slots and takes them back only by compare-and-set",
                    {{"node", opts_.node_id},
                     {"slots", mine.size()},
                     {"since_last_heartbeat_ms", acked - last_ok_ms_.load()}});
    drop(mine);
  }
  last_ok_ms_ = sent;
  balance(boot_ms());
  return {};
}

bool slot_leases::node_alive(const std::string& node, std::int64_t now) const {
  if (node == opts_.node_id) return true;
  auto it = seen_.find(std::string(kNodePrefix) + node);
  if (it == seen_.end() || !it->second.present) return false;
  return now - it->second.seen_ms < opts_.ttl.count();
}

void slot_leases::balance(std::int64_t now) {
  struct want {
    std::uint32_t slot;
    std::string holder;  // "" free or missing
    std::uint64_t rev;
    bool exists;
    bool mine;
  };
  std::vector<std::uint32_t> lost, extra, drained;
  std::vector<want> cands, reclaim;
  std::size_t share = 0, keep = 0;
  {
    std::lock_guard lk(mu_);
    if (!synced_) return;
    std::size_t live = 0;
    for (const auto& [key, o] : seen_)
      if (key.rfind(kNodePrefix, 0) == 0 && o.present &&
          node_alive(key.substr(kNodePrefix.size()), now))
        ++live;
    if (seen_.find(node_key_) == seen_.end() || !seen_[node_key_].present)
      ++live;  // our put not seen yet
    stats_.live_nodes = live;
    share = (opts_.slots + live - 1) / live;
    // Start looking at a place of our own, so nodes taking at once collide less.
    const std::uint32_t start = slot_of(opts_.node_id, opts_.slots);
    for (std::uint32_t i = 0; i < opts_.slots; ++i) {
      const std::uint32_t sl = (start + i) % opts_.slots;
      auto it = seen_.find(slot_key(sl));
      const bool exists = it != seen_.end() && it->second.present;
      const std::string holder = exists ? it->second.value : std::string();
      const std::uint64_t rev = it != seen_.end() ? it->second.rev : 0;
      if (auto d = draining_.find(sl); d != draining_.end()) {
        if (holder != opts_.node_id)
          draining_.erase(d);
        else if (now - d->second >= opts_.heartbeat.count())
          drained.push_back(sl);
        continue;  // being handed over: not taken back
      }
      if (held_.count(sl)) {
        // Named by another node: taken over (we were fenced); unless the watcher has not shown
        // our own write yet.
        if (holder != opts_.node_id && rev >= written_[sl])
          lost.push_back(sl);
        else
          ++keep;
        continue;
      }
      if (holder == opts_.node_id)
        reclaim.push_back({sl, holder, rev, exists, true});
      else if (holder.empty() || !node_alive(holder, now))
        cands.push_back({sl, holder, rev, exists, false});
    }
    stats_.lost += lost.size();
    if (keep > share) {
      for (auto it = held_.rbegin(); it != held_.rend() && extra.size() < keep - share; ++it)
        if (std::find(lost.begin(), lost.end(), *it) == lost.end()) extra.push_back(*it);
    }
  }
  drop(lost);
  // Release extras: stop at once (owns() false), free the slot for the others a heartbeat later,
  // so that the attempts in flight on it can finish and be recorded before a successor reads
  // the slot's due items (fewer repeats at a rebalance).
  drop(extra);
  {
    std::lock_guard lk(mu_);
    for (auto sl : extra) draining_[sl] = now;
  }
  for (auto sl : drained) {
    std::uint64_t rev = 0;
    {
      std::lock_guard lk(mu_);
      rev = seen_[slot_key(sl)].rev;
      draining_.erase(sl);  // a refused CAS: the next tick sees the slot as ours, not held
    }
    if (cas(slot_key(sl), "", rev, true)) {
      std::lock_guard lk(mu_);
      ++stats_.released;
    }
  }
  keep -= std::min(keep, extra.size());
  std::vector<std::uint32_t> gained;
  // Our own slots first (after a restart or a fence), then free ones, then dead nodes' ones.
  std::stable_sort(cands.begin(), cands.end(), [](const want& a, const want& b) {
    return a.holder.empty() && !b.holder.empty();
  });
  reclaim.insert(reclaim.end(), cands.begin(), cands.end());
  std::vector<std::uint32_t> to_free;
  for (auto& w : reclaim) {
    if (keep + gained.size() >= share) {
      if (w.mine) to_free.push_back(w.slot);  // ours by name but over the share: free it
      continue;
    }
    if (!w.holder.empty() && !w.mine) {
      // A dead holder: read its heartbeat once more, in case the watcher lags.
      kvEntry* e = nullptr;
      natsStatus g = kvStore_Get(&e, kv_, (std::string(kNodePrefix) + w.holder).c_str());
      std::uint64_t fresh = g == NATS_OK ? kvEntry_Revision(e) : 0;
      if (e) kvEntry_Destroy(e);
      if (g != NATS_OK && g != NATS_NOT_FOUND) continue;
      {
        std::lock_guard lk(mu_);
        auto it = seen_.find(std::string(kNodePrefix) + w.holder);
        const std::uint64_t known = it != seen_.end() && it->second.present ? it->second.rev : 0;
        if (fresh != known) continue;  // it moved: alive after all
      }
    }
    const std::uint64_t rev = cas(slot_key(w.slot), opts_.node_id, w.rev, w.exists);
    if (!rev) continue;
    gained.push_back(w.slot);
    std::lock_guard lk(mu_);
    written_[w.slot] = rev;
    ++stats_.acquired;
    if (!w.holder.empty() && !w.mine) ++stats_.taken_over;
  }
  for (auto sl : to_free) {
    std::uint64_t rev = 0;
    {
      std::lock_guard lk(mu_);
      rev = seen_[slot_key(sl)].rev;
    }
    if (cas(slot_key(sl), "", rev, true)) {
      std::lock_guard lk(mu_);
      ++stats_.released;
    }
  }
  if (!gained.empty()) {
    std::lock_guard lk(mu_);
    held_.insert(gained.begin(), gained.end());
  }
  if (gained.empty() && extra.empty() && lost.empty()) return;
  if (!gained.empty()) notify();
  std::size_t held_now = 0, live = 0;
  {
    std::lock_guard lk(mu_);
    held_now = held_.size();
    live = stats_.live_nodes;
  }
  logging::info("cluster.slots", "this node's delivery slots changed",
                {{"node", opts_.node_id},
                 {"gained", gained},
                 {"released", extra},
                 {"lost", lost},
                 {"held", held_now},
                 {"live_nodes", live},
                 {"share", share}});
}

}  // namespace hooklog::cluster
