// event_log's pipelined append (event_log.hpp, append_staged/index_staged): the log env's
// commit on the writer's thread, the index env's on another, the group published after both.
#include "engine/event_log.hpp"
#include "engine/logger.hpp"

namespace hooklog {

std::vector<result<append_outcome>> event_log::append_staged(std::vector<record>& records,
                                                             staged_group& staged) {
  staged = staged_group{};
  return append_events(records, &staged);
}

void event_log::forget_indexed_keys() {
  // Read before the group's index read transaction begins: a group at or below it was
  // committed to the index env before, so that transaction finds its keys.
  const std::uint64_t through = index_->indexed_through();
  while (!staged_idem_groups_.empty() && staged_idem_groups_.front().first <= through) {
    for (const auto& k : staged_idem_groups_.front().second) staged_idem_.erase(k);
    staged_idem_groups_.pop_front();
  }
}

void event_log::index_staged(staged_group& s) {
  if (!s.committed) return;
  {
    std::lock_guard l(index_write_mutex_);
    index_group(s);
  }
  publish_commit(s.head, s.last_recorded, s.applied);
}

void event_log::index_group(staged_group& s) {
  bool indexed = false;
  // The index env holds everything before the group (else a failed group's entries are
  // missing, or the writer caught up past it: the catch-up below reads the records).
  if (index_->indexed_through() == s.before) {
    for (;;) {
      auto r = [&]() -> result<void> {
        std::shared_lock lock(resize_mutex_);
        auto t = lmdb::txn::begin(index_->env(), false);
        if (!t) return t.err();
        for (const auto& [key, seq] : s.idem)
          if (auto p = index_->put_idem(*t, key, seq); !p) return p.err();
        if (auto f = index_->finish(*t, s.keys, s.applied, s.head.chain_hash); !f) return f;
        return t->commit();
      }();
      if (r) {
        index_->set_indexed_through(s.applied, s.head.chain_hash);
        indexed = true;
        break;
      }
      if (r.code() != make_error_code(errc::map_full) || !index_->grow()) break;
    }
  }
  if (!indexed) {
    // The records are durable; their entries come from the records (growing a full map). On
    // failure usable() stays false: readers walk the records, and the staged keys stay in
    // memory for the writer's look-ups until a catch-up succeeds.
    auto src = index_source();
    src.applied = std::max(src.applied, s.applied);
    auto c = index_->catch_up(src);
    if (!c)
      logging::error("storage.index", "the log's index env lags the records: caught up later",
                     {{"reason", c.err().what()}, {"indexed_through", index_->indexed_through()}});
  }
}

}  // namespace hooklog
