#include "http/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/record.hpp"
#include "engine/time_util.hpp"
#include "http/outbound.hpp"
#include "http/signature.hpp"
#include "projections/attempt.hpp"
#include "projections/endpoint.hpp"
#include "projections/pending.hpp"
#include "projections/retry_policy.hpp"
#include "projections/runner.hpp"
#include "projections/subscriptions.hpp"

namespace hooklog::http {

namespace {

using claim_key = std::pair<std::string, std::uint64_t>;  // endpoint id, event seq
constexpr std::int64_t kMaxRetryAfterUs = 24LL * 3600 * 1'000'000;

// Retry-After: delay-seconds or an HTTP-date; returns µs from now, or nullopt.
std::optional<std::int64_t> retry_after_us(const header_list& headers, std::int64_t now_us) {
  auto v = find_header(headers, "retry-after");
  if (!v || v->empty()) return std::nullopt;
  std::string s(*v);
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 9) return kMaxRetryAfterUs;
    return std::min<std::int64_t>(std::stoll(s) * 1'000'000, kMaxRetryAfterUs);
  }
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
    std::int64_t at = static_cast<std::int64_t>(timegm(&tm)) * 1'000'000;
    return std::clamp<std::int64_t>(at - now_us, 0, kMaxRetryAfterUs);
  }
  return std::nullopt;
}

std::string basic_auth(const std::string& user, const std::string& pass) {
  return "Basic " + base64_encode(user + ":" + pass);
}

}  // namespace

struct dispatcher::impl {
  event_log& log;
  log_writer& writer;
  projections::projection_runner& runner;
  dispatcher_options opts;
  std::unique_ptr<outbound_client> out;

  // Per-endpoint runtime state (dispatcher thread and completion callbacks: under mu).
  struct ep_state {
    std::uint32_t in_flight = 0;
    double tokens = 0;
    std::int64_t refilled_at = 0;
    std::int64_t not_before = 0;       // Retry-After pause
    std::int64_t failing_since = 0;    // first failure after the last success (0 = unknown)
    bool disabling = false;            // an endpoint_disabled record was written
  };
  struct claim {
    std::uint64_t settle_seq = 0;  // 0 = in flight; else released when applied >= this
  };

  mutable std::mutex mu;
  std::condition_variable settled_cv;
  std::map<claim_key, claim> claims;
  std::unordered_map<std::string, ep_state> eps;
  std::uint64_t writes_pending = 0;
  std::atomic<bool> dirty{true};
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::mt19937_64 rng;
  std::mutex rng_mu;

  std::atomic<std::uint64_t> n_sent{0}, n_ok{0}, n_failed{0}, n_dead{0}, n_disabled{0}, n_rounds{0},
      n_in_flight{0}, n_record_errors{0};

  // Event metadata cache for entity ordering (dispatcher thread only).
  std::unordered_map<std::uint64_t, std::string> entity_cache;

  impl(event_log& l, log_writer& w, projections::projection_runner& r, dispatcher_options o)
      : log(l), writer(w), runner(r), opts(std::move(o)) {
    if (!opts.clock) opts.clock = [] { return now_micros(); };
    rng.seed(opts.rng_seed ? opts.rng_seed : std::random_device{}());
    outbound_options oo;
    oo.threads = opts.io_threads;
    oo.max_connections_per_origin = opts.max_connections_per_origin;
    oo.idle_timeout = opts.idle_connection_timeout;
    oo.allow_private_targets = opts.allow_private_targets;
    oo.ca_file = opts.ca_file;
    oo.excerpt_limit = opts.excerpt_limit;
    out = std::make_unique<outbound_client>(oo);
  }

  std::string open_secret(const std::string& s) const {
    std::string v = s;
    for (int i = 0; i < 3 && secret_box::is_sealed(v); ++i) {
      if (!opts.box) return {};
      auto o = opts.box->open(v);
      if (!o) return {};
      v = std::move(*o);
    }
    return v;
  }

  std::optional<std::int64_t> next_try(const projections::retry_policy& p, std::uint32_t attempt, std::int64_t now) {
    std::lock_guard lk(rng_mu);
    return projections::next_attempt_at(p, attempt, now, rng);
  }

  // ---- the loop -------------------------------------------------------------------------
  void run() {
    std::uint64_t seen_applied = 0;
    std::int64_t wake_at = 0;
    while (!stopping) {
      std::uint64_t applied = runner.applied_seq();
      release_settled(applied);
      std::int64_t now = opts.clock();
      if (applied != seen_applied || dirty.exchange(false) || now >= wake_at) {
        seen_applied = applied;
        wake_at = round(now);
        n_rounds.fetch_add(1, std::memory_order_relaxed);
      }
      now = opts.clock();
      auto wait_ms = std::clamp<std::int64_t>((wake_at - now + 999) / 1000, 0, opts.stop_check.count());
      if (wake_at <= now) wait_ms = 0;
      if (wait_ms > 0 && !dirty) runner.wait_applied(seen_applied + 1, std::chrono::milliseconds(wait_ms));
    }
  }

  void release_settled(std::uint64_t applied) {
    std::lock_guard lk(mu);
    for (auto it = claims.begin(); it != claims.end();) {
      if (it->second.settle_seq != 0 && it->second.settle_seq <= applied)
        it = claims.erase(it);
      else
        ++it;
    }
  }

  // One scheduling round; returns the time (µs) of the next round it knows about.
  std::int64_t round(std::int64_t now) {
    std::int64_t wake = now + std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::hours(1)).count();
    auto rescan = now + std::chrono::duration_cast<std::chrono::microseconds>(opts.rescan_interval).count();
    auto txn = runner.store().begin_read();
    if (!txn) return rescan;
    const auto& subs = runner.subs();
    const auto& queue = runner.queue();
    std::string after;
    for (;;) {
      auto page = subs.list(*txn, "", after, 256);
      if (!page) return rescan;
      for (auto& ep : *page) {
        if (stopping) return now;
        if (!ep.disabled) wake = std::min(wake, serve_endpoint(*txn, queue, ep, now, rescan));
      }
      if (page->size() < 256) break;
      after = page->back().id;
    }
    return wake;
  }

  std::int64_t serve_endpoint(lmdb::txn& txn, const projections::pending& queue, const projections::endpoint& ep,
                              std::int64_t now, std::int64_t rescan) {
    std::int64_t wake = INT64_MAX;
    std::uint32_t capacity;
    {
      std::lock_guard lk(mu);
      auto& st = eps[ep.id];
      if (st.disabling) return wake;
      if (st.not_before > now) return st.not_before;
      if (ep.rate_limit > 0) {
        double burst = std::max<double>(1.0, static_cast<double>(ep.rate_limit));
        if (st.refilled_at == 0) st.tokens = burst;
        st.tokens = std::min(burst, st.tokens + static_cast<double>(now - st.refilled_at) * ep.rate_limit / 1e6);
        st.refilled_at = now;
      }
      auto max_if = static_cast<std::uint32_t>(std::max<std::int64_t>(1, ep.max_in_flight));
      capacity = st.in_flight >= max_if ? 0 : max_if - st.in_flight;
    }
    const bool ordered = ep.ordering == "entity";
    std::unordered_set<std::string> blocked_entities;
    std::uint64_t after_seq = 0;
    std::size_t scanned = 0;
    while (scanned < opts.scan_per_endpoint) {
      auto items = queue.items_for(txn, ep.id, after_seq, std::min<std::size_t>(256, opts.scan_per_endpoint - scanned));
      if (!items || items->empty()) return wake;
      for (auto& it : *items) {
        ++scanned;
        after_seq = it.event_seq;
        if (it.parked) continue;
        std::string entity;
        if (ordered) {
          entity = entity_of(it.event_seq);
          if (!entity.empty() && !blocked_entities.insert(entity).second) continue;  // an earlier one is queued
        }
        bool claimed;
        {
          std::lock_guard lk(mu);
          claimed = claims.count({ep.id, it.event_seq}) > 0;
        }
        if (claimed) continue;
        if (it.due_us > now) {
          wake = std::min(wake, it.due_us);
          if (!ordered) continue;
          continue;
        }
        if (capacity == 0) return wake;  // the next completion makes a new round
        {
          std::lock_guard lk(mu);
          auto& st = eps[ep.id];
          if (ep.rate_limit > 0) {
            if (st.tokens < 1.0) {
              auto need_us = static_cast<std::int64_t>((1.0 - st.tokens) * 1e6 / static_cast<double>(ep.rate_limit)) + 1;
              return std::min(wake, now + need_us);
            }
            st.tokens -= 1.0;
          }
          ++st.in_flight;
          claims[{ep.id, it.event_seq}] = claim{};
        }
        --capacity;
        launch(ep, it, now);
      }
    }
    return std::min(wake, rescan);  // cut at the bound: look again soon
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
  struct attempt_ctx {
    projections::endpoint ep;
    projections::pending_item item;
    std::string tenant, type;
  };

  void launch(const projections::endpoint& ep, const projections::pending_item& item, std::int64_t now) {
    auto ctx = std::make_shared<attempt_ctx>();
    ctx->ep = ep;
    ctx->item = item;
    auto ev = log.get(item.event_seq);
    if (!ev || !*ev) {
      // The event is not readable: record the failure so the item does not spin.
      outbound_outcome o;
      o.failure = make_error(delivery_errc::protocol, "event " + std::to_string(item.event_seq) + " cannot be read" +
                                                         (ev ? std::string() : ": " + ev.err().what()));
      return complete(ctx, std::move(o));
    }
    const record& e = **ev;
    ctx->tenant = e.tenant;
    ctx->type = e.type;
    outbound_request req;
    req.url = ep.url;
    req.timeout = std::chrono::milliseconds(ep.timeout_ms);
    const std::string id = event_id_for(item.event_seq);
    const std::int64_t ts = now / 1'000'000;
    std::string sigs;
    auto add_sig = [&](const std::string& sealed) {
      auto secret = open_secret(sealed);
      if (secret.empty() || !decode_secret(secret)) return;
      if (!sigs.empty()) sigs += ' ';
      sigs += sign_v1(secret, id, ts, e.body);
    };
    add_sig(ep.secret);
    for (const auto& p : ep.previous_secrets)
      if (p.valid_until > now) add_sig(p.secret);
    req.headers.emplace_back("content-type", "application/json");
    req.headers.emplace_back("webhook-id", id);
    req.headers.emplace_back("webhook-timestamp", std::to_string(ts));
    if (!sigs.empty()) req.headers.emplace_back("webhook-signature", sigs);
    req.headers.emplace_back("webhook-event-type", e.type);
    if (!item.replay_id.empty()) req.headers.emplace_back("webhook-replay", item.replay_id);
    for (const auto& [k, v] : ep.headers) req.headers.emplace_back(k, v);
    const auto& a = ep.auth;
    if (a.type == "basic")
      req.headers.emplace_back("authorization", basic_auth(a.username, open_secret(a.password)));
    else if (a.type == "bearer")
      req.headers.emplace_back("authorization", "Bearer " + open_secret(a.token));
    else if (a.type == "header")
      req.headers.emplace_back(a.name, open_secret(a.value));
    req.body = e.body;
    n_sent.fetch_add(1, std::memory_order_relaxed);
    n_in_flight.fetch_add(1, std::memory_order_relaxed);
    out->deliver(std::move(req), [this, ctx](outbound_outcome&& o) {
      n_in_flight.fetch_sub(1, std::memory_order_relaxed);
      complete(ctx, std::move(o));
    });
  }

  // Runs on an outbound I/O thread (or the dispatcher thread): judge, record, settle.
  void complete(const std::shared_ptr<attempt_ctx>& ctx, outbound_outcome&& o) {
    const auto& ep = ctx->ep;
    const claim_key key{ep.id, ctx->item.event_seq};
    if (o.failure_kind() == delivery_errc::shutdown) {
      std::lock_guard lk(mu);
      claims.erase(key);
      --eps[ep.id].in_flight;
      return;  // no record: sent again after the restart
    }
    const std::int64_t now = opts.clock();
    projections::delivery_attempt a;
    a.endpoint_id = ep.id;
    a.event_seq = ctx->item.event_seq;
    a.attempt = ctx->item.attempt;
    a.replay_id = ctx->item.replay_id;
    a.status = static_cast<int>(o.status);
    a.latency_us = o.latency_us;
    a.success = o.answered() && o.status >= 200 && o.status < 300;
    std::string disable_reason;
    if (!a.success) {
      if (o.failure) {
        a.error = std::string(delivery_errc_name(o.failure_kind())) + ": " + o.failure->message;
      } else if (o.status >= 300 && o.status < 400) {
        auto loc = find_header(o.headers, "location");
        a.error = "redirect: status " + std::to_string(o.status) + " (not followed)" +
                  (loc ? ", Location: " + std::string(*loc) : std::string());
      } else {
        a.error = "status: " + std::to_string(o.status);
      }
      a.next_attempt_at = next_try(ep.retry, a.attempt, now);
      if (a.next_attempt_at && (o.status == 429 || o.status == 503)) {
        if (auto ra = retry_after_us(o.headers, now)) {
          a.next_attempt_at = std::max(*a.next_attempt_at, now + *ra);
          std::lock_guard lk(mu);
          auto& st = eps[ep.id];
          st.not_before = std::max(st.not_before, now + *ra);
        }
      }
      a.dead_letter = !a.next_attempt_at;
      if (o.status == 410) disable_reason = "endpoint answered 410 Gone";
    }
    {
      std::lock_guard lk(mu);
      auto& st = eps[ep.id];
      if (a.success) {
        st.failing_since = 0;
      } else {
        if (st.failing_since == 0) st.failing_since = failing_since_guess(ep, now);
        if (disable_reason.empty() && opts.disable_after_us > 0 && now - st.failing_since >= opts.disable_after_us)
          disable_reason = "no successful delivery since " + format_rfc3339(st.failing_since) + " (" +
                           std::to_string(opts.disable_after_us / 3'600'000'000LL) + " h); last error: " + a.error;
      }
      if (!disable_reason.empty()) {
        if (st.disabling) disable_reason.clear();
        else st.disabling = true;
      }
    }
    nlohmann::json body = projections::to_json(a);
    body["response_excerpt"] = o.body_excerpt.substr(0, opts.excerpt_limit);
    if (o.body_truncated) body["response_truncated"] = true;
    nlohmann::json hdrs = nlohmann::json::array();
    for (const auto& [k, v] : o.headers) hdrs.push_back({k, v});
    body["response_headers"] = std::move(hdrs);
    std::vector<record> recs;
    recs.push_back(projections::make_attempt_record(a, ctx->tenant, ctx->type));
    recs.back().body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!disable_reason.empty()) {
      record d;
      d.kind = record_kind::endpoint_disabled;
      d.tenant = ep.tenant;
      d.entity_kind = "endpoint";
      d.entity_id = ep.id;
      d.body = nlohmann::json{{"reason", disable_reason}, {"by", "dispatcher"}, {"event_seq", a.event_seq}}.dump();
      recs.push_back(std::move(d));
      n_disabled.fetch_add(1, std::memory_order_relaxed);
    }
    (a.success ? n_ok : n_failed).fetch_add(1, std::memory_order_relaxed);
    if (a.is_dead()) n_dead.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lk(mu);
      --eps[ep.id].in_flight;
      ++writes_pending;
    }
    writer.submit(std::move(recs), [this, key](log_writer::outcomes&& outs) {
      std::uint64_t settle = 0;
      bool ok = !outs.empty() && outs[0];
      for (auto& r : outs)
        if (r) settle = std::max(settle, r->seq);
      std::lock_guard lk(mu);
      if (ok) {
        if (auto it = claims.find(key); it != claims.end()) it->second.settle_seq = settle;
      } else {
        n_record_errors.fetch_add(1, std::memory_order_relaxed);
        claims.erase(key);  // not recorded: the item is still due and is tried again
      }
      --writes_pending;
      dirty = true;
      settled_cv.notify_all();
    });
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

dispatcher::dispatcher(event_log& log, log_writer& writer, projections::projection_runner& runner,
                       dispatcher_options options)
    : impl_(std::make_unique<impl>(log, writer, runner, std::move(options))) {}

dispatcher::~dispatcher() { stop(); }

void dispatcher::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void dispatcher::stop() {
  auto& d = *impl_;
  d.stopping = true;
  if (d.thread.joinable()) d.thread.join();
  d.out->stop();
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
  s.in_flight = d.n_in_flight;
  std::lock_guard lk(d.mu);
  s.claims = d.claims.size();
  return s;
}

}  // namespace hooklog::http
