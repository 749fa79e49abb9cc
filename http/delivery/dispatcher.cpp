#include "http/delivery/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/record.hpp"
#include "engine/thread_name.hpp"
#include "engine/time_util.hpp"
#include "http/delivery/attempt_batch.hpp"
#include "http/delivery/attempt_verdict.hpp"
#include "http/delivery/delivery_observe.hpp"
#include "http/delivery/delivery_request.hpp"
#include "http/delivery/endpoint_cache.hpp"
#include "http/delivery/endpoint_state.hpp"
#include "http/delivery/handback_pool.hpp"
#include "http/delivery/metrics.hpp"
#include "http/delivery/outbound.hpp"
#include "http/delivery/record_hold.hpp"
#include "http/delivery/request_pool.hpp"
#include "http/delivery/round_events.hpp"
#include "http/delivery/wake_signal.hpp"
#include "projections/attempt.hpp"
#include "projections/endpoint.hpp"
#include "projections/pending.hpp"
#include "projections/retry_policy.hpp"
#include "projections/runner.hpp"
#include "projections/subscriptions.hpp"

namespace hooklog::http {

struct dispatcher::impl {
  event_log& log;
  record_sink& writer;
  projections::projection_runner& runner;
  dispatcher_options opts;

  // An endpoint as the dispatcher uses it: parsed and prepared once per change of its stored
  // state (endpoint_cache.hpp).
  using ep_info = prepared_endpoint;

  // Per-endpoint runtime state (dispatcher thread and completion callbacks: under mu).
  using ep_state = endpoint_state;
  // A claim whose record is committed: released once the runner applied settle_seq.
  struct settling {
    std::uint64_t settle_seq;
    std::string endpoint_id;
    std::uint64_t event_seq;
  };

  // One attempt, from its launch to its record: taken from `contexts` by launch(), handed back
  // by its completion once complete() ran (handback_pool.hpp). Every field is assigned by
  // launch() (info is reset when it is handed back, so no endpoint stays pinned).
  struct attempt_ctx {
    std::shared_ptr<ep_info> info;
    ep_state* state = nullptr;  // eps[info->ep.id] (nodes stay put; read and changed under mu)
    projections::pending_item item;
    std::string tenant, type;
    std::uint64_t hold_gen = 0;  // record_hold::started()'s number for the attempt
  };
  // Completions give contexts back and use the members below; ~dispatcher's stop() joins the
  // I/O threads (out->stop()) before any member is destroyed, so none runs after.
  handback_pool<attempt_ctx> contexts;

  request_pool requests;  // requests' buffers, handed back by the I/O threads (before `out`)
  std::unique_ptr<outbound_client> out;
  std::unique_ptr<attempt_batch> records;  // attempt records, one submission per I/O pass
  mutable std::mutex mu;
  std::condition_variable settled_cv;
  std::unordered_map<std::string, ep_state> eps;
  std::deque<settling> settle_q;  // ascending settle_seq (writer callbacks run in commit order)
  std::atomic<std::size_t> settles_queued{0};  // settle_q.size() for on_applied(); set under mu
  // Claims released at once (an attempt ended without a record, or its record failed): the
  // dispatcher thread erases them at its next loop (release_settled()).
  std::vector<std::pair<std::string, std::uint64_t>> unclaim_q;
  std::uint64_t n_claims = 0;
  std::uint64_t writes_pending = 0;
  std::uint64_t seen_reorders = 0;  // pending::reorders() as of the last round (this thread's)
  record_hold hold;  // no new attempt while attempt records cannot be written (record_hold.hpp)
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::mt19937_64 rng;
  std::mutex rng_mu;

  // Wake-ups of the dispatcher thread: the runner applied records that change what is due, or
  // while claims wait to settle (on_applied), a slot freed on a starved endpoint, a claim
  // settled after its record was applied, stop().
  wake_signal wakeup;

  std::atomic<std::uint64_t> n_sent{0}, n_ok{0}, n_failed{0}, n_dead{0}, n_disabled{0}, n_rounds{0},
      n_in_flight{0}, n_record_errors{0}, n_unowned{0}, n_finished_unowned{0};
  // The ownership change notification pokes through this, cleared by stop() (the owner may
  // outlive the dispatcher).
  struct waker {
    std::mutex m;
    impl* target = nullptr;
  };
  std::shared_ptr<waker> owner_waker = std::make_shared<waker>();

  // Dispatcher thread only.
  endpoint_cache endpoints_now;
  std::unordered_map<std::uint64_t, std::string> entity_cache;  // event metadata for entity ordering
  std::vector<outbound_client::delivery> launches;  // started this round, posted per endpoint
  std::vector<projections::pending_item> picked;    // serve_endpoint(): the items to start
  std::vector<std::uint64_t> picked_seqs;
  ep_state* picked_state = nullptr;                 // the endpoint serve_endpoint() picked for
  std::uint64_t picked_hold_gen = 0;                // record_hold::started() for the picked
  round_events events;                              // the round's events, read once
  bool shared_events = false;                       // more than one endpoint this round

  impl(event_log& l, record_sink& w, projections::projection_runner& r, dispatcher_options o)
      : log(l), writer(w), runner(r), opts(std::move(o)), endpoints_now(r, opts.box), events(l) {
    if (!opts.clock) opts.clock = [] { return now_micros(); };
    rng.seed(opts.rng_seed ? opts.rng_seed : std::random_device{}());
    outbound_options oo;
    oo.threads = opts.io_threads;
    oo.max_connections_per_origin = opts.max_connections_per_origin;
    oo.idle_timeout = opts.idle_connection_timeout;
    oo.allow_private_targets = opts.allow_private_targets;
    oo.ca_file = opts.ca_file;
    oo.excerpt_limit = opts.excerpt_limit;
    oo.recycle = [this](outbound_request&& r) { requests.give(std::move(r)); };
    out = std::make_unique<outbound_client>(oo);
    records = std::make_unique<attempt_batch>(
        writer, [this](std::function<void()> fn) { out->post(std::move(fn)); },
        [this](const attempt_batch::tag& t, bool ok, std::uint64_t settle) {
          settled(t, ok, settle);
        },
        opts.attempt_linger);
    if (opts.ownership)
      opts.ownership->on_change([w = owner_waker] {
        std::lock_guard lk(w->m);
        if (w->target) w->target->poke();
      });
  }

  bool owned(const std::string& endpoint_id) const { return !opts.ownership || opts.ownership->owns(endpoint_id); }

  std::optional<std::int64_t> next_try(const projections::retry_policy& p, std::uint32_t attempt, std::int64_t now) {
    std::lock_guard lk(rng_mu);
    return projections::next_attempt_at(p, attempt, now, rng);
  }

  void poke() { wakeup.notify(); }

  // ---- the loop -------------------------------------------------------------------------
  // The runner published applied_seq() (its hook: the applying thread, under the runner's lock,
  // calls never overlap). A round is worth it when pending's due_changes() moved (items queued,
  // attempts applied, endpoints changed: pending.hpp) or a claim waits for its record to be
  // applied; an event no endpoint takes wakes nobody.
  std::uint64_t changes_seen = 0;  // on_applied() only
  void on_applied(std::uint64_t /*applied*/) {
    const std::uint64_t c = runner.queue().due_changes();
    const bool changed = c != changes_seen;
    changes_seen = c;
    // Pairs with the fence in settled(): it queues then reads applied_seq(), this thread
    // published applied_seq() then reads the count, so one of the two sees the other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (changed || settles_queued.load(std::memory_order_relaxed) > 0) poke();
  }

  void run() {
    std::uint64_t seen_applied = 0;
    std::int64_t wake_at = 0;
    bool first = true;
    while (!stopping) {
      const bool poked = wakeup.take();
      std::uint64_t applied = runner.applied_seq();
      const bool released = release_settled(applied);
      std::int64_t now = opts.clock();
      if (first || released || applied != seen_applied || poked || now >= wake_at) {
        first = false;
        seen_applied = applied;
        wake_at = round(now);
        n_rounds.fetch_add(1, std::memory_order_relaxed);
      }
      now = opts.clock();
      if (wake_at <= now) continue;
      auto wait_us = std::min<std::int64_t>(
          wake_at - now, std::chrono::duration_cast<std::chrono::microseconds>(opts.stop_check).count());
      wakeup.wait_for(std::chrono::microseconds(wait_us));  // stop() sets stopping, then pokes
    }
  }

  // Returns true when a claim was released (its item may be due again: a round is needed).
  // Dispatcher thread: the only one that changes `claimed`.
  bool release_settled(std::uint64_t applied) {
    std::lock_guard lk(mu);
    bool any = false;
    for (auto& [endpoint_id, event_seq] : unclaim_q)
      if (auto it = eps.find(endpoint_id); it != eps.end() && it->second.claimed.erase(event_seq)) {
        --n_claims;
        any = true;
      }
    unclaim_q.clear();
    while (!settle_q.empty() && settle_q.front().settle_seq <= applied) {
      auto& s = settle_q.front();
      if (auto it = eps.find(s.endpoint_id); it != eps.end() && it->second.claimed.erase(s.event_seq)) {
        --n_claims;
        any = true;
      }
      settle_q.pop_front();
    }
    settles_queued.store(settle_q.size(), std::memory_order_relaxed);
    return any;
  }

  // One scheduling round; returns the time (µs) of the next round it knows about.
  std::int64_t round(std::int64_t now) {
    std::int64_t wake = now + std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::hours(1)).count();
    auto rescan = now + std::chrono::duration_cast<std::chrono::microseconds>(opts.rescan_interval).count();
    auto txn = runner.store().begin_read();
    if (!txn) return rescan;
    std::vector<std::shared_ptr<ep_info>> endpoints;
    if (!endpoints_now.current(*txn, endpoints)) return rescan;
    events.clear();
    shared_events = endpoints.size() > 1;
    const auto& queue = runner.queue();
    // Items may sit behind where the walks went on from (a replay's old events): every walk
    // starts from the first item again, and ordered ones forget what they had seen.
    if (const std::uint64_t r = queue.reorders(); r != seen_reorders) {
      seen_reorders = r;
      std::lock_guard lk(mu);
      for (auto& [id, st] : eps) st.restart_walk();
    }
    std::uint64_t unowned = 0;
    for (auto& info : endpoints) {
      if (stopping) return now;
      if (!owned(info->ep.id)) {  // another node's work (cluster mode)
        ++unowned;
        continue;
      }
      if (!info->ep.disabled) wake = std::min(wake, serve_endpoint(*txn, queue, info, now, rescan));
      post_launches();
    }
    n_unowned.store(unowned, std::memory_order_relaxed);
    return wake;
  }

  // Picks the endpoint's items to start now (claimed, slot and token taken), reads their events
  // together (round_events.hpp), then makes their requests.
  std::int64_t serve_endpoint(lmdb::txn& txn, const projections::pending& queue, const std::shared_ptr<ep_info>& info,
                              std::int64_t now, std::int64_t rescan) {
    picked.clear();
    const std::int64_t wake = pick(txn, queue, info, now, rescan);
    if (picked.empty()) return wake;
    {
      std::lock_guard lk(mu);
      picked_hold_gen = hold.started(picked.size(), now);
    }
    picked_seqs.clear();
    for (const auto& it : picked) picked_seqs.push_back(it.event_seq);
    events.read(picked_seqs);
    for (const auto& it : picked) launch(info, it, now);
    return wake;
  }

  std::int64_t pick(lmdb::txn& txn, const projections::pending& queue, const std::shared_ptr<ep_info>& info,
                    std::int64_t now, std::int64_t rescan) {
    const auto& ep = info->ep;
    std::int64_t wake = INT64_MAX;
    std::uint32_t capacity;
    ep_state* state;  // eps never drops an entry: the node stays put (read under mu)
    {
      std::lock_guard lk(mu);
      auto& st = eps[ep.id];
      state = picked_state = &st;
      // An enable or a PATCH ends the pause and the disable; the walk starts from the first
      // item again (un-parked items, or entity ordering just turned on, sit behind it).
      if (st.refresh(ep.updated_at)) st.restart_walk();
      // No more than the origin's connections: a request handed over beyond them waited in the
      // pool's queue after it was signed (its webhook-timestamp aging past a receiver's
      // tolerance behind a slow peer, and still sent after a DELETE or a PATCH of the URL).
      st.max_in_flight = static_cast<std::uint32_t>(std::min<std::size_t>(
          info->max_in_flight, std::max<std::size_t>(1, opts.max_connections_per_origin)));
      // Attempt records fail (a full log): none during a hold, then the recovery's window.
      const std::size_t allowed = hold.allowance(now);
      if (allowed == 0) return hold.until() > now ? hold.until() : wake;  // a settled record pokes
      if (st.disabling) return wake;
      if (st.not_before > now) return st.not_before;
      if (ep.rate_limit > 0) st.refill(now, ep.rate_limit);
      capacity = st.free_slots();
      if (allowed < capacity) capacity = static_cast<std::uint32_t>(allowed);
      // Every slot is taken: a completion wakes the next round (starved), nothing to scan now.
      if (capacity == 0) {
        st.starved = true;
        return wake;
      }
    }
    const bool ordered = info->ordered;
    std::size_t scanned = 0;
    std::optional<std::int64_t> done;  // set when the walk stops before the bound: the answer
    // The items in event order, read only as far as needed (pending::visit_items: one item
    // object reused, so only what is picked is copied).
    // The walk goes on where the last cut walk stopped, so items past the bound (new events
    // behind a backlog of retries) are reached within a few rounds. An ordered endpoint keeps
    // each entity's first item seen since its last walk from the first item (entity_first): an
    // earlier item of the entity, seen by an earlier round, still holds the later ones back. It
    // started from its first item every round, and a backlog of one entity past the bound (a
    // failing receiver) held every other entity's items back with it.
    const std::uint64_t start = state->scan_after;
    if (ordered && start == 0) state->entity_first.clear();
    std::uint64_t last_seen = start;
    auto walked = queue.visit_items(txn, ep.id, start, [&](const projections::pending_item& it) {
      if (scanned == opts.scan_per_endpoint) return false;
      ++scanned;
      last_seen = it.event_seq;
      if (it.parked) return true;
      if (ordered) {
        std::string entity = entity_of(it.event_seq);
        if (!entity.empty()) {
          const auto [first, added] =
              state->entity_first.try_emplace(std::move(entity), it.event_seq);
          if (!added && first->second < it.event_seq) return true;  // an earlier one is queued
        }
      }
      if (state->claimed.count(it.event_seq) > 0) return true;  // this thread's own (no lock)
      if (it.due_us > now) {
        wake = std::min(wake, it.due_us);
        return true;
      }
      if (capacity == 0) {  // the next completion makes a new round
        std::lock_guard lk(mu);
        state->starved = true;
        done = wake;
        return false;
      }
      if (!owned(ep.id)) {  // lost (a lease fenced itself): no new attempt
        done = wake;
        return false;
      }
      {
        std::lock_guard lk(mu);
        auto& st = *state;
        if (ep.rate_limit > 0)
          if (auto next = st.take_token(now, ep.rate_limit)) {
            done = std::min(wake, *next);
            return false;
          }
        ++st.in_flight;
        if (st.claimed.insert(it.event_seq).second) ++n_claims;
      }
      --capacity;
      picked.push_back(it);
      return true;
    });
    if (done) return *done;
    if (!walked || scanned < opts.scan_per_endpoint) {
      state->scan_after = 0;
      // Walked from the middle to the end: the items before `start` were not looked at.
      return start > 0 ? std::min(wake, rescan) : wake;
    }
    state->scan_after = last_seen;
    return std::min(wake, rescan);  // cut at the bound: look again soon
  }

  // The requests serve_endpoint() started: one hand-off to the I/O threads (outbound.hpp).
  void post_launches() {
    if (launches.empty()) return;
    out->deliver(std::move(launches));
    launches.clear();
  }

  std::string entity_of(std::uint64_t seq) {
    if (auto f = entity_cache.find(seq); f != entity_cache.end()) return f->second;
    if (entity_cache.size() > 200'000) entity_cache.clear();
    std::string key;
    auto r = log.get(seq);
    if (r && *r && !(*r)->entity_id.empty()) key = (*r)->entity_kind + '\0' + (*r)->entity_id;
    entity_cache.emplace(seq, key);
    return key;
  }

  // ---- one attempt ---------------------------------------------------------------------
  void launch(const std::shared_ptr<ep_info>& info, const projections::pending_item& item, std::int64_t now) {
    attempt_ctx& ctx = *contexts.take();
    ctx.info = info;
    ctx.state = picked_state;
    ctx.hold_gen = picked_hold_gen;
    ctx.item = item;
    ctx.tenant.clear();
    ctx.type.clear();
    auto* e = events.find(item.event_seq);
    if (!e) {  // taken by an earlier launch of this round (not expected): read it again
      events.read({item.event_seq});
      e = events.find(item.event_seq);
    }
    if (!e || !e->found) {
      // The event is not readable: record the failure so the item does not spin.
      outbound_outcome o;
      o.failure = make_error(delivery_errc::protocol, "event " + std::to_string(item.event_seq) + " cannot be read" +
                                                         (e && e->failure ? ": " + e->failure->what() : std::string()));
      return finish(ctx, std::move(o));
    }
    // Another endpoint may send the same event this round: copy; else the fields move.
    ctx.tenant = shared_events ? e->tenant : std::move(e->tenant);
    ctx.type = e->type;
    std::string webhook_id;
    if (!item.replay_id.empty() && opts.replay_webhook_id)
      webhook_id = opts.replay_webhook_id(item.replay_id, item.event_seq);
    auto req = build_delivery_request(
        *info, {item.event_seq, shared_events ? e->type : std::move(e->type), shared_events ? e->body : std::move(e->body),
                item.replay_id, now, std::move(webhook_id)},
        requests.take());
    if (!shared_events) events.erase(item.event_seq);  // its fields moved
    if (!req) {  // not sent: recorded as a failure with the reason (delivery_request.hpp)
      outbound_outcome o;
      o.failure = req.err();
      return finish(ctx, std::move(o));
    }
    n_sent.fetch_add(1, std::memory_order_relaxed);
    n_in_flight.fetch_add(1, std::memory_order_relaxed);
    if (opts.counters) opts.counters->delivery_started();
    // Two pointers: std::function keeps them inside itself (no block per attempt).
    auto done = [this, c = &ctx](outbound_outcome&& o) {
      n_in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (opts.counters) opts.counters->delivery_ended();
      finish(*c, std::move(o));
    };
    static_assert(std::is_trivially_copyable_v<decltype(done)> && sizeof(done) <= 2 * sizeof(void*));
    launches.push_back({std::move(*req), done});
  }

  // complete(), then the context goes back to `contexts` (any thread), also when complete()
  // throws.
  void finish(attempt_ctx& ctx, outbound_outcome&& o) {
    struct hand_back {
      handback_pool<attempt_ctx>& pool;
      attempt_ctx& c;
      ~hand_back() {
        c.info.reset();
        pool.give(&c);
      }
    } back{contexts, ctx};
    complete(ctx, std::move(o));
  }

  // Runs on an outbound I/O thread (or the dispatcher thread): judge, record, settle.
  void complete(const attempt_ctx& ctx, outbound_outcome&& o) {
    const auto& ep = ctx.info->ep;
    const std::uint64_t event_seq = ctx.item.event_seq;
    if (o.failure_kind() == delivery_errc::shutdown) {
      bool wake;
      {
        std::lock_guard lk(mu);
        auto& st = *ctx.state;
        unclaim_q.emplace_back(ep.id, event_seq);
        wake = st.slot_freed();
      }
      if (wake) poke();
      return;  // no record: sent again after the restart
    }
    if (!owned(ep.id)) n_finished_unowned.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t now = opts.clock();
    // The record's fields, the Retry-After pause and 410's disable (attempt_verdict.hpp).
    auto v = judge_attempt(ep.id, ctx.item, o, now, [this, &ep](std::uint32_t attempt, std::int64_t at) {
      return next_try(ep.retry, attempt, at);
    });
    const auto& a = v.attempt;
    std::string& disable_reason = v.disable_reason;
    // One lock for the endpoint's state: the failing period, the disable decision, the freed
    // slot (the record is counted as pending before it is handed over below).
    bool wake;
    {
      std::lock_guard lk(mu);
      auto& st = *ctx.state;
      if (v.pause_until) st.not_before = std::max(st.not_before, *v.pause_until);
      if (a.success) {
        st.failing_since = 0;
      } else {
        if (st.failing_since == 0) st.failing_since = failing_since_guess(ep, now);
        if (disable_reason.empty() && opts.disable_after_us > 0 && now - st.failing_since >= opts.disable_after_us)
          disable_reason = "no successful delivery since " + format_rfc3339(st.failing_since) + " (" +
                           std::to_string(opts.disable_after_us / 3'600'000'000LL) + " h); last error: " + a.error;
      }
      // A disable judged on an endpoint this thread has since seen changed (refresh() in a
      // round: a PATCH while the attempt was in flight) is not made: the answer came from what
      // was replaced. Subscriptions make the same call from the record (stale_disable), for a
      // change the rounds have not seen yet.
      if (!disable_reason.empty()) {
        if (st.disabling || st.seen_updated_at != ep.updated_at)
          disable_reason.clear();
        else st.disabling = true;
      }
      wake = st.slot_freed();
      ++writes_pending;
    }
    if (wake) poke();
    auto recs = attempt_records(a, ctx.tenant, ctx.type, o, opts.excerpt_limit, ep, disable_reason);
    const std::string_view outcome =
        a.success ? "success" : o.failure ? delivery_errc_name(o.failure_kind()) : "failure";
    const std::int64_t latency = a.latency_us > 0 ? a.latency_us : -1;
    // The log lines now; the counters once the record is written (settled()).
    observe_attempt(nullptr, {ep.id, ctx.tenant, event_seq, a.attempt, outcome, a.status, latency, a.error,
                              a.replay_id, o.detail, a.is_dead(), disable_reason});
    attempt_batch::tag t{ep.id, event_seq, outcome, latency, a.is_dead(), !disable_reason.empty()};
    t.hold_gen = ctx.hold_gen;
    records->add(std::move(recs), std::move(t));
  }

  // An attempt's record settled: counted by its outcome when written, else as "unrecorded".
  void count_settled(const attempt_batch::tag& t, bool ok) {
    const double seconds = t.latency_us >= 0 ? static_cast<double>(t.latency_us) / 1e6 : -1.0;
    if (!ok) {
      n_record_errors.fetch_add(1, std::memory_order_relaxed);
      if (opts.counters) opts.counters->count_attempt("unrecorded", seconds, false, false);
      return;
    }
    if (t.disabled) n_disabled.fetch_add(1, std::memory_order_relaxed);
    (t.outcome == "success" ? n_ok : n_failed).fetch_add(1, std::memory_order_relaxed);
    if (t.dead_letter) n_dead.fetch_add(1, std::memory_order_relaxed);
    if (opts.counters) opts.counters->count_attempt(t.outcome, seconds, t.dead_letter, t.disabled);
  }

  // The attempt's records are durable (ok) or failed (attempt_batch.hpp; the writer's thread).
  void settled(const attempt_batch::tag& t, bool ok, std::uint64_t settle) {
    count_settled(t, ok);
    {
      std::lock_guard lk(mu);
      if (ok) {
        hold.succeeded(t.hold_gen);
        settle_q.push_back({settle, t.endpoint_id, t.event_seq});
        settles_queued.store(settle_q.size(), std::memory_order_relaxed);
      } else {
        // not recorded: the item is still due and is tried again once the hold ends (the
        // dispatcher thread releases the claim at its next loop; poke() below wakes it to
        // learn the hold's end)
        hold.failed(opts.clock(), t.hold_gen);
        unclaim_q.emplace_back(t.endpoint_id, t.event_seq);
      }
      --writes_pending;
      settled_cv.notify_all();
    }
    // Checked after queueing: when the record is applied already, the runner's wake-up may
    // have come before this claim could settle; otherwise that wake-up is still to come
    // (on_applied() sees settles_queued > 0: the fence pairs with its own).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!ok || settle <= runner.applied_seq()) poke();
  }

  // When the in-memory failing period is unknown (after a restart): the endpoint's last success,
  // else its creation; at worst the failure now.
  std::int64_t failing_since_guess(const projections::endpoint& ep, std::int64_t now) {
    auto txn = runner.store().begin_read();
    if (txn) {
      auto h = runner.subs().health(*txn, ep.id);
      if (h && *h && (*h)->consecutive_failures > 0) {
        if ((*h)->last_success_at > 0) return (*h)->last_success_at;
        if (ep.created_at > 0) return ep.created_at;
      }
    }
    return now;
  }
};

dispatcher::dispatcher(event_log& log, record_sink& writer, projections::projection_runner& runner,
                       dispatcher_options options)
    : impl_(std::make_unique<impl>(log, writer, runner, std::move(options))) {}

dispatcher::~dispatcher() { stop(); }

void dispatcher::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  {
    std::lock_guard lk(impl_->owner_waker->m);
    impl_->owner_waker->target = impl_.get();
  }
  impl_->changes_seen = impl_->runner.queue().due_changes();
  impl_->runner.set_applied_hook([d = impl_.get()](std::uint64_t seq) { d->on_applied(seq); });
  impl_->thread = std::thread([this] {
    set_thread_name("dispatcher");
    impl_->run();
  });
}

void dispatcher::stop() {
  auto& d = *impl_;
  d.stopping = true;
  {
    std::lock_guard lk(d.owner_waker->m);
    d.owner_waker->target = nullptr;
  }
  d.runner.set_applied_hook({});  // no call of on_applied() runs once it returns
  d.poke();
  if (d.thread.joinable()) d.thread.join();
  d.out->stop();
  d.records->flush();  // answers read while the client stopped (their flush was not run)
  std::unique_lock lk(d.mu);
  d.settled_cv.wait_for(lk, std::chrono::seconds(10), [&] { return d.writes_pending == 0; });
}

dispatcher_stats dispatcher::stats() const {
  const auto& d = *impl_;
  dispatcher_stats s;
  s.sent = d.n_sent;
  s.succeeded = d.n_ok;
  s.failed = d.n_failed;
  s.dead_lettered = d.n_dead;
  s.disabled = d.n_disabled;
  s.rounds = d.n_rounds;
  s.record_errors = d.n_record_errors;
  s.in_flight = d.n_in_flight;
  s.unowned_endpoints = d.n_unowned;
  s.finished_unowned = d.n_finished_unowned;
  std::lock_guard lk(d.mu);
  s.claims = d.n_claims;
  return s;
}

}  // namespace hooklog::http
