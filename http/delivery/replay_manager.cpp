#include "http/delivery/replay_manager.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

#include "engine/bytes.hpp"
#include "engine/logger.hpp"
#include "engine/thread_name.hpp"
#include "engine/time_util.hpp"
#include "projections/attempt.hpp"
#include "projections/filter.hpp"
#include "projections/runner.hpp"

namespace hooklog::http {
struct replay_manager::job {
  replay_info info;
  double tokens = 0;
  std::int64_t refill_us = 0;
  std::int64_t last_checkpoint_us = 0;
  std::uint64_t persisted_scanned_to = 0;
};

replay_manager::replay_manager(const event_log& log, record_sink& writer,
                               projections::projection_runner& runner, replay_options opts)
    : log_(log), writer_(writer), runner_(runner), opts_(opts) {}

replay_manager::~replay_manager() { stop(); }

std::string replay_manager::new_id() {
  unsigned char raw[8];
  RAND_bytes(raw, sizeof raw);
  return "rpl_" + bytes::to_hex(raw, sizeof raw);
}

namespace {
// The records a replay writes about itself. Events may name any entity kind, "replay" included
// (a producer's payload chooses it), so the replay state is rebuilt from these kinds only.
bool is_replay_record(record_kind k) {
  return k == record_kind::replay_requested || k == record_kind::replay_progressed ||
         k == record_kind::replay_finished || k == record_kind::replay_cancelled;
}
}  // namespace

result<void> replay_manager::load() {
  std::map<std::string, std::shared_ptr<job>, std::less<>> jobs;
  scan_query q;
  q.entity_kind = "replay";
  auto n = log_.scan(q, [&](const record_view& v, std::string_view) {
    if (!is_replay_record(v.kind)) return true;
    auto body = nlohmann::json::parse(v.body, nullptr, false);
    if (!body.is_object()) return true;
    const std::string id(v.entity_id);
    if (v.kind == record_kind::replay_requested) {
      if (auto j = job_from_request(v, body)) jobs[id] = std::move(j);
      return true;
    }
    auto it = jobs.find(id);
    if (it == jobs.end()) return true;
    replay_info& r = it->second->info;
    r.last_record_seq = v.seq;
    apply_scan_progress(body, *it->second);
    // At start the counters come from the last checkpoint (then followed from counted_to).
    auto u64 = [&](const char* k, std::uint64_t& out) {
      if (auto f = body.find(k); f != body.end() && f->is_number_unsigned()) out = *f;
    };
    u64("delivered", r.delivered);
    u64("failed", r.failed);
    u64("counted_to", r.counted_to);
    apply_end(v, body, r);
    return true;
  });
  if (!n) return n.err();
  std::uint64_t follow = log_.committed_seq();
  for (auto& [id, j] : jobs) {
    const auto& r = j->info;
    if (r.state == "cancelled" || r.state == "failed") continue;
    if (r.state == "running" || r.scheduled > r.delivered + r.failed) follow = std::min(follow, r.counted_to);
  }
  std::lock_guard g(mutex_);
  jobs_ = std::move(jobs);
  follow_from_ = follow;
  return {};
}

void replay_manager::start() {
  std::lock_guard g(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    set_thread_name("replays");
    run();
  });
}

void replay_manager::stop() {
  {
    std::lock_guard g(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<cancel_request> left;
  {
    std::lock_guard g(mutex_);
    left.swap(cancels_);
  }
  for (auto& c : left) c.done(make_error(errc::writer_stopped, "the server is stopping"));
}

record replay_manager::make_record(record_kind kind, const replay_info& r, nlohmann::json body) const {
  record rec;
  rec.kind = kind;
  rec.tenant = r.spec.tenant;
  rec.entity_kind = "replay";
  rec.entity_id = r.id;
  rec.ref_seq = kind == record_kind::replay_requested ? 0 : r.request_seq;
  body["replay_id"] = r.id;
  rec.body = body.dump();
  return rec;
}

nlohmann::json replay_manager::counters_json(const replay_info& r) const {
  return {{"endpoint_id", r.spec.endpoint_id}, {"scanned_to", r.scanned_to},
          {"scanned", r.scanned},               {"scheduled_count", r.scheduled},
          {"delivered", r.delivered},           {"failed", r.failed},
          {"counted_to", r.counted_to}};
}

namespace {
// The fields of a replay's log lines ("replay.started", "replay.finished", "replay.cancelled").
nlohmann::json replay_log_fields(const replay_info& r) {
  return {{"replay_id", r.id},      {"endpoint_id", r.spec.endpoint_id}, {"tenant", r.spec.tenant},
          {"mode", r.spec.mode},    {"to_seq", r.spec.to_seq},           {"scanned", r.scanned},
          {"scheduled", r.scheduled}, {"delivered", r.delivered},        {"failed", r.failed}};
}
}  // namespace

void replay_manager::create(replay_spec spec, done_fn done, std::function<void(record&)> stamp) {
  if (spec.to_seq == 0) spec.to_seq = log_.committed_seq();
  auto j = std::make_shared<job>();
  j->info.id = new_id();
  j->info.spec = std::move(spec);
  std::vector<record> one;
  one.push_back(make_record(record_kind::replay_requested, j->info, replay_spec_to_json(j->info.spec)));
  {
    // Stored times as µs: exact, whatever the answer's format.
    auto b = nlohmann::json::parse(one[0].body);
    b["from"] = j->info.spec.from ? nlohmann::json(*j->info.spec.from) : nlohmann::json();
    b["to"] = j->info.spec.to ? nlohmann::json(*j->info.spec.to) : nlohmann::json();
    one[0].body = b.dump();
  }
  if (stamp) stamp(one[0]);
  writer_.submit(std::move(one), [this, j, done = std::move(done)](record_sink::outcomes&& out) {
    if (!out[0]) return done(out[0].err());
    if (out[0]->duplicate) {
      std::unique_lock g(mutex_);
      for (const auto& [id, known] : jobs_)
        if (known->info.request_seq == out[0]->seq) {
          replay_info copy = known->info;
          copy.duplicate = true;
          g.unlock();
          return done(std::move(copy));
        }
      g.unlock();
      return done(
          make_error(errc::invalid_record,
                     "the replay of record " + std::to_string(out[0]->seq) + " is not loaded"));
    }
    j->info.request_seq = out[0]->seq;
    j->info.last_record_seq = out[0]->seq;
    j->info.created_at = log_.recorded_at(out[0]->seq).value_or(now_micros());
    replay_info copy;
    {
      std::lock_guard g(mutex_);
      j->info.counted_to = out[0]->seq;  // no attempt of this replay can come before it
      // Cluster mode: the worker may have followed the record from the log first; keep that job.
      auto [it, fresh] = jobs_.try_emplace(j->info.id, j);
      copy = it->second->info;
    }
    cv_.notify_all();
    logging::info("replay.started", "a replay was requested", replay_log_fields(copy));
    done(std::move(copy));
  });
}

void replay_manager::cancel(const std::string& id, std::string reason, done_fn done) {
  {
    std::lock_guard g(mutex_);
    if (!stopping_) {
      cancels_.push_back({id, std::move(reason), std::move(done)});
      done = nullptr;
    }
  }
  if (done) return done(make_error(errc::writer_stopped, "the server is stopping"));
  cv_.notify_all();
}

std::optional<replay_info> replay_manager::get(std::string_view id) const {
  std::optional<replay_info> r;
  {
    std::lock_guard g(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    r = it->second->info;
  }
  r->outstanding = queued_items(r->id);
  return r;
}

std::uint64_t replay_manager::queued_items(std::string_view id) const {
  auto t = runner_.store().begin_read();
  if (!t) return 0;
  auto n = runner_.queue().replay_items(*t, id);
  return n ? *n : 0;
}

std::string replay_manager::webhook_id(std::string_view replay_id, std::uint64_t event_seq) const {
  {
    std::lock_guard g(mutex_);
    auto it = jobs_.find(replay_id);
    if (it != jobs_.end())
      return it->second->info.spec.webhook_ids == "fresh" ? fresh_webhook_id(replay_id, event_seq) : std::string();
  }
  // Not followed yet (cluster mode: another node's replay whose items this node delivers before
  // its worker read the request): the request record decides, as it does for every node.
  scan_query q;
  q.kind = record_kind::replay_requested;
  q.entity_kind = "replay";
  q.entity_id = std::string(replay_id);
  bool fresh = false;
  (void)log_.scan(q, [&](const record_view& v, std::string_view) {
    auto body = nlohmann::json::parse(v.body, nullptr, false);
    fresh = body.is_object() && body.value("webhook_ids", std::string()) == "fresh";
    return false;
  });
  return fresh ? fresh_webhook_id(replay_id, event_seq) : std::string();
}

std::vector<replay_info> replay_manager::list(std::string_view tenant, std::string_view endpoint_id,
                                              std::string_view state, std::string_view after,
                                              std::size_t limit, bool descending) const {
  std::vector<replay_info> out;
  std::unique_lock g(mutex_);
  std::vector<const replay_info*> order;
  order.reserve(jobs_.size());
  for (const auto& [id, j] : jobs_) order.push_back(&j->info);
  std::sort(order.begin(), order.end(), [&](const replay_info* a, const replay_info* b) {
    return descending ? a->request_seq > b->request_seq : a->request_seq < b->request_seq;
  });
  auto it = order.begin();
  if (!after.empty()) {
    it = std::find_if(order.begin(), order.end(),
                      [&](const replay_info* r) { return r->id == after; });
    if (it != order.end()) ++it;
  }
  for (; it != order.end() && out.size() < limit; ++it) {
    const auto& r = **it;
    if (!tenant.empty() && r.spec.tenant != tenant) continue;
    if (!endpoint_id.empty() && r.spec.endpoint_id != endpoint_id) continue;
    if (!state.empty() && r.state != state) continue;
    out.push_back(r);
  }
  g.unlock();
  if (out.empty()) return out;
  if (auto t = runner_.store().begin_read())
    for (auto& r : out)
      if (auto n = runner_.queue().replay_items(*t, r.id)) r.outstanding = *n;
  return out;
}

void replay_manager::follow_attempts() {
  const std::uint64_t head = log_.committed_seq();
  std::uint64_t from;
  {
    std::lock_guard g(mutex_);
    from = follow_from_;
  }
  if (head <= from) return;
  std::vector<projections::delivery_attempt> seen;
  std::vector<std::uint64_t> seen_seq;
  auto n = log_.for_each(from + 1, head, [&](const record_view& v) {
    if (opts_.ownership && is_replay_record(v.kind)) {
      apply_foreign(v);
      return true;
    }
    if (v.kind != record_kind::delivery_attempt) return true;
    if (v.body.find("\"replay_id\":\"rpl_") == std::string_view::npos) return true;
    auto a = projections::attempt_from_json(v.body);
    if (a && !a->replay_id.empty()) {
      seen.push_back(std::move(*a));
      seen_seq.push_back(v.seq);
    }
    return true;
  });
  if (!n) return;  // tried again on the next round
  std::lock_guard g(mutex_);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    auto it = jobs_.find(seen[i].replay_id);
    if (it == jobs_.end()) continue;
    replay_info& r = it->second->info;
    // A cancelled or failed replay's counters stay as its end record wrote them: attempts it had
    // in flight still land, but were counted or not depending on whether another replay kept
    // this loop following (and after a restart, on where it resumed).
    if (r.state == "cancelled" || r.state == "failed") continue;
    if (seen_seq[i] <= r.counted_to) continue;  // already in a checkpoint's counters
    if (seen[i].success) ++r.delivered;
    else if (seen[i].is_dead()) ++r.failed;
  }
  for (auto& [id, j] : jobs_) j->info.counted_to = std::max(j->info.counted_to, head);
  follow_from_ = head;
}

void replay_manager::apply_foreign(const record_view& v) {
  auto body = nlohmann::json::parse(v.body, nullptr, false);
  if (!body.is_object()) return;
  const std::string id(v.entity_id);
  std::lock_guard g(mutex_);
  auto it = jobs_.find(id);
  if (v.kind == record_kind::replay_requested) {
    if (it != jobs_.end()) return;  // ours (create() registered it) or seen already
    auto j = job_from_request(v, body);
    if (!j) return;
    jobs_[id] = std::move(j);
    cv_.notify_all();
    return;
  }
  if (it == jobs_.end() || v.seq <= it->second->info.last_record_seq) return;  // ours: applied
  replay_info& r = it->second->info;
  r.last_record_seq = v.seq;
  // Scan progress from the record; delivered/failed stay counted from the attempts this node
  // follows itself (every node sees every attempt).
  apply_scan_progress(body, *it->second);
  // A finish recorded by another node ends a replay still running here, never one cancelled.
  if (v.kind != record_kind::replay_finished || r.state == "running") apply_end(v, body, r);
}

std::shared_ptr<replay_manager::job> replay_manager::job_from_request(const record_view& v,
                                                                     nlohmann::json& body) {
  body.erase("replay_id");
  auto spec = replay_spec_from_json(body);
  if (!spec) return nullptr;
  auto j = std::make_shared<job>();
  j->info.id = std::string(v.entity_id);
  j->info.request_seq = v.seq;
  j->info.spec = std::move(*spec);
  j->info.created_at = v.recorded_at;
  j->info.counted_to = v.seq;
  j->info.last_record_seq = v.seq;
  return j;
}

void replay_manager::apply_end(const record_view& v, const nlohmann::json& body, replay_info& r) {
  if (v.kind == record_kind::replay_finished) {
    r.state = body.value("state", std::string("finished"));
    r.error = body.value("error", std::string());
    r.finished_at = v.recorded_at;
  } else if (v.kind == record_kind::replay_cancelled) {
    r.state = "cancelled";
    r.finished_at = v.recorded_at;
  }
}

void replay_manager::apply_scan_progress(const nlohmann::json& body, job& j) {
  auto u64 = [&](const char* k, std::uint64_t& out) {
    if (auto f = body.find(k); f != body.end() && f->is_number_unsigned()) out = *f;
  };
  u64("scanned_to", j.info.scanned_to);
  u64("scanned", j.info.scanned);
  u64("scheduled_count", j.info.scheduled);
  j.persisted_scanned_to = j.info.scanned_to;
}

void replay_manager::finish(job& j, const std::string& state, const std::string& error) {
  replay_info copy;
  {
    std::lock_guard g(mutex_);
    copy = j.info;
  }
  auto body = counters_json(copy);
  body["state"] = state;
  body["error"] = error;
  auto o = writer_.append(make_record(record_kind::replay_finished, copy, body));
  if (!o) return;  // retried on the next round
  std::lock_guard g(mutex_);
  j.info.state = state;
  j.info.error = error;
  j.info.finished_at = log_.recorded_at(o->seq).value_or(now_micros());
  j.info.last_record_seq = o->seq;
  j.persisted_scanned_to = j.info.scanned_to;
  auto f = replay_log_fields(j.info);
  f["state"] = state;
  if (!error.empty()) f["error"] = error;
  if (state == "failed") logging::error("replay.finished", "a replay failed", f);
  else logging::info("replay.finished", "a replay finished scanning", f);
}

void replay_manager::step(job& j, std::int64_t now_us) {
  replay_info r;
  {
    std::lock_guard g(mutex_);
    r = j.info;
  }
  if (r.state != "running") return;
  if (opts_.ownership && !opts_.ownership->owns(r.spec.endpoint_id)) return;  // another node's
  // The runner must have applied our last record before the queue is looked at.
  if (runner_.applied_seq() < r.last_record_seq) return;
  std::optional<projections::endpoint> ep;
  std::uint64_t queued = 0;
  {
    auto t = runner_.store().begin_read();
    if (!t) return;
    auto e = runner_.subs().get(*t, r.spec.endpoint_id);
    if (!e) return;
    if (!*e) return finish(j, "failed", "endpoint " + r.spec.endpoint_id + " no longer exists");
    ep = std::move(**e);
    auto c = runner_.queue().counts(*t, r.spec.endpoint_id);
    if (!c) return;
    queued = c->queued + c->parked;
  }
  if (queued >= opts_.max_queued) return;  // live (and earlier replayed) deliveries first
  const double rate = static_cast<double>(r.spec.rate_limit > 0 ? r.spec.rate_limit : opts_.default_rate);
  if (j.refill_us == 0) {
    j.refill_us = now_us;
    j.tokens = std::min<double>(rate, static_cast<double>(opts_.chunk));
  }
  j.tokens = std::min<double>(rate, j.tokens + rate * static_cast<double>(now_us - j.refill_us) / 1e6);
  j.refill_us = now_us;
  const double want = std::min<double>({static_cast<double>(opts_.chunk),
                                        static_cast<double>(opts_.max_queued - queued),
                                        std::max(1.0, rate / 4)});
  if (j.tokens < want || global_tokens_ < std::min(want, 1.0)) return;
  const std::size_t n = static_cast<std::size_t>(
      std::max(1.0, std::min({j.tokens, global_tokens_, static_cast<double>(opts_.chunk),
                              static_cast<double>(opts_.max_queued - queued)})));
  const auto t0 = std::chrono::steady_clock::now();
  auto chunk = scan_replay_chunk(log_, r.spec, *ep, r.scanned_to + 1, n, opts_.max_examine);
  if (!chunk) return finish(j, "failed", chunk.err().what());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  j.tokens -= static_cast<double>(chunk->scheduled.size());
  global_tokens_ -= static_cast<double>(chunk->scheduled.size());
  {
    std::lock_guard g(mutex_);
    j.info.scanned_to = chunk->scanned_to;
    j.info.scanned += chunk->examined;
    j.info.scheduled += chunk->scheduled.size();
    if (secs > 0 && chunk->examined > 100) j.info.scan_rate = static_cast<double>(chunk->examined) / secs;
    r = j.info;
  }
  const bool write = !chunk->scheduled.empty() ||
                     (r.scanned_to > j.persisted_scanned_to &&
                      (chunk->done || now_us - j.last_checkpoint_us >=
                                          std::chrono::duration_cast<std::chrono::microseconds>(
                                              opts_.checkpoint_interval)
                                              .count()));
  if (write) {
    auto body = counters_json(r);
    body["scheduled"] = chunk->scheduled;
    auto o = writer_.append(make_record(record_kind::replay_progressed, r, body));
    if (!o) {  // nothing was recorded: scan this range again later
      std::lock_guard g(mutex_);
      j.info.scanned_to = j.persisted_scanned_to;
      j.info.scanned -= chunk->examined;
      j.info.scheduled -= chunk->scheduled.size();
      return;
    }
    std::lock_guard g(mutex_);
    j.info.last_record_seq = o->seq;
    j.persisted_scanned_to = r.scanned_to;
    j.last_checkpoint_us = now_us;
  }
  if (chunk->done) finish(j, "finished", "");
}

void replay_manager::run() {
  std::unique_lock g(mutex_);
  std::size_t rr = 0;  // round-robin start
  while (!stopping_) {
    while (!cancels_.empty()) {
      auto c = std::move(cancels_.front());
      cancels_.pop_front();
      auto it = jobs_.find(c.id);
      if (it == jobs_.end()) {
        g.unlock();
        c.done(make_error(errc::invalid_record, "replay " + c.id + " was not found"));
        g.lock();
        continue;
      }
      auto j = it->second;
      if (j->info.state == "cancelled" || j->info.state == "failed") {
        replay_info copy = j->info;
        g.unlock();
        c.done(make_error(errc::invalid_record, "replay " + c.id + " is already " + copy.state));
        g.lock();
        continue;
      }
      // The counters the cancel record keeps (and the answer shows) take every attempt recorded
      // up to now; they stay so after it.
      g.unlock();
      follow_attempts();
      g.lock();
      replay_info copy = j->info;
      g.unlock();
      auto body = counters_json(copy);
      body["reason"] = c.reason;
      auto o = writer_.append(make_record(record_kind::replay_cancelled, copy, body));
      g.lock();
      if (!o) {
        g.unlock();
        c.done(o.err());
        g.lock();
        continue;
      }
      j->info.state = "cancelled";
      j->info.finished_at = log_.recorded_at(o->seq).value_or(now_micros());
      j->info.last_record_seq = o->seq;
      copy = j->info;
      g.unlock();
      {
        auto f = replay_log_fields(copy);
        f["reason"] = c.reason;
        logging::info("replay.cancelled", "a replay was cancelled", f);
      }
      c.done(std::move(copy));
      g.lock();
    }
    std::vector<std::shared_ptr<job>> running;
    std::vector<std::string> finished;  // maybe with deliveries still queued
    for (auto& [id, j] : jobs_) {
      if (j->info.state == "running") running.push_back(j);
      else if (j->info.state == "finished" && j->info.scheduled > j->info.delivered + j->info.failed)
        finished.push_back(id);
    }
    g.unlock();
    // Counted until its items end, however they end (served by a live delivery, dropped).
    const bool outstanding = std::any_of(finished.begin(), finished.end(),
                                         [&](const std::string& id) { return queued_items(id) > 0; });
    follow_attempts();
    const std::int64_t now = now_micros();
    if (global_refill_us_ == 0) {
      global_refill_us_ = now;
      global_tokens_ = static_cast<double>(opts_.global_rate);
    }
    global_tokens_ = std::min<double>(static_cast<double>(opts_.global_rate),
                                      global_tokens_ + static_cast<double>(opts_.global_rate) *
                                                           static_cast<double>(now - global_refill_us_) / 1e6);
    global_refill_us_ = now;
    for (std::size_t i = 0; i < running.size(); ++i) step(*running[(rr + i) % running.size()], now);
    ++rr;
    g.lock();
    if (stopping_ || !cancels_.empty()) continue;
    if (!running.empty()) cv_.wait_for(g, opts_.tick);
    else if (outstanding || opts_.ownership) cv_.wait_for(g, std::chrono::milliseconds(500));
    else cv_.wait(g, [&] {
        if (stopping_ || !cancels_.empty()) return true;
        for (auto& [id, j] : jobs_)
          if (j->info.state == "running") return true;
        return false;
      });
  }
}

}  // namespace hooklog::http
