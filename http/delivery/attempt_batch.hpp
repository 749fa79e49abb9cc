#pragma once
// Attempt records gathered into one record_sink submission per pass of the outbound client's I/O
// loop, instead of one submission (and one wake-up of the writer, one callback on its
// completion thread) per attempt.
//
// add(records, tag): queues one attempt's records (attempt_record_set: the delivery_attempt
// record, then an endpoint_disabled record when there is one; a plain struct, so an attempt's
// records reach the batch without a vector of their own and are moved once); the first add() after
// a flush asks `schedule` to run flush() later (the dispatcher passes outbound_client::post: the
// flush runs after the answers read in the same pass of the I/O loop, so nothing waits for a
// timer). flush() submits everything queued, in add() order, as one submission (which the sink may
// hold up to `linger` to share a commit with the next ones); when it is durable (or failed)
// `settled(tag, ok, settle_seq)` is called once per attempt, in add() order, on the sink's
// thread: ok when the attempt's first record (the delivery_attempt) was appended, settle_seq the
// highest seq among its appended records. The records of one submission keep their order in
// the log, and failures stay per record (record_sink.hpp), so each attempt gets the outcome it
// would have had alone.
// If `schedule` drops the flush (the client is stopping), the owner calls flush() itself before
// waiting for the records (dispatcher::stop()).
//
// Thread safety: add() and flush() from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/record_sink.hpp"

namespace hooklog::http {

// One attempt's records, in the order they are appended.
struct attempt_record_set {
  record attempt;                  // the delivery_attempt
  std::optional<record> disabled;  // the endpoint_disabled it caused, if any
  std::size_t size() const { return disabled ? 2 : 1; }
};

class attempt_batch {
 public:
  struct tag {
    tag() = default;
    tag(std::string ep, std::uint64_t seq, std::string_view outcome_name = {}, std::int64_t latency = -1,
        bool dead = false, bool disabled_it = false)
        : endpoint_id(std::move(ep)), event_seq(seq), outcome(outcome_name), latency_us(latency),
          dead_letter(dead), disabled(disabled_it) {}
    std::string endpoint_id;
    std::uint64_t event_seq = 0;
    // What the attempt is counted as once its record is written (a static name).
    std::string_view outcome;
    std::int64_t latency_us = -1;
    bool dead_letter = false, disabled = false;
    std::uint64_t hold_gen = 0;  // the dispatcher's record_hold number of the attempt
  };
  using settled_fn = std::function<void(const tag&, bool ok, std::uint64_t settle_seq)>;
  using schedule_fn = std::function<void(std::function<void()>)>;

  // `linger`: how long the sink may hold a flushed submission for later ones to share its
  // commit (record_sink.hpp); 0 commits it at once.
  attempt_batch(record_sink& sink, schedule_fn schedule, settled_fn settled,
                std::chrono::microseconds linger = {});

  void add(attempt_record_set&& records, tag t);
  void flush();

 private:
  struct queued {
    tag t;
    std::size_t n_records = 0;
  };
  record_sink& sink_;
  schedule_fn schedule_;
  settled_fn settled_;
  std::chrono::microseconds linger_;
  std::mutex mu_;
  std::vector<record> records_;
  std::vector<queued> attempts_;
  bool scheduled_ = false;
};

}  // namespace hooklog::http
