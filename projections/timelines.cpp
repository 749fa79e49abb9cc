#include "projections/timelines.hpp"

#include <algorithm>
#include <cstring>
#include <deque>

#include <nlohmann/json.hpp>

#include "engine/record.hpp"
#include "engine/time_util.hpp"
#include "projections/key_codec.hpp"

namespace hooklog::projections {

namespace {
constexpr std::uint8_t kOutOfOrder = 1;
constexpr std::uint8_t kFromStated = 2;

void entity_prefix(std::string& k, std::string_view tenant, std::string_view kind, std::string_view id) {
  k.clear();
  keys::put_part(k, tenant);
  keys::put_part(k, kind);
  keys::put_part(k, id);
}

std::optional<transition> decode_transition(std::string_view key, std::size_t prefix_size,
                                            std::string_view v) {
  if (key.size() != prefix_size + 16 || v.size() < 9) return std::nullopt;
  transition tr;
  tr.occurred_at = keys::get_i64_be(key.substr(prefix_size));
  tr.seq = keys::get_u64_be(key.substr(prefix_size + 8));
  tr.out_of_order = (static_cast<std::uint8_t>(v[0]) & kOutOfOrder) != 0;
  tr.from_stated = (static_cast<std::uint8_t>(v[0]) & kFromStated) != 0;
  tr.recorded_at = keys::get_le<std::int64_t>(v, 1);
  std::size_t at = 9;
  auto from = keys::get_str16(v, at);
  auto to = keys::get_str16(v, at);
  if (!from || !to) return std::nullopt;
  tr.from = std::string(*from);
  tr.to = std::string(*to);
  return tr;
}
}  // namespace

nlohmann::json to_json(const timeline& t) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& tr : t.transitions)
    arr.push_back({{"from", tr.from},
                   {"to", tr.to},
                   {"occurred_at", format_rfc3339(tr.occurred_at)},
                   {"recorded_at", format_rfc3339(tr.recorded_at)},
                   {"seq", tr.seq},
                   {"out_of_order", tr.out_of_order}});
  return {{"kind", t.kind}, {"id", t.id}, {"tenant", t.tenant}, {"status", t.current_status},
          {"transitions", std::move(arr)}};
}

result<void> timelines::open(state_store& s, lmdb::txn& t) {
  auto a = s.open_db(t, "tl_transitions");
  if (!a) return a.err();
  transitions_ = *a;
  return {};
}

result<void> timelines::apply(lmdb::txn& t, const record_view& r) {
  if (r.kind != record_kind::event_received || r.entity_kind.empty() || r.entity_id.empty() ||
      r.status_to.empty())
    return {};
  // Key and value written in place (one resize; into the bulk load's runs directly), not
  // appended field by field into arena_ and copied from there.
  const bool stated = !r.status_from.empty();
  const std::size_t prefix_size =
      keys::part_size(r.tenant) + keys::part_size(r.entity_kind) + keys::part_size(r.entity_id);
  const std::size_t key_size = prefix_size + 16;
  const std::size_t value_size =
      1 + 8 + keys::str16_size(r.status_from) + keys::str16_size(r.status_to);
  auto write = [&](char* p) {
    p = keys::write_part(p, r.tenant);
    p = keys::write_part(p, r.entity_kind);
    p = keys::write_part(p, r.entity_id);
    p = keys::write_i64_be(p, r.occurred_at);
    p = keys::write_u64_be(p, r.seq);
    *p++ = static_cast<char>(stated ? kFromStated : 0);  // kOutOfOrder: write_staged
    p = keys::write_le<std::int64_t>(p, r.recorded_at);
    p = keys::write_str16(p, r.status_from);
    keys::write_str16(p, r.status_to);
  };
  if (bulk_) {
    runs_.add_written(key_size, value_size, write);
    return {};
  }
  staged s;
  s.at = static_cast<std::uint32_t>(arena_.size());
  s.seq = r.seq;
  s.prefix_size = static_cast<std::uint16_t>(prefix_size);
  s.key_size = static_cast<std::uint16_t>(key_size);
  s.value_size = static_cast<std::uint32_t>(value_size);
  arena_.resize(s.at + key_size + value_size);
  write(arena_.data() + s.at);
  staged_.push_back(s);
  if (staged_.size() >= max_staged_ || arena_.size() > (std::size_t{1} << 31))
    return write_staged(t);
  return {};
}

result<void> timelines::write_staged(lmdb::txn& t) {
  if (staged_.empty()) return {};
  const std::size_t n = staged_.size();
  // By the first 24 bytes as three words, then (rarely) the rest: cheaper than byte compares of
  // keys that share a long prefix (tenant, kind).
  order_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const char* k = arena_.data() + staged_[i].at;
    const std::size_t size = staged_[i].key_size;
    order_[i] = {{keys::be_word(k, size, 0), keys::be_word(k, size, 1),
                  keys::be_word(k, size, 2)},
                 k,
                 staged_[i].key_size,
                 static_cast<std::uint32_t>(i)};
  }
  std::sort(order_.begin(), order_.end(), [](const sort_entry& a, const sort_entry& b) {
    if (a.head[0] != b.head[0]) return a.head[0] < b.head[0];
    if (a.head[1] != b.head[1]) return a.head[1] < b.head[1];
    if (a.head[2] != b.head[2]) return a.head[2] < b.head[2];
    // Equal first 24 bytes (zero padding included): the rest decides, then the length.
    const std::string_view x(a.key, a.size), y(b.key, b.size);
    const std::string_view xr = x.substr(std::min<std::size_t>(24, x.size()));
    const std::string_view yr = y.substr(std::min<std::size_t>(24, y.size()));
    return xr < yr || (xr == yr && x.size() < y.size());
  });
  // Out of order within the batch: a transition of the same entity with a later key came from
  // an earlier record (a smaller seq). Keys of one entity are adjacent in key order (an entity
  // prefix ends with \0 and holds no other \0 past its three parts).
  late_.assign(n, 0);
  auto prefix_of = [&](std::uint32_t i) {
    return key_of(staged_[i]).substr(0, staged_[i].prefix_size);
  };
  for (std::size_t end = n; end > 0;) {
    const std::string_view p = prefix_of(order_[end - 1].index);
    std::uint64_t min_seq_after = UINT64_MAX;
    std::size_t i = end;
    for (; i > 0 && prefix_of(order_[i - 1].index) == p; --i) {
      const auto& s = staged_[order_[i - 1].index];
      if (min_seq_after < s.seq) late_[order_[i - 1].index] = 1;
      min_seq_after = std::min(min_seq_after, s.seq);
    }
    end = i;
  }
  auto c = lmdb::cursor::open(t, transitions_);
  if (!c) return c.err();
  std::string last_key;  // the database's largest key while writing ("" when empty)
  {
    auto l = c->last();
    if (!l) return l.err();
    if (*l) last_key = std::string((*l)->first);
  }
  // In key order, every key already in the database after this one is of an earlier record (the
  // batch's own keys are written in ascending order), so the first key after it tells whether
  // the entity has a later transition there. That key is read after the put (the cursor stands
  // on the new key: one step), and in the rare case that it is of the same entity, the value is
  // written again with the flag.
  std::string value;
  for (const auto& o : order_) {
    const std::uint32_t i = o.index;
    const auto& s = staged_[i];
    const std::string_view key = key_of(s);
    const bool past_end = key > std::string_view(last_key);
    value.assign(arena_.data() + s.at + s.key_size, s.value_size);
    if (late_[i] != 0) value[0] = static_cast<char>(value[0] | kOutOfOrder);
    if (auto p = c->put(key, value, past_end ? MDB_APPEND : 0); !p) return p;
    if (past_end) {
      last_key.assign(key);
      continue;
    }
    if (late_[i] != 0) continue;
    auto next = c->next();
    if (!next) return next.err();
    if (*next) {
      const std::string_view k = (*next)->first;
      if (k.size() == s.prefix_size + 16u && k.substr(0, s.prefix_size) == key.substr(0, s.prefix_size)) {
        value[0] = static_cast<char>(value[0] | kOutOfOrder);
        if (auto p = c->put(key, value, 0); !p) return p;
      }
    }
  }
  end_batch();
  return {};
}

bool timelines::begin_bulk(const std::string& run_dir, std::size_t memory) {
  end_batch();
  runs_ = sorted_runs(run_dir, kName, memory);
  bulk_ = true;
  return true;
}

result<void> timelines::finish_bulk(bulk_writer& w) {
  if (!bulk_) return {};
  auto o = lmdb::cursor::open(w.txn(), transitions_);
  if (!o) return o.err();
  lmdb::cursor c = std::move(*o);
  // One entity's transitions at a time (adjacent in key order), so that each one's out_of_order
  // flag can be decided from the keys after it: set when a later key has a smaller seq.
  struct held {
    std::string_view key, value;
    std::uint64_t seq;
  };
  std::vector<held> items;
  std::deque<std::string> copies;  // the entries read from run files (views need stable bytes)
  std::string value;
  auto write_group = [&]() -> result<void> {
    late_.assign(items.size(), 0);
    std::uint64_t min_seq_after = UINT64_MAX;
    for (std::size_t i = items.size(); i-- > 0;) {
      if (min_seq_after < items[i].seq) late_[i] = 1;
      min_seq_after = std::min(min_seq_after, items[i].seq);
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string_view v = items[i].value;
      if (late_[i] != 0) {
        value.assign(v);
        value[0] = static_cast<char>(value[0] | kOutOfOrder);
        v = value;
      }
      if (auto p = c.put(items[i].key, v, MDB_APPEND); !p) return p;
      // Perhaps the next part (the views stay valid).
      if (auto n = w.wrote(c, transitions_, items[i].key.size(), v.size()); !n) return n;
    }
    items.clear();
    copies.clear();
    return {};
  };
  // `copy`: the views are valid only during the call (run files): the entry is copied first.
  auto visit = [&](std::string_view key, std::string_view v, bool copy) -> result<void> {
    if (key.size() < 16) return {};  // never staged
    const std::size_t p = key.size() - 16;
    if (!items.empty() && (items[0].key.size() != key.size() ||
                           items[0].key.substr(0, p) != key.substr(0, p)))
      if (auto w = write_group(); !w) return w;
    if (copy) {
      key = copies.emplace_back(key);
      v = copies.emplace_back(v);
    }
    items.push_back({key, v, keys::get_u64_be(key.substr(p + 8))});
    return {};
  };
  auto m = runs_.runs() == 0
               ? runs_.merge_memory(
                     [&](std::string_view k, std::string_view v) { return visit(k, v, false); })
               : runs_.merge(
                     [&](std::string_view k, std::string_view v) { return visit(k, v, true); });
  if (!m) return m;
  if (!items.empty())
    if (auto w = write_group(); !w) return w;
  runs_.clear();
  bulk_ = false;
  return {};
}

void timelines::end_batch() {
  staged_.clear();
  arena_.clear();
}

result<std::optional<timeline>> timelines::get(lmdb::txn& t, std::string_view tenant,
                                               std::string_view kind, std::string_view id,
                                               std::size_t limit,
                                               std::optional<timeline_position> after) const {
  std::string prefix;
  entity_prefix(prefix, tenant, kind, id);
  timeline tl;
  tl.tenant = std::string(tenant);
  tl.kind = std::string(kind);
  tl.id = std::string(id);
  auto c = lmdb::cursor::open(t, transitions_);
  if (!c) return c.err();
  {
    // The entity's latest transition by occurred time gives its current status.
    std::string end = prefix;
    end.back() = '\x01';  // just past every key with this prefix
    auto kv = c->seek(end);
    if (!kv) return kv.err();
    kv = *kv ? c->prev() : c->last();
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) return std::optional<timeline>{};
    auto tr = decode_transition((*kv)->first, prefix.size(), (*kv)->second);
    if (tr) tl.current_status = tr->to;
  }
  // From the earliest (or the first after `after`), so each derived `from` is the `to` of the
  // step before it.
  std::string before;  // the `to` of the step before the first one read
  std::string start = prefix;
  if (after) {
    keys::put_i64_be(start, after->occurred_at);
    keys::put_u64_be(start, after->seq);
  }
  auto kv = c->seek(start);
  if (!kv) return kv.err();
  if (after) {
    // Past the position itself; the step before the first one read gives its derived `from`.
    if (*kv && (*kv)->first == start) {
      if (auto tr = decode_transition((*kv)->first, prefix.size(), (*kv)->second)) before = tr->to;
      kv = c->next();
    } else {
      auto p = *kv ? c->prev() : c->last();
      if (!p) return p.err();
      if (*p && (*p)->first.starts_with(prefix))
        if (auto tr = decode_transition((*p)->first, prefix.size(), (*p)->second)) before = tr->to;
      kv = c->seek(start);
    }
  }
  for (;; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    if (tl.transitions.size() == limit) {
      tl.more = true;
      break;
    }
    if (auto tr = decode_transition((*kv)->first, prefix.size(), (*kv)->second))
      tl.transitions.push_back(std::move(*tr));
  }
  derive_from(tl.transitions, std::move(before));
  return std::optional<timeline>(std::move(tl));
}

void derive_from(std::vector<transition>& steps, std::string before) {
  std::string previous_to = std::move(before);
  for (auto& t : steps) {
    if (!t.from_stated) t.from = previous_to;
    previous_to = t.to;
  }
}

nlohmann::json to_json(const transition& t) {
  nlohmann::json e = {{"from", t.from.empty() ? nlohmann::json() : nlohmann::json(t.from)},
                      {"to", t.to},
                      {"occurred_at", format_rfc3339(t.occurred_at)},
                      {"recorded_at", format_rfc3339(t.recorded_at)},
                      {"seq", t.seq},
                      {"event_id", event_id_for(t.seq)}};
  if (t.out_of_order) e["out_of_order"] = true;
  return e;
}

}  // namespace hooklog::projections
