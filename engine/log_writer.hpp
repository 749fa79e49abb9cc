#pragma once
// The LMDB implementation of record_sink (record_sink.hpp has the contract).
// Group commit: any number of producer threads submit records; one writer
// thread takes everything queued, appends it in one transaction (one fsync)
// and only then answers each producer. Acknowledged means durable. The answers go out right
// after the log's commit, before the group's index entries are written
// (event_log::append_then): a query in this process started after an answer waits for them.
//
// Thread safety: submit()/append() from any thread. Callbacks run in commit order: a group of
// up to kInlineAnswerRecords records whose predecessors are all answered is answered by the
// writer thread itself (no hand-off to wake a thread for), any other on one completion thread,
// so building a large group's answers overlaps the group's index write and the next group's
// commit, and that thread also frees the group's records. They must not block for long; one on
// the writer's thread that queries the log walks the records (the index env is behind it).
// stop() drains what is queued, then joins; later submissions fail with
// errc::writer_stopped.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "engine/event_log.hpp"
#include "engine/record_sink.hpp"

namespace hooklog {

struct writer_options {
  std::size_t max_group_records = 4096;
  std::size_t max_group_bytes = 32u << 20;
  // Lingering submissions (record_sink.hpp) are committed at once when this many records are
  // queued.
  std::size_t linger_records = 1024;
};

class log_writer final : public record_sink {
 public:
  log_writer(event_log& log, writer_options opts = {});
  ~log_writer() override;
  log_writer(const log_writer&) = delete;
  log_writer& operator=(const log_writer&) = delete;

  // Queues `records`; `done` gets one outcome per record, in order, after the
  // group holding them committed (or failed).
  void submit(std::vector<record> records, callback done) override;
  // Held until the earliest linger ends, a submission without one comes, linger_records are
  // queued or stop(): whichever is first.
  void submit(std::vector<record> records, callback done,
              std::chrono::microseconds linger) override;
  using record_sink::submit;  // the future form

  void stop();
  writer_stats stats() const override;
  static constexpr std::size_t kInlineAnswerRecords = 64;
  // Sizes of recent groups (for the benchmark's raw-loop comparison); clears them.
  std::vector<std::uint32_t> take_group_sizes();

 private:
  using clock = std::chrono::steady_clock;
  struct pending {
    std::vector<record> records;
    callback done;
    clock::time_point due;  // commit by then (a submission without a linger: its submit time)
    bool urgent = true;     // no linger
  };
  void enqueue(std::vector<record>&& records, callback&& done, std::chrono::microseconds linger);
  // Under mutex_, the queue not empty: waits while every queued submission may linger, until
  // the earliest is due. Returns at once on stop.
  void wait_lingering(std::unique_lock<std::mutex>& g);
  void run();
  void complete();
  // A group's counts and its commit time (from its start to its outcomes), and its failure
  // logged; before its answers, so that an answered producer sees them.
  void count_group(std::chrono::steady_clock::time_point start, std::size_t n,
                   const std::vector<result<append_outcome>>& results);
  // A group answered on the completion thread: its callbacks with their outcomes, and its
  // records and the submissions' vectors, which that thread frees after the answers. They were
  // allocated by other threads (the producers'), so each free takes another malloc arena's lock:
  // freed here, that is not on the writer's path.
  struct completion {
    std::vector<std::pair<callback, outcomes>> answers;
    std::vector<record> records;
    std::vector<pending> submitted;
  };

  event_log& log_;
  writer_options opts_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<pending> queue_;
  std::size_t queued_records_ = 0;  // in queue_
  std::size_t queued_urgent_ = 0;   // submissions in queue_ without a linger
  bool stopping_ = false;
  std::atomic<int> in_submit_{0};  // producers inside submit() (see stop())
  mutable std::mutex stats_mutex_;  // guards stats_ and group_sizes_
  writer_stats stats_;
  std::vector<std::uint32_t> group_sizes_;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  std::deque<completion> done_queue_;
  bool completing_ = false;  // the completion thread runs callbacks (guarded by done_mutex_)
  bool writer_exited_ = false;
  std::thread completer_;
  std::thread thread_;
};

}  // namespace hooklog
