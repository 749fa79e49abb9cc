#include "http/delivery/attempt_batch.hpp"

#include <algorithm>
#include <memory>

namespace hooklog::http {

attempt_batch::attempt_batch(record_sink& sink, schedule_fn schedule, settled_fn settled,
                             std::chrono::microseconds linger)
    : sink_(sink), schedule_(std::move(schedule)), settled_(std::move(settled)), linger_(linger) {}

void attempt_batch::add(attempt_record_set&& records, tag t) {
  bool schedule = false;
  {
    std::lock_guard lk(mu_);
    attempts_.push_back({std::move(t), records.size()});
    records_.push_back(std::move(records.attempt));
    if (records.disabled) records_.push_back(std::move(*records.disabled));
    if (!scheduled_) scheduled_ = schedule = true;
  }
  if (schedule) schedule_([this] { flush(); });
}

void attempt_batch::flush() {
  std::vector<record> records;
  auto attempts = std::make_shared<std::vector<queued>>();
  {
    std::lock_guard lk(mu_);
    scheduled_ = false;
    if (attempts_.empty()) return;
    records.swap(records_);
    attempts->swap(attempts_);
    // The next pass is likely as large: room for it now, not by doubling record moves.
    records_.reserve(records.size());
    attempts_.reserve(attempts->size());
  }
  auto done = [this, attempts](record_sink::outcomes&& outs) {
    std::size_t at = 0;
    for (const auto& a : *attempts) {
      const bool ok = at < outs.size() && static_cast<bool>(outs[at]);
      std::uint64_t settle = 0;
      for (std::size_t i = at; i < at + a.n_records && i < outs.size(); ++i)
        if (outs[i]) settle = std::max(settle, outs[i]->seq);
      at += a.n_records;
      settled_(a.t, ok, settle);
    }
  };
  sink_.submit(std::move(records), std::move(done), linger_);  // 0: committed at once
}

}  // namespace hooklog::http
