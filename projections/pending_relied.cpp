// The pending projection's replays relying on an item another queued ("pending_relied", see
// pending.hpp): a replay that reaches an (endpoint, event) already queued records that it relies
// on that item, so that cancelling the replay that queued it hands the item over instead of
// dropping it, and so that replay_items() counts what still serves a replay.
#include "projections/key_codec.hpp"
#include "projections/pending.hpp"
#include "projections/pending_codec.hpp"

namespace hooklog::projections {

result<void> pending::add_relier(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                                 std::string_view rid) {
  ix_key(kr_, ep, seq);
  auto v = relied_.get(t, kr_);
  if (!v) return v.err();
  vr_.clear();
  if (*v) {
    const std::string_view old = **v;
    for (std::size_t at = 0; at < old.size();) {
      auto r = keys::get_str16(old, at);
      if (!r) break;
      if (*r == rid) return {};  // relies on it already
    }
    vr_.assign(old);
  }
  keys::put_str16(vr_, rid);
  if (auto p = relied_.put(t, kr_, vr_); !p) return p;
  replay_key(kr_, rid, ep, seq);
  return replay_.put(t, kr_, "");
}

result<std::string> pending::take_relier(lmdb::txn& t, std::string_view ep, std::uint64_t seq,
                                         std::string_view rid) {
  ix_key(kr_, ep, seq);
  auto v = relied_.get(t, kr_);
  if (!v) return v.err();
  if (!*v) return std::string();
  const std::string_view old = **v;
  std::string taken;
  vr_.clear();
  for (std::size_t at = 0; at < old.size();) {
    auto r = keys::get_str16(old, at);
    if (!r) break;
    if (taken.empty() && (rid.empty() || *r == rid)) taken.assign(*r);
    else keys::put_str16(vr_, *r);
  }
  if (vr_.empty()) {
    if (auto d = relied_.del(t, kr_); !d) return d.err();
  } else if (auto p = relied_.put(t, kr_, vr_); !p) {
    return p.err();
  }
  return taken;
}

result<void> pending::drop_reliers(lmdb::txn& t, std::string_view ep, std::uint64_t seq) {
  ix_key(kr_, ep, seq);
  auto v = relied_.get(t, kr_);
  if (!v) return v.err();
  if (!*v) return {};  // the usual case: no replay relies on the item
  vr_.assign(**v);
  if (auto d = relied_.del(t, kr_); !d) return d.err();
  for (std::size_t at = 0; at < vr_.size();) {
    auto r = keys::get_str16(vr_, at);
    if (!r) break;
    replay_key(kr_, *r, ep, seq);
    if (auto d = replay_.del(t, kr_); !d) return d.err();
  }
  return {};
}

result<std::uint64_t> pending::replay_items(lmdb::txn& t, std::string_view replay_id) const {
  std::string prefix;
  keys::put_part(prefix, replay_id);
  auto c = lmdb::cursor::open(t, replay_);
  if (!c) return c.err();
  std::uint64_t n = 0;
  for (auto kv = c->seek(prefix);; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv || !(*kv)->first.starts_with(prefix)) break;
    ++n;
  }
  return n;
}

}  // namespace hooklog::projections
