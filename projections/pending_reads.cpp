// The read members of the pending projection (any thread, caller's read txn); pending.cpp has
// the writes.
#include <nlohmann/json.hpp>

#include "projections/key_codec.hpp"
#include "projections/pending.hpp"
#include "projections/pending_codec.hpp"

namespace hooklog::projections {

nlohmann::json to_json(const dead_letter& d) {
  return {{"endpoint_id", d.endpoint_id}, {"event_seq", d.event_seq}, {"attempts", d.attempts},
          {"status", d.status},           {"error", d.error},         {"dead_at", d.dead_at},
          {"attempt_seq", d.attempt_seq}, {"replay_id", d.replay_id}};
}

nlohmann::json to_json(const pending_item& p) {
  return {{"endpoint_id", p.endpoint_id}, {"event_seq", p.event_seq}, {"attempt", p.attempt},
          {"due_at", p.due_us},           {"replay_id", p.replay_id}, {"parked", p.parked}};
}


result<std::vector<pending_item>> pending::due_items(lmdb::txn& t, std::int64_t now_us,
                                                     std::size_t limit) const {
  std::vector<pending_item> out;
  auto c = lmdb::cursor::open(t, due_);
  if (!c) return c.err();
  for (auto kv = c->first(); out.size() < limit; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
    auto k = (*kv)->first;
    auto v = (*kv)->second;
    if (k.size() < 16) continue;
    const std::int64_t due = keys::get_i64_be(k);
    if (due > now_us) break;
    const std::uint64_t seq = keys::get_u64_be(k.substr(8));
    std::size_t at = 0;
    due_entry e;
    while (out.size() < limit && next_due_entry(v, at, e)) {
      pending_item it;
      it.due_us = due;
      it.event_seq = seq;
      it.endpoint_id = std::string(e.ep);
      it.attempt = e.attempt;
      it.replay_id = std::string(e.replay);
      out.push_back(std::move(it));
    }
  }
  return out;
}

result<std::optional<std::int64_t>> pending::next_due(lmdb::txn& t) const {
  auto c = lmdb::cursor::open(t, due_);
  if (!c) return c.err();
  auto kv = c->first();
  if (!kv) return kv.err();
  if (!*kv || (*kv)->first.size() < 8) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>(keys::get_i64_be((*kv)->first));
}

result<std::optional<pending_item>> pending::find(lmdb::txn& t, std::string_view ep,
                                                  std::uint64_t seq) const {
  std::string k;
  ix_block_key(k, ep, seq / kIxBlock);
  auto v = ix_.get(t, k);
  if (!v) return v.err();
  std::optional<pending_item> it;
  if (!*v) return it;
  auto f = find_ix_item(**v, static_cast<unsigned>(seq % kIxBlock));
  if (!f) return it;
  it.emplace();
  it->endpoint_id.assign(ep);
  it->event_seq = seq;
  if (!decode_ix_value(f->value, *it)) it.reset();
  return it;
}

result<std::vector<pending_item>> pending::items_for(lmdb::txn& t, std::string_view ep,
                                                     std::uint64_t after_seq, std::size_t limit) const {
  std::vector<pending_item> out;
  if (limit == 0) return out;
  auto walked = visit_items(t, ep, after_seq, [&](const pending_item& it) {
    out.push_back(it);
    return out.size() < limit;
  });
  if (!walked) return walked.err();
  return out;
}

result<void> pending::visit_items(lmdb::txn& t, std::string_view ep, std::uint64_t after_seq,
                                  const std::function<bool(const pending_item&)>& fn) const {
  std::string start;
  ix_block_key(start, ep, (after_seq + 1) / kIxBlock);
  auto c = lmdb::cursor::open(t, ix_);
  if (!c) return c.err();
  pending_item it;
  it.endpoint_id.assign(ep);
  for (auto kv = c->seek(start);; kv = c->next()) {
    if (!kv) return kv.err();
    std::string_view key_ep;
    std::uint64_t block = 0;
    if (!*kv || !split_ix_key((*kv)->first, key_ep, block) || key_ep != ep) return {};
    const std::string_view v = (*kv)->second;  // the block's items, in seq order
    std::size_t at = 0;
    ix_item e;
    while (next_ix_item(v, at, e)) {
      it.event_seq = block * kIxBlock + e.offset;
      if (it.event_seq <= after_seq || !decode_ix_value(e.value, it)) continue;
      if (!fn(it)) return {};
    }
  }
}

result<pending_counts> pending::counts(lmdb::txn& t, std::string_view ep) const {
  auto v = counts_.get(t, ep);
  if (!v) return v.err();
  return decode_counts(*v);
}

result<pending_counts> pending::totals(lmdb::txn& t) const {
  pending_counts c;
  auto cur = lmdb::cursor::open(t, counts_);
  if (!cur) return cur.err();
  for (auto kv = cur->first();; kv = cur->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
    const pending_counts e = decode_counts((*kv)->second);
    c.queued += e.queued;
    c.parked += e.parked;
    c.dead += e.dead;
  }
  return c;
}

result<std::vector<dead_letter>> pending::dead_letters(lmdb::txn& t, std::string_view ep,
                                                       std::uint64_t after_seq, std::size_t limit) const {
  std::vector<dead_letter> out;
  std::string prefix, start;
  keys::put_part(prefix, ep);
  ix_key(start, ep, after_seq + 1);
  auto c = lmdb::cursor::open(t, dead_);
  if (!c) return c.err();
  for (auto kv = c->seek(start); out.size() < limit; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    auto j = nlohmann::json::parse((*kv)->second, nullptr, false);
    if (!j.is_object()) continue;
    dead_letter d;
    d.endpoint_id = j.value("endpoint_id", std::string());
    d.event_seq = j.value("event_seq", std::uint64_t{0});
    d.attempts = j.value("attempts", 0u);
    d.status = j.value("status", 0);
    d.error = j.value("error", std::string());
    d.dead_at = j.value("dead_at", std::int64_t{0});
    d.attempt_seq = j.value("attempt_seq", std::uint64_t{0});
    d.replay_id = j.value("replay_id", std::string());
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace hooklog::projections
