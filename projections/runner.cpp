#include "projections/runner.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/logger.hpp"
#include "engine/thread_name.hpp"
#include "projections/key_codec.hpp"
#include "projections/proj_errc.hpp"

namespace hooklog::projections {

namespace {
std::string layout_key(const projection& p) { return std::string(p.name()) + ".layout"; }
std::string bulk_key(const projection& p) { return std::string(p.name()) + ".bulk"; }
std::string layout_value(const projection& p) {
  std::string v;
  keys::put_u64_be(v, p.layout());
  return v;
}
}  // namespace

projection_runner::projection_runner(const event_log& log, runner_options opts)
    : log_(log), opts_(std::move(opts)) {}

result<std::unique_ptr<projection_runner>> projection_runner::open(const event_log& log,
                                                                   runner_options opts) {
  std::unique_ptr<projection_runner> r(new projection_runner(log, std::move(opts)));
  if (auto o = r->open_impl(); !o) return o.err();
  return r;
}

result<void> projection_runner::open_impl() {
  if (opts_.batch_records == 0) opts_.batch_records = 1;
  auto s = state_store::open({.dir = opts_.state_dir, .map_size = opts_.map_size});
  if (!s) return s.err();
  store_ = std::move(*s);
  subs_ = std::make_unique<subscriptions>();
  if (const char* h = std::getenv("HOOKLOG_TIMELINES_HELD"); h && *h)  // the benchmarks' switch
    opts_.timelines_held_max = std::strtoull(h, nullptr, 10);
  timelines_ = std::make_unique<timelines>(opts_.timelines_staged_max, opts_.timelines_bucket_bits,
                                           opts_.timelines_held_max);
  pending_ = std::make_unique<pending>(*subs_, opts_.pending_staged_max);
  stats_ = std::make_unique<stats>();
  all_ = {subs_.get(), timelines_.get(), pending_.get(), stats_.get()};
  cp_.assign(all_.size(), 0);
  bulk_.assign(all_.size(), 0);
  {
    // Run files of a bulk load that did not end (a crash): its marks below reset its state.
    std::error_code ec;
    std::filesystem::remove_all(run_dir(), ec);
  }

  auto t = store_->begin_write();
  if (!t) return t.err();
  auto c = store_->open_db(*t, "checkpoints");
  if (!c) return c.err();
  checkpoints_ = *c;
  // State written with another layout of a projection's databases is rebuilt.
  std::vector<std::size_t> stale;
  for (std::size_t i = 0; i < all_.size(); ++i) {
    if (auto o = all_[i]->open(*store_, *t); !o) return o;
    auto v = checkpoints_.get(*t, all_[i]->name());
    if (!v) return v.err();
    if (*v && (*v)->size() == 8) cp_[i] = keys::get_u64_be(**v);
    if (all_[i]->layout() > 1) {
      auto l = checkpoints_.get(*t, layout_key(*all_[i]));
      if (!l) return l.err();
      if (!*l || **l != layout_value(*all_[i])) stale.push_back(i);
    }
    // A bulk load that never wrote its staged state: its databases are partial.
    auto b = checkpoints_.get(*t, bulk_key(*all_[i]));
    if (!b) return b.err();
    if (*b) stale.push_back(i);
  }
  if (auto cm = t->commit(); !cm) return cm;

  // A projection must never be behind what it depends on (it would read its
  // dependency's future); state written by an older layout could be. Reset the
  // dependency then: it catches up alongside.
  for (std::size_t i = 0; i < all_.size(); ++i)
    for (const auto& d : all_[i]->depends_on())
      for (std::size_t j = 0; j < all_.size(); ++j)
        if (d == all_[j]->name() && cp_[j] > cp_[i]) stale.push_back(j);
  // A state env ahead of the log (the log was replaced): rebuild everything.
  for (std::size_t i = 0; i < all_.size(); ++i)
    if (cp_[i] > log_.committed_seq()) stale.push_back(i);
  std::sort(stale.begin(), stale.end());
  stale.erase(std::unique(stale.begin(), stale.end()), stale.end());
  if (!stale.empty()) {
    std::lock_guard g(apply_mutex_);
    if (auto r = reset(stale); !r) return r;
  }
  if (auto r = reload(); !r) return r;
  {
    // Projections at checkpoint 0 with empty databases (a fresh state directory, or the stale
    // ones just reset) load in bulk.
    std::lock_guard g(apply_mutex_);
    std::fill(bulk_.begin(), bulk_.end(), 0);  // reload() ended the loads reset() began
    std::vector<std::size_t> empty;
    for (std::size_t i = 0; i < all_.size(); ++i) {
      if (cp_[i] != 0) continue;
      auto e = databases_empty(i);
      if (!e) return e.err();
      if (*e) empty.push_back(i);
    }
    enter_bulk(empty);
  }
  publish_applied();
  last_sync_ = std::chrono::steady_clock::now();
  return {};
}

result<bool> projection_runner::databases_empty(std::size_t i) {
  auto t = store_->begin_read();
  if (!t) return t.err();
  for (const auto& name : all_[i]->databases()) {
    auto d = store_->db(name);
    if (!d) return make_error(proj_errc::state_failure, "database " + name + " is not open");
    auto c = lmdb::cursor::open(*t, *d);
    if (!c) return c.err();
    auto f = c->first();
    if (!f) return f.err();
    if (*f) return false;
  }
  return true;
}

void projection_runner::enter_bulk(const std::vector<std::size_t>& which) {
  if (!opts_.bulk_rebuild) return;
  for (std::size_t i : which)
    if (!bulk_[i] && all_[i]->begin_bulk(run_dir(), opts_.rebuild_memory / 2)) bulk_[i] = 1;
}

bool projection_runner::in_bulk() const {
  return std::find(bulk_.begin(), bulk_.end(), 1) != bulk_.end();
}

result<void> projection_runner::finish_bulk() {
  if (!in_bulk()) return {};
  // Each loaded projection's staged state is written in transactions of its own, in parts of
  // write_out_part_bytes (bulk_writer, projection.hpp); its last part writes its checkpoint and
  // removes its mark. LMDB keeps a committed write transaction's dirty pages (malloc'd one by
  // one) for the next one, so every part after the first reuses the pages of the one before
  // instead of faulting in fresh heap (PERFORMANCE.md, rebuild eighth and ninth passes). A
  // projection is never ahead of what it depends on after a failure: only the projections still
  // loading and their dependencies restart.
  std::optional<bulk_writer> w;
  auto failed = [&](error e) -> result<void> {
    for (auto* p : all_) p->discard();
    w.reset();  // aborts the part being written
    bulk_broken_ = true;  // the next batch restarts the loads not yet written
    {
      std::lock_guard eg(error_mutex_);
      last_error_ = e;
    }
    errors_.fetch_add(1, std::memory_order_relaxed);
    logging::error("projection.error",
                   "writing a rebuild's staged state failed; the rebuild restarts from seq 1",
                   {{"error", e.code.message()}, {"reason", e.what()}});
    (void)reload();
    return e;
  };
  std::string v;
  std::size_t fail_after = fail_write_out_after_.exchange(SIZE_MAX);  // test hook
  for (std::size_t i = 0; i < all_.size(); ++i) {
    if (!bulk_[i]) continue;
    w.emplace(*store_, opts_.write_out_part_bytes, fail_after);
    if (auto o = w->ok(); !o) return failed(o.err());
    if (auto f = all_[i]->finish_bulk(*w); !f) return failed(f.err());
    if (fail_after != SIZE_MAX) fail_after -= w->parts_committed();
    lmdb::txn& t = w->txn();
    if (cp_[i] > 0) {
      v.clear();
      keys::put_u64_be(v, all_[i]->stored_checkpoint(cp_[i]));  // nothing held after a load
      if (auto p = checkpoints_.put(t, all_[i]->name(), v); !p) return failed(p.err());
    }
    if (auto d = checkpoints_.del(t, bulk_key(*all_[i])); !d) return failed(d.err());
    if (auto c = t.commit(); !c) return failed(c.err());
    bulk_[i] = 0;
    dirty_ = true;
  }
  std::error_code ec;
  std::filesystem::remove_all(run_dir(), ec);
  return {};  // the caller clears its error, then publishes (waiters read both)
}

result<void> projection_runner::restart_bulk() {
  // The loads' projections and what they depend on start again from 0 (memory was dropped):
  // reset() takes every projection in a load.
  if (auto r = reset({}); !r) return r;  // enters the bulk load again
  bulk_broken_ = false;
  return {};
}

projection_runner::~projection_runner() {
  stop();
  if (store_) {
    // A bulk load in progress writes what it staged (its progress is kept).
    std::lock_guard g(apply_mutex_);
    if (!bulk_broken_) (void)finish_bulk();
    (void)write_held();
  }
  if (store_) (void)store_->sync();
}

std::vector<std::string> projection_runner::names() const {
  std::vector<std::string> n;
  for (auto* p : all_) n.emplace_back(p->name());
  return n;
}

std::vector<std::pair<std::string, std::string>> projection_runner::databases() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto* p : all_)
    for (auto& d : p->databases()) out.emplace_back(p->name(), std::move(d));
  out.emplace_back("runner", "checkpoints");
  return out;
}

std::optional<std::uint64_t> projection_runner::checkpoint(std::string_view name) const {
  std::lock_guard g(apply_mutex_);
  for (std::size_t i = 0; i < all_.size(); ++i)
    if (name == all_[i]->name()) return cp_[i];
  return std::nullopt;
}

result<std::uint64_t> projection_runner::checkpoint_in(lmdb::txn& t, std::string_view name) const {
  auto v = checkpoints_.get(t, name);
  if (!v) return v.err();
  return *v && (*v)->size() == 8 ? keys::get_u64_be(**v) : std::uint64_t{0};
}

result<std::optional<projections::timeline>> projection_runner::read_timeline(
    std::string_view tenant, std::string_view kind, std::string_view id, std::size_t limit,
    std::optional<timeline_position> after) const {
  // A write-out passes a reader at most once a sync interval or every kMaxHeld transitions; a
  // few tries suffice, the pauses only matter if something keeps the floor ahead (a bug).
  for (int attempt = 0;; ++attempt) {
    auto t = store_->begin_read();
    if (!t) return t.err();
    auto tl = timelines_->get(*t, tenant, kind, id, limit, after);
    if (tl || tl.err().code != proj_errc::read_again) return tl;
    if (attempt == 20)
      return make_error(proj_errc::state_failure,
                        "timelines kept moving past the read transaction (20 tries)");
    if (attempt >= 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::uint64_t projection_runner::lag() const {
  auto c = log_.committed_seq();
  auto a = applied_seq();
  return c > a ? c - a : 0;
}

bool projection_runner::wait_applied(std::uint64_t seq, std::chrono::milliseconds timeout) const {
  std::unique_lock g(applied_mutex_);
  return applied_cv_.wait_for(g, timeout, [&] { return applied_seq() >= seq; });
}

std::optional<error> projection_runner::last_error() const {
  std::lock_guard g(error_mutex_);
  return last_error_;
}

void projection_runner::clear_error() {
  std::lock_guard g(error_mutex_);
  last_error_.reset();
}

void projection_runner::publish_applied() {
  std::uint64_t m = UINT64_MAX;
  for (std::size_t i = 0; i < cp_.size(); ++i) m = std::min(m, bulk_[i] ? 0 : cp_[i]);
  {
    std::lock_guard g(applied_mutex_);
    applied_.store(m, std::memory_order_release);
    if (applied_hook_) applied_hook_(m);
  }
  applied_cv_.notify_all();
}

void projection_runner::set_applied_hook(std::function<void(std::uint64_t)> hook) {
  std::lock_guard g(applied_mutex_);
  applied_hook_ = std::move(hook);
}

result<void> projection_runner::reload() {
  auto t = store_->begin_read();
  if (!t) return t.err();
  for (auto* p : all_) {
    p->discard();
    if (auto r = p->load(*t); !r) return r;
  }
  return {};
}

result<void> projection_runner::reset(const std::vector<std::size_t>& asked) {
  // reload() below ends every bulk load (discard() drops what it staged): the projections in
  // one, and what they depend on, start again from 0 with the asked ones.
  std::vector<std::size_t> which = asked;
  for (std::size_t i = 0; i < all_.size(); ++i) {
    if (!bulk_[i]) continue;
    which.push_back(i);
    for (const auto& d : all_[i]->depends_on())
      for (std::size_t j = 0; j < all_.size(); ++j)
        if (d == all_[j]->name()) which.push_back(j);
  }
  std::sort(which.begin(), which.end());
  which.erase(std::unique(which.begin(), which.end()), which.end());
  auto t = store_->begin_write();
  if (!t) return t.err();
  std::string zero;
  keys::put_u64_be(zero, 0);
  // Every projection told resetting() hears either dropped() or reset_failed().
  std::vector<std::size_t> told;
  struct undo_told {
    projection_runner& r;
    std::vector<std::size_t>& told;
    ~undo_told() {
      for (std::size_t i : told) r.all_[i]->reset_failed();
    }
  } undo{*this, told};
  for (std::size_t i : which) {
    all_[i]->resetting(*t);
    told.push_back(i);
    for (const auto& name : all_[i]->databases()) {
      auto d = store_->db(name);
      if (!d) return make_error(proj_errc::state_failure, "database " + name + " is not open");
      if (auto r = d->drop(*t); !r) return r;
    }
    if (auto r = checkpoints_.put(*t, all_[i]->name(), zero); !r) return r;
    if (auto r = checkpoints_.del(*t, bulk_key(*all_[i])); !r) return r.err();
    if (all_[i]->layout() > 1)
      if (auto r = checkpoints_.put(*t, layout_key(*all_[i]), layout_value(*all_[i])); !r) return r;
  }
  if (auto r = t->commit(); !r) return r;
  told.clear();
  for (std::size_t i : which) {
    cp_[i] = 0;
    bulk_[i] = 0;
    all_[i]->dropped();
  }
  dirty_ = true;
  if (auto r = reload(); !r) return r;
  enter_bulk(which);  // the databases were just emptied
  publish_applied();
  return {};
}

result<void> projection_runner::rebuild(std::string_view name) {
  std::vector<std::size_t> which;
  auto add = [&](auto& self, std::string_view n) -> bool {
    for (std::size_t i = 0; i < all_.size(); ++i) {
      if (n != all_[i]->name()) continue;
      if (std::find(which.begin(), which.end(), i) == which.end()) which.push_back(i);
      for (const auto& d : all_[i]->depends_on()) self(self, d);
      return true;
    }
    return false;
  };
  if (name == "all") {
    for (std::size_t i = 0; i < all_.size(); ++i) which.push_back(i);
  } else if (!add(add, name)) {
    return make_error(proj_errc::unknown_projection,
                      "unknown projection '" + std::string(name) +
                          "' (subscriptions, timelines, pending, stats, all)");
  }
  {
    std::lock_guard g(apply_mutex_);
    if (auto r = reset(which); !r) return r;
  }
  const std::uint64_t target = log_.committed_seq();
  bool running;
  {
    std::lock_guard g(thread_mutex_);
    running = thread_.joinable();
  }
  if (running) {
    while (!wait_applied(target, std::chrono::seconds(1)))
      if (stopping_.load()) return make_error(proj_errc::stopped, "runner stopped during rebuild");
    return {};
  }
  auto r = catch_up(target);
  if (!r) return r.err();
  return {};
}

result<std::uint64_t> projection_runner::catch_up(std::uint64_t up_to, std::size_t max_batches) {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b < max_batches; ++b) {
    auto n = apply_batch(up_to);
    if (!n) return n.err();
    if (*n == 0) break;
    total += *n;
  }
  {
    // A synchronous catch-up leaves the state whole on disk (tools, tests read it).
    std::lock_guard g(apply_mutex_);
    if (auto w = write_held(); !w) return w.err();
  }
  maybe_sync(false);
  return total;
}

result<std::uint64_t> projection_runner::apply_batch(std::uint64_t up_to) {
  std::lock_guard g(apply_mutex_);
  if (bulk_broken_)
    if (auto r = restart_bulk(); !r) return r.err();
  const std::uint64_t low = *std::min_element(cp_.begin(), cp_.end());
  const std::uint64_t committed = std::min(log_.committed_seq(), up_to);
  if (low >= committed) {
    const bool load_ends = in_bulk();
    if (auto f = finish_bulk(); !f) return f.err();  // nothing left: a bulk load ends
    if (up_to == UINT64_MAX) {
      // Caught up with the log: healthy again, once what is held could be written.
      if (held_write_failed_)
        if (auto w = write_held(); !w) {
          if (load_ends) publish_applied();  // the loads' progress, with the error set
          return w.err();
        }
      clear_error();
    }
    if (load_ends) publish_applied();
    return std::uint64_t{0};
  }
  const std::uint64_t from = low + 1;
  const std::uint64_t to = std::min(committed, low + opts_.batch_records);

  lmdb::txn wt;
  auto fail = [&](error e) -> result<std::uint64_t> {
    for (auto* p : all_) p->discard();  // closes write cursors before the txn ends
    wt.abort();
    if (in_bulk()) bulk_broken_ = true;  // its staged writes are gone: restarted next batch
    {
      std::lock_guard eg(error_mutex_);
      last_error_ = e;
    }
    errors_.fetch_add(1, std::memory_order_relaxed);
    logging::error("projection.error", "a projection batch failed and was rolled back; it is retried",
                   {{"from_seq", from}, {"to_seq", to}, {"error", e.code.message()}, {"reason", e.what()}});
    (void)reload();  // memory back to the committed state
    return e;
  };

  {
    auto t = store_->begin_write();
    if (!t) return fail(t.err());
    wt = std::move(*t);
  }
  auto* t = &wt;
  std::optional<error> apply_error;
  std::uint64_t last = 0, n = 0;
  const std::uint64_t fail_after = fail_after_.exchange(UINT64_MAX);
  const std::size_t count = all_.size();
  auto read = log_.for_each(from, to, [&](const record_view& r) {
    if (n == fail_after) {
      apply_error = make_error(proj_errc::state_failure, "injected batch failure (test hook)");
      return false;
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (r.seq <= cp_[i]) continue;
      if (auto a = all_[i]->apply(*t, r); !a) {
        apply_error = a.err();
        return false;
      }
    }
    last = r.seq;
    ++n;
    return true;
  });
  if (!read) return fail(read.err());
  if (apply_error) return fail(*apply_error);
  if (n == 0) return std::uint64_t{0};
  for (auto* p : all_)
    if (auto f = p->flush(*t); !f) return fail(f.err());
  std::string v;
  for (std::size_t i = 0; i < count; ++i) {
    // In a bulk load the checkpoint stays 0 and the mark says the databases are partial. A
    // projection that holds writes in memory stores how far its databases are whole, also when
    // it is ahead of this batch (its flush may have written what it held).
    if (bulk_[i]) {
      if (cp_[i] >= last) continue;
      if (auto p = checkpoints_.put(*t, bulk_key(*all_[i]), ""); !p) return fail(p.err());
      continue;
    }
    v.clear();
    keys::put_u64_be(v, all_[i]->stored_checkpoint(std::max(cp_[i], last)));
    if (auto p = checkpoints_.put(*t, all_[i]->name(), v); !p) return fail(p.err());
  }
  if (auto c = t->commit(); !c) return fail(c.err());
  for (auto* p : all_) p->committed();
  batches_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < count; ++i) cp_[i] = std::max(cp_[i], last);
  dirty_ = true;
  clear_error();  // a batch committed: the state can be written again (e.g. space was freed)
  // The batch reached the end of what was asked for: a bulk load writes its staged state now
  // (a failure sets the error again).
  if (last >= committed)
    if (auto f = finish_bulk(); !f) return f.err();
  publish_applied();
  return n;
}

result<void> projection_runner::write_held() {
  lmdb::txn t;
  std::vector<projection*> writing;  // asked to write: discard() on a failure
  auto fail = [&](error e) -> result<void> {
    for (auto* p : writing) p->discard();  // what they held stays held
    t.abort();
    held_write_failed_ = true;
    {
      std::lock_guard eg(error_mutex_);
      last_error_ = e;  // until a batch commits: the next one writes what is held (timelines.hpp)
    }
    errors_.fetch_add(1, std::memory_order_relaxed);
    logging::error("projection.error",
                   "writing the projections' held state failed; it stays held and the next batch "
                   "writes it",
                   {{"error", e.code.message()}, {"reason", e.what()}});
    return e;
  };
  bool wrote = false;
  std::string v;
  for (std::size_t i = 0; i < all_.size(); ++i) {
    if (bulk_[i] || !all_[i]->has_held()) continue;
    if (!t.handle()) {
      auto b = store_->begin_write();
      if (!b) return fail(b.err());
      t = std::move(*b);
    }
    writing.push_back(all_[i]);
    auto w = all_[i]->write_held(t);
    if (!w) return fail(w.err());
    if (!*w) continue;
    wrote = true;
    v.clear();
    keys::put_u64_be(v, all_[i]->stored_checkpoint(cp_[i]));
    if (auto p = checkpoints_.put(t, all_[i]->name(), v); !p) return fail(p.err());
  }
  held_write_failed_ = false;  // also when nothing is held any more
  if (!wrote) return {};
  if (auto c = t.commit(); !c) return fail(c.err());
  for (auto* p : all_) p->committed();
  dirty_ = true;
  return {};
}

void projection_runner::maybe_sync(bool force) {
  std::lock_guard g(apply_mutex_);
  auto now = std::chrono::steady_clock::now();
  if (!dirty_ || (!force && now - last_sync_ < opts_.sync_interval)) return;
  const bool held_written = write_held().ok();  // a failure is logged and set as the error
  (void)store_->sync();
  dirty_ = !held_written;  // the next sync tries again
  last_sync_ = now;
}

void projection_runner::start() {
  std::lock_guard g(thread_mutex_);
  if (thread_.joinable()) return;
  stopping_.store(false);
  thread_ = std::thread([this] {
    set_thread_priority();
    run();
  });
}

void projection_runner::set_thread_priority() const {
  // Named for top -H, ps -L and /proc/<pid>/task/*/comm (at most 15 bytes).
  set_thread_name("projections");
  if (opts_.thread_nice == 0) return;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), opts_.thread_nice) != 0)
    logging::warn("projection.priority", "the projections' thread keeps its priority",
                  {{"nice", opts_.thread_nice}, {"reason", std::strerror(errno)}});
}

void projection_runner::stop() {
  std::lock_guard g(thread_mutex_);
  if (!thread_.joinable()) return;
  stopping_.store(true);
  thread_.join();
  maybe_sync(true);
}

void projection_runner::run() {
  while (!stopping_.load()) {
    auto n = apply_batch(UINT64_MAX);
    if (!n) {
      auto until = std::chrono::steady_clock::now() + opts_.retry_pause;
      while (!stopping_.load() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (*n > 0) {
      maybe_sync(false);
      continue;
    }
    maybe_sync(false);
    log_.wait_for_commit_after(applied_seq(), opts_.idle_wait);
  }
}

}  // namespace hooklog::projections
