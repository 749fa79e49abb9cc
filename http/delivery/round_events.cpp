#include "http/delivery/round_events.hpp"

#include <algorithm>

namespace hooklog::http {

void round_events::read_one(std::uint64_t seq) {
  event& e = events_[seq];
  auto r = log_.get(seq);
  if (!r) {
    e.failure = r.err();
    return;
  }
  if (!*r) return;
  e.found = true;
  e.tenant = std::move((*r)->tenant);
  e.type = std::move((*r)->type);
  e.body = std::move((*r)->body);
}

// [first, last] ascending, not yet read, each within kMaxGap of the previous one.
void round_events::read_run(const std::uint64_t* first, const std::uint64_t* last) {
  const std::uint64_t* want = first;
  auto walked = log_.for_each(*first, *last, [&](const record_view& v) {
    while (want <= last && *want < v.seq) ++want;  // not in the log: left for read_one below
    if (want > last) return false;
    if (*want == v.seq) {
      event& e = events_[v.seq];
      e.found = true;
      e.tenant.assign(v.tenant);
      e.type.assign(v.type);
      e.body.assign(v.body);
      ++want;
    }
    return want <= last;
  });
  for (const std::uint64_t* s = first; s <= last; ++s) {
    auto it = events_.find(*s);
    if (!walked || it == events_.end()) {
      if (it != events_.end()) events_.erase(it);
      read_one(*s);  // what get() says about it alone: its own error, or not found
    }
  }
}

void round_events::read(const std::vector<std::uint64_t>& seqs) {
  std::vector<std::uint64_t> todo;
  todo.reserve(seqs.size());
  for (auto s : seqs)
    if (!events_.count(s) && (todo.empty() || todo.back() != s)) todo.push_back(s);
  std::size_t i = 0;
  while (i < todo.size()) {
    std::size_t j = i;
    while (j + 1 < todo.size() && todo[j + 1] > todo[j] && todo[j + 1] - todo[j] <= kMaxGap) ++j;
    if (j == i)
      read_one(todo[i]);
    else
      read_run(&todo[i], &todo[j]);
    i = j + 1;
  }
}

round_events::event* round_events::find(std::uint64_t seq) {
  auto it = events_.find(seq);
  return it == events_.end() ? nullptr : &it->second;
}

}  // namespace hooklog::http
