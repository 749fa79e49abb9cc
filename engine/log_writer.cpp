#include "engine/log_writer.hpp"

#include <algorithm>
#include <chrono>

#include "engine/handoff_batch.hpp"
#include "engine/log_zero_ahead.hpp"
#include "engine/logger.hpp"
#include "engine/thread_name.hpp"

namespace hooklog {

namespace {

std::uint64_t micros_since(std::chrono::steady_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
          .count());
}

// A group whose append failed: every producer gets the error; the operator gets one line
// (sampled per error code: a full disk fails every group until space is freed).
void log_failed_group(const error& e, std::size_t records) {
  static logging::log_sampler sampler(1);
  const bool full = e.code == make_error_code(errc::storage_full) || e.code == make_error_code(errc::map_full);
  sampler.write(logging::level::error, e.code.message(), full ? "storage.full" : "storage.error",
                full ? "the log's storage is full: writes are refused with 503 until space is freed"
                     : "a log write failed: the group's producers get the error",
                [&] {
                  return nlohmann::json{{"error", full ? "storage_full" : e.code.message()},
                                        {"reason", e.what()},
                                        {"records", records}};
                });
}

// Zeros ahead of the log's last page (engine/log_zero_ahead.hpp), between groups. Only for a log
// that syncs its commits (what it saves is the fsync's allocation and inode write). A failure is
// logged (sampled); the log goes on as before.
void keep_zeros_ahead(event_log& log, zero_ahead& ahead) {
  if (!log.options().sync || log.options().read_only) return;
  auto r = ahead.keep_ahead(log.raw_env(), log.used_bytes());
  if (r) return;
  static logging::log_sampler sampler(1);
  sampler.write(logging::level::warn, r.err().code.message(), "storage.zeros_ahead",
                "could not write zeros ahead of the log's last page: commits allocate as they go",
                [&] { return nlohmann::json{{"reason", r.err().what()}}; });
}

}  // namespace

log_writer::log_writer(event_log& log, writer_options opts)
    : log_(log),
      opts_(opts),
      completer_([this] {
        set_thread_name("log-answers");
        complete();
      }),
      thread_([this] {
        set_thread_name("log-writer");
        run();
      }) {}

log_writer::~log_writer() { stop(); }

void log_writer::submit(std::vector<record> records, callback done) {
  enqueue(std::move(records), std::move(done), std::chrono::microseconds{0});
}

void log_writer::submit(std::vector<record> records, callback done,
                        std::chrono::microseconds linger) {
  enqueue(std::move(records), std::move(done), std::max(linger, std::chrono::microseconds{0}));
}

void log_writer::enqueue(std::vector<record>&& records, callback&& done,
                         std::chrono::microseconds linger) {
  // The writer is notified after the unlock (a writer woken while the mutex is still held only
  // blocks on it again: two more futex calls per hand-off). Once the lock is released the writer
  // may commit the records and its owner destroy it, so stop() waits until no producer is
  // between the unlock and the notify (in_submit_).
  in_submit_.fetch_add(1, std::memory_order_acq_rel);
  bool queued = false, wake = false;
  {
    std::lock_guard g(mutex_);
    if (!stopping_) {
      const bool urgent = linger.count() == 0;
      // A lingering submission behind others needs no wake-up: the writer is committing, or
      // waiting until the earliest due time, which is the first one's unless this one is due
      // sooner (the oldest of equal lingers is due first).
      const auto due = clock::now() + linger;
      wake = urgent || queue_.empty() || due < queue_.front().due ||
             (queued_records_ < opts_.linger_records &&
              queued_records_ + records.size() >= opts_.linger_records);
      queued_records_ += records.size();
      if (urgent) ++queued_urgent_;
      queue_.push_back(pending{std::move(records), std::move(done), due, urgent});
      queued = true;
    }
  }
  if (queued) {
    if (wake) cv_.notify_one();
    in_submit_.fetch_sub(1, std::memory_order_acq_rel);  // the last touch of *this
    return;
  }
  in_submit_.fetch_sub(1, std::memory_order_acq_rel);
  outcomes failed(records.size(), make_error(errc::writer_stopped, "the log writer is stopped"));
  done(std::move(failed));
}

void log_writer::wait_lingering(std::unique_lock<std::mutex>& g) {
  while (!stopping_ && queued_urgent_ == 0 && queued_records_ < opts_.linger_records) {
    auto due = clock::time_point::max();
    for (const auto& p : queue_) due = std::min(due, p.due);
    if (clock::now() >= due) return;
    cv_.wait_until(g, due);
  }
}

void log_writer::stop() {
  {
    std::lock_guard g(mutex_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard g(done_mutex_);
    writer_exited_ = true;
    done_cv_.notify_one();
  }
  if (completer_.joinable()) completer_.join();
  while (in_submit_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

// Each group's callbacks run inside a handoff_batch (engine/handoff_batch.hpp): what they hand
// to other threads (the HTTP server's answers) may wake those once, after the group's last one.
void log_writer::complete() {
  for (;;) {
    completion c;
    {
      std::unique_lock g(done_mutex_);
      done_cv_.wait(g, [&] { return writer_exited_ || !done_queue_.empty(); });
      if (done_queue_.empty()) return;
      c = std::move(done_queue_.front());
      done_queue_.pop_front();
      completing_ = true;
    }
    {
      handoff_batch batch;  // the callbacks' wake-ups of other threads: once, after the last
      for (auto& [done, out] : c.answers) done(std::move(out));
    }
    c.answers.clear();
    {
      std::lock_guard g(done_mutex_);
      completing_ = false;
    }
    // c's records and vectors are freed here, after the answers (and off the writer's thread).
  }
}

writer_stats log_writer::stats() const {
  std::lock_guard g(stats_mutex_);
  return stats_;
}

std::vector<std::uint32_t> log_writer::take_group_sizes() {
  std::lock_guard g(stats_mutex_);
  return std::exchange(group_sizes_, {});
}

void log_writer::run() {
  std::vector<pending> group;
  std::vector<record> batch;
  zero_ahead ahead;
  std::size_t last_group = 0;
  for (;;) {
    group.clear();
    // The previous group is answered (or queued) by now. Zeros pay where commits are small (a
    // block allocation and an inode write saved per commit of a few pages); batches' commits
    // of a thousand records would only write their bytes twice (measured: 12 % fewer batched
    // events per second with zeros ahead, in two pairs).
    if (last_group <= kInlineAnswerRecords) keep_zeros_ahead(log_, ahead);
    std::size_t n = 0;  // the group's records
    {
      std::unique_lock g(mutex_);
      cv_.wait(g, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      wait_lingering(g);
      // One allocation, not a doubling per power of two, when the last group's vectors went
      // to the completion thread.
      group.reserve(std::min(queue_.size(), opts_.max_group_records));
      std::size_t bytes = 0;
      while (!queue_.empty() && (group.empty() || (n + queue_.front().records.size() <=
                                                       opts_.max_group_records &&
                                                   bytes < opts_.max_group_bytes))) {
        for (const auto& r : queue_.front().records) bytes += r.body.size() + 128;
        n += queue_.front().records.size();
        queued_records_ -= queue_.front().records.size();
        if (queue_.front().urgent) --queued_urgent_;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batch.clear();
    batch.reserve(n);
    for (auto& p : group)
      for (auto& r : p.records) batch.push_back(std::move(r));
    const auto start = std::chrono::steady_clock::now();
    auto answered = start;  // when the outcomes came (the log's commit done)
    last_group = n;
    // The producers are answered as soon as the records are durable; the index env is written
    // after (event_log::append_then: this process's queries wait for it).
    log_.append_then(batch, [&](std::vector<result<append_outcome>>& results) {
      answered = std::chrono::steady_clock::now();
      count_group(start, n, results);  // before the answers: an answered producer sees it
      completion c;
      c.answers.reserve(group.size());
      std::size_t at = 0;
      for (auto& p : group) {
        const std::size_t k = p.records.size();
        outcomes mine;
        mine.reserve(k);
        for (std::size_t i = 0; i < k; ++i) mine.push_back(std::move(results[at + i]));
        at += k;
        c.answers.emplace_back(std::move(p.done), std::move(mine));
      }
      {
        std::unique_lock g(done_mutex_);
        if (n <= kInlineAnswerRecords && done_queue_.empty() && !completing_) {
          // Every earlier group is answered and the completion thread idle (only this thread
          // queues): answering here keeps the order and saves waking it. The records are freed
          // here too, when batch and group are cleared for the next group.
          g.unlock();
          handoff_batch handoffs;  // the callbacks' wake-ups of other threads: once, after the last
          for (auto& [done, out] : c.answers) done(std::move(out));
          return;
        }
        // The log reads the records no more (append_then's contract): that thread frees them.
        c.records = std::exchange(batch, {});
        c.submitted = std::exchange(group, {});
        done_queue_.push_back(std::move(c));
      }
      done_cv_.notify_one();
    });
    const auto after = micros_since(answered);
    std::lock_guard g(stats_mutex_);
    stats_.after_commit_micros_total += after;
  }
}

void log_writer::count_group(std::chrono::steady_clock::time_point start, std::size_t n,
                             const std::vector<result<append_outcome>>& results) {
  const auto us = micros_since(start);
  const bool failed = !results.empty() && !results.front();
  {
    std::lock_guard g(stats_mutex_);  // not mutex_: submitters need that one meanwhile
    stats_.groups += 1;
    stats_.records += n;
    stats_.max_group = std::max<std::uint64_t>(stats_.max_group, n);
    stats_.commit_micros_total += us;
    ++stats_.commit_buckets[static_cast<std::size_t>(
        std::lower_bound(kCommitBoundsUs.begin(), kCommitBoundsUs.end(), us) -
        kCommitBoundsUs.begin())];
    if (failed) ++stats_.failed_groups;
    if (group_sizes_.size() < (1u << 20)) group_sizes_.push_back(static_cast<std::uint32_t>(n));
  }
  if (failed) log_failed_group(results.front().err(), n);
}

}  // namespace hooklog
