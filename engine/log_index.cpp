#include "engine/log_index.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "engine/bytes.hpp"
#include "engine/logger.hpp"
#include "engine/private_fs.hpp"
#include "engine/record_codec.hpp"

namespace hooklog {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kFormatValue = "hooklog-index/3";
// Format 2: the same, with ix_entity always as far as indexed_through (no entity_through).
constexpr std::string_view kFormat2Value = "hooklog-index/2";
constexpr std::string_view kBucketBitsKey = "entity_bucket_bits";
constexpr std::string_view kThroughKey = "indexed_through";
constexpr std::string_view kHashKey = "through_hash";
constexpr std::string_view kBootKey = "open_boot";
constexpr std::string_view kEntityThroughKey = "entity_through";
constexpr std::size_t kReservedInitialMap = std::size_t{1} << 20;

void remove_env_files(const std::string& dir) {
  std::error_code ec;
  for (const char* f : {"data.mdb", "lock.mdb"}) fs::remove(fs::path(dir) / f, ec);
}

}  // namespace

const std::vector<std::string_view>& index_key_list::sorted() {
  if (sorted_) return views_;
  views_.clear();
  views_.reserve(ends_.size());
  std::size_t from = 0;
  for (const std::size_t end : ends_) {
    views_.emplace_back(bytes_.data() + from, end - from);
    from = end;
  }
  if (!std::is_sorted(views_.begin(), views_.end())) std::sort(views_.begin(), views_.end());
  sorted_ = true;
  return views_;
}

std::string log_index::current_boot_id(const options& o) {
  if (!o.boot_id.empty()) return o.boot_id;
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id.empty() ? std::string("unknown") : id;
}

result<void> log_index::open_env(const std::string& dir, bool read_only) {
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | MDB_NOSYNC;
  if (read_only) flags |= MDB_RDONLY;
  std::size_t map = read_only ? lmdb::read_only_map(opts_.max_map_size)
                              : std::min(opts_.initial_map_size, opts_.max_map_size);
  if (opts_.writemap && !read_only) {
    flags |= MDB_WRITEMAP | MDB_MAPASYNC;
    // A reserved map holds its whole length on disk: it starts small (LMDB raises it to the
    // env's used size) and grows a quarter at a time, so a new data directory takes no disk
    // it does not use.
    map = std::min(map, kReservedInitialMap);
  }
  auto e = lmdb::env::open(dir, flags, map, 16, 512);
  if (!e && read_only)  // no address space for the large map (ulimit -v)
    e = lmdb::env::open(dir, flags, std::min(opts_.initial_map_size, opts_.max_map_size), 16, 512);
  if (!e) return e.err();
  env_ = std::move(*e);
  if (!read_only) {
    // Written through the map: every page of it backed on disk before the first write.
    if (env_.writes_through_map())
      if (auto r = env_.reserve(env_.map_size(), "the log's index"); !r) return r;
    env_.reader_check();
    for (const char* f : {"data.mdb", "lock.mdb"})
      if (auto r = make_private((fs::path(dir) / f).string()); !r) return r;
  }
  return {};
}

result<void> log_index::open_dbs(lmdb::txn& t, unsigned flags) {
  for (std::size_t i = 0; i < dbs_.size(); ++i) {
    auto h = lmdb::dbi::open(t, kDbNames[i], flags);
    if (!h) return h.err();
    dbs_[i] = *h;
  }
  auto m = lmdb::dbi::open(t, "meta", flags);
  if (!m) return m.err();
  meta_ = *m;
  return {};
}

std::string log_index::check_binding(const log_source& log) {
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return std::string("its meta cannot be read: ") + t.err().what();
  auto fmt = meta_.get(*t, kFormatKey);
  if (!fmt) return std::string("its meta cannot be read: ") + fmt.err().what();
  if (!*fmt) return "it has no format (an interrupted creation)";
  if (**fmt != kFormatValue && **fmt != kFormat2Value) return "it has format " + std::string(**fmt);
  auto bits = meta_.get(*t, kBucketBitsKey);
  if (!bits) return std::string("its meta cannot be read: ") + bits.err().what();
  if (!*bits || (*bits)->size() != 1 || (**bits)[0] < 1 || (**bits)[0] > 32)
    return "its entity_bucket_bits is missing or not 1 to 32";
  bucket_bits_ = static_cast<unsigned char>((**bits)[0]);
  auto th = meta_.get(*t, kThroughKey);
  auto hh = meta_.get(*t, kHashKey);
  auto boot = meta_.get(*t, kBootKey);
  auto et = meta_.get(*t, kEntityThroughKey);
  if (!th || !hh || !boot || !et) return "its meta cannot be read";
  through_ = (*th && (*th)->size() == 8) ? bytes::get_be64(**th) : 0;
  entity_through_ = (*et && (*et)->size() == 8) ? bytes::get_be64(**et) : through_;
  if (entity_through_ > through_)
    return "its entity_through (" + std::to_string(entity_through_) +
           ") is past its indexed_through (" + std::to_string(through_) + ")";
  through_hash_ = hash256{};
  if (*hh && (*hh)->size() == 32) std::memcpy(through_hash_.data(), (*hh)->data(), 32);
  if (*boot && **boot != current_boot_id(opts_))
    return "the machine restarted while it was open for writing (boot " + std::string(**boot) +
           ")";
  if (through_ > log.applied)
    return "it indexes up to seq " + std::to_string(through_) + " but the log ends at " +
           std::to_string(log.applied) + " (a replaced or restored log)";
  // The last record at or before through_ must carry through_hash_.
  auto lt = lmdb::txn::begin(*log.env, true);
  if (!lt) return std::string("the log cannot be read: ") + lt.err().what();
  auto c = lmdb::cursor::open(*lt, log.records);
  if (!c) return "the log cannot be read";
  auto kv = c->seek(bytes::be64(through_ + 1));
  if (kv) kv = *kv ? c->prev() : c->last();  // the last record at or before through_
  if (!kv) return std::string("the log cannot be read: ") + kv.err().what();
  hash256 expected{};
  if (*kv) {
    const std::uint64_t seq = bytes::get_be64((*kv)->first);
    if (seq <= through_) {
      auto d = decode((*kv)->second, seq);
      if (!d) return "record " + std::to_string(seq) + " of the log does not decode";
      std::memcpy(expected.data(), d->chain_hash, 32);
    }
  }
  if (expected != through_hash_)
    return "it was built from another log (the chain hash at seq " + std::to_string(through_) +
           " differs)";
  return {};
}

result<void> log_index::open_write(const std::string& dir, const options& o,
                                   const log_source& log, std::string& why) {
  opts_ = o;
  dir_ = dir;
  why.clear();
  if (auto r = create_private_dirs(dir); !r) return r;
  if (auto r = make_private(dir); !r) return r;
  auto fresh = [&]() -> result<void> {
    env_ = lmdb::env();
    remove_env_files(dir);
    if (auto r = open_env(dir, false); !r) return r;
    auto t = lmdb::txn::begin(env_, false);
    if (!t) return t.err();
    if (auto r = open_dbs(*t, MDB_CREATE); !r) return r;
    bucket_bits_ = std::clamp(o.entity_bucket_bits, 1u, 32u);
    const char bits = static_cast<char>(bucket_bits_);
    if (auto r = meta_.put(*t, kBucketBitsKey, std::string_view(&bits, 1)); !r) return r;
    if (auto r = meta_.put(*t, kFormatKey, kFormatValue); !r) return r;
    through_ = 0;
    entity_through_ = 0;
    through_hash_ = hash256{};
    tail_.clear();
    return t->commit();
  };
  const bool existed = fs::exists(fs::path(dir) / "data.mdb");
  if (!existed) {
    why = "it is missing";
    if (auto r = fresh(); !r) return r;
  } else {
    auto opened = [&]() -> result<void> {
      if (auto r = open_env(dir, false); !r) return r;
      auto t = lmdb::txn::begin(env_, false);
      if (!t) return t.err();
      if (auto r = open_dbs(*t, MDB_CREATE); !r) return r;
      return t->commit();
    }();
    if (!opened)
      why = std::string("it cannot be opened: ") + opened.err().what();
    else
      why = check_binding(log);
    if (!why.empty())
      if (auto r = fresh(); !r) return r;
  }
  // Dirty from here on: the boot id, synced before any unsynced write.
  {
    auto t = lmdb::txn::begin(env_, false);
    if (!t) return t.err();
    if (auto r = meta_.put(*t, kBootKey, current_boot_id(opts_)); !r) return r;
    // A format-2 env is format 3 from here on: its ix_entity may lag (an older build rebuilds).
    if (auto r = meta_.put(*t, kFormatKey, kFormatValue); !r) return r;
    if (auto r = meta_.put(*t, kEntityThroughKey, bytes::be64(entity_through_)); !r) return r;
    if (auto r = t->commit(); !r) return r;
    if (auto r = env_.sync(true); !r) return r;
  }
  writable_ = true;
  write_side_ = true;
  state_ = state::separate;
  if (entity_through_ < through_) {
    const std::uint64_t from = entity_through_;
    if (auto r = restore_entity_keys(log); !r) return r;
    logging::info("storage.index", "the entity keys held in memory were taken from the records",
                  {{"after_seq", from}, {"through_seq", through_}});
  }
  if (why.empty() || log.applied == 0) return catch_up(log);
  // A rebuild: as long as reading every record, before the log serves; say so, and when done.
  logging::info("storage.index", "rebuilding the log's index from its records",
                {{"reason", why}, {"records", log.applied}});
  const auto started = std::chrono::steady_clock::now();
  auto r = catch_up(log);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  if (r)
    logging::info("storage.index", "the log's index is rebuilt",
                  {{"records", log.applied}, {"seconds", took.count()}});
  return r;
}

bool log_index::open_read(const std::string& dir, const options& o, const log_source& log) {
  opts_ = o;
  dir_ = dir;
  if (!fs::exists(fs::path(dir) / "data.mdb")) return false;
  if (!open_env(dir, true)) return false;
  // A file shorter than its last page: cut off (a read past its end is SIGBUS), or pages LMDB
  // freed unwritten. Either way the records answer instead (a writer extends it at its open).
  std::error_code ec;
  const auto bytes = fs::file_size(fs::path(dir) / "data.mdb", ec);
  if (ec || bytes < env_.used_bytes()) {
    env_ = lmdb::env();
    return false;
  }
  {
    auto t = lmdb::txn::begin(env_, true);
    if (!t) return false;
    if (!open_dbs(*t, 0)) return false;
    if (!t->commit()) return false;  // committed: an abort would close the handles
  }
  if (!check_binding(log).empty() || through_ != log.applied) {
    env_ = lmdb::env();
    return false;
  }
  state_ = state::separate;
  return true;
}

result<bool> log_index::attach_legacy(lmdb::txn& t) {
  for (std::size_t i = 0; i < dbs_.size(); ++i) {
    auto h = lmdb::dbi::open(t, kDbNames[i], 0);
    if (!h) return false;
    dbs_[i] = *h;
  }
  state_ = state::legacy;
  return true;
}

void log_index::close() {
  if (!writable_) return;
  // Clean: the tail written, everything on disk, then the flag cleared (and that on disk too).
  if (auto w = write_tail(); !w)
    logging::error("storage.index", "the entity keys held in memory could not be written",
                   {{"reason", w.err().what()}, {"entity_through", entity_through_}});
  writable_ = false;
  if (!env_.sync(true)) return;
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return;
  if (!meta_.del(*t, kBootKey)) return;
  if (!t->commit()) return;
  (void)env_.sync(true);
}

result<std::optional<std::uint64_t>> log_index::put_idem(lmdb::txn& t, std::string_view key,
                                                         std::uint64_t seq) const {
  auto prior = dbs_[0].put_new(t, key, bytes::be64(seq));
  if (!prior) return prior.err();
  if (!*prior) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{bytes::get_be64(**prior)};
}

result<void> log_index::put_sorted(lmdb::txn& t, const lmdb::dbi& d, index_key_list& keys) {
  if (keys.empty()) return {};
  const auto& ks = keys.sorted();
  // Keys past the database's last one (occurred times, refs, a rebuild's first chunk) are
  // appended: no search, and leaves filled instead of split in half.
  auto c = lmdb::cursor::open(t, d);
  if (!c) return c.err();
  auto last = c->last();
  if (!last) return last.err();
  const unsigned flags = (!*last || (*last)->first < ks.front()) ? MDB_APPEND : 0;
  for (const auto& k : ks)
    if (auto p = c->put(k, {}, flags); !p) return p;
  return {};
}

namespace {

// Whether a group's ix_entity key (bucket | kind \0 id \0 | seq) may wait in the tail. Not the
// keys of hooklog's own kinds (endpoint, replay, key, tree_head): every delivery attempt is
// under its endpoint, and "every endpoint's attempts" (GET /v1/audit/attempts) is a query by
// kind, which would copy every held key of the kind. Few entities each, so their keys share
// few leaves when written with their group.
bool holdable(std::string_view key) {
  const std::string_view rest = key.substr(log_keys::kBucketSize);
  return !is_reserved_entity_kind(rest.substr(0, rest.find('\0')));
}

// The group's sorted keys that may wait in the tail, in order.
std::vector<std::string_view> holdable_keys(const std::vector<std::string_view>& group) {
  std::vector<std::string_view> out;
  out.reserve(group.size());
  for (const std::string_view k : group)
    if (holdable(k)) out.push_back(k);
  return out;
}

}  // namespace

result<log_index::entity_write> log_index::finish(lmdb::txn& t, index_keys& keys,
                                                  std::uint64_t through,
                                                  const hash256& through_hash,
                                                  bool hold_entities) const {
  entity_write w;
  const auto& all = keys[3].sorted();  // bucket first: the newest bucket's keys last
  const bool tail_on = hold_entities && opts_.entity_tail_keys != 0;
  std::vector<std::string_view> group;  // the keys that may wait (a catch-up needs none)
  if (tail_on) group = holdable_keys(all);
  std::size_t held_from = group.size();  // the group's keys from here on wait in the tail
  index_key_list run;  // what ix_entity gets now, when it is not the group's keys alone
  index_key_list* entity_keys = &keys[3];
  if (tail_on && !(group.empty() && tail_.size() == 0)) {
    // The tail holds the newest bucket's keys. When the seqs reach a new bucket, the keys of
    // the buckets before it are complete: written in one run, all past ix_entity's last key
    // (appended: full leaves, no search), and the new bucket's keys held. Otherwise the keys
    // are held until the tail holds options::entity_tail_keys keys or the seqs after
    // entity_through are that many.
    // The newest bucket is the group's last seq's (records without an entity move it on too).
    const std::uint32_t newest = log_keys::entity_bucket(through, bucket_bits_);
    std::size_t p = group.size();
    while (p > 0 && log_keys::get_bucket(group[p - 1]) == newest) --p;
    const bool older_tail =
        tail_.size() && log_keys::entity_bucket(tail_.last_seq(), bucket_bits_) < newest;
    if (older_tail || p > 0) {
      held_from = p;  // the keys before p, and the tail's: buckets before the newest
      w.through = (std::uint64_t{newest} << bucket_bits_) - 1;
    } else if (tail_.size() + group.size() >= opts_.entity_tail_keys ||
               through - entity_through_ >= opts_.entity_tail_keys) {
      // The newest bucket so far: bounds the memory held and the records a writer's open reads
      // again after a crash.
      w.through = through;
    } else {
      held_from = 0;
    }
    w.written = held_from != 0 || w.through != 0;
    w.tail_written = w.written && tail_.size() != 0;
    w.held.assign(group.begin() + static_cast<std::ptrdiff_t>(held_from), group.end());
    if (w.tail_written || held_from != group.size() || group.size() != all.size()) {
      if (w.tail_written) tail_.append_all(run, bucket_bits_);
      for (std::size_t i = 0; i < held_from; ++i) {
        run.buffer().append(group[i]);
        run.end_key();
      }
      for (const std::string_view k : all)  // the keys that never wait
        if (!holdable(k)) {
          run.buffer().append(k);
          run.end_key();
        }
      entity_keys = &run;
    }
  } else {
    w.written = true;
    w.through = through;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    index_key_list* k = i == 3 ? entity_keys : &keys[i];
    if (k)
      if (auto p = put_sorted(t, ix(i), *k); !p) return p.err();
  }
  if (w.written)
    if (auto p = meta_.put(t, kEntityThroughKey, bytes::be64(w.through)); !p) return p.err();
  if (auto p = meta_.put(t, kThroughKey, bytes::be64(through)); !p) return p.err();
  if (auto p = meta_.put(t, kHashKey,
                         std::string_view(reinterpret_cast<const char*>(through_hash.data()), 32));
      !p)
    return p.err();
  return w;
}

result<void> log_index::commit_group(lmdb::txn& t, const entity_write& w, std::uint64_t through,
                                     const hash256& h) {
  std::unique_lock lock(tail_mutex_);
  if (auto c = t.commit(); !c) return c;
  if (w.tail_written) tail_.clear();  // in ix_entity now
  if (!w.held.empty()) tail_.add(w.held);
  // The binding last: should the tail's change throw, indexed_through stays behind and the
  // next group catches up from the records.
  if (w.written) entity_through_ = w.through;
  through_ = through;
  through_hash_ = h;
  return {};
}

std::shared_lock<std::shared_mutex> log_index::tail_keys(std::string_view prefix, bool exact,
                                                         std::uint64_t from_seq,
                                                         std::uint64_t to_seq,
                                                         index_key_list& out) const {
  std::shared_lock lock(tail_mutex_);
  tail_.keys(prefix, exact, from_seq, to_seq, out);
  return lock;
}

result<std::optional<std::uint64_t>> log_index::entity_through_in(lmdb::txn& t) const {
  auto et = meta_.get(t, kEntityThroughKey);
  if (!et) return et.err();
  if (!*et || (*et)->size() != 8) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{bytes::get_be64(**et)};
}

result<void> log_index::entity_keys_after(lmdb::txn& t, index_key_list& keys,
                                          std::vector<std::string_view>& keep) const {
  keep.clear();
  if (keys.empty()) return {};
  auto through = entity_through_in(t);
  if (!through) return through.err();
  if (!*through) return {};  // a format-2 env: no writer of this build has a tail
  for (const std::string_view k : keys.sorted())
    if (bytes::get_be64(k.substr(k.size() - 8)) > **through) keep.push_back(k);
  return {};
}

result<void> log_index::growing(const std::function<result<void>()>& attempt) {
  for (;;) {
    auto r = attempt();
    if (r || r.code() != make_error_code(errc::map_full)) return r;
    if (auto g = grow(); !g) return g;
  }
}

result<void> log_index::write_entity_keys(index_key_list& keys, bool clear_tail) {
  std::shared_lock lock(resize_);
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return t.err();
  if (auto p = put_sorted(*t, ix(3), keys); !p) return p;
  if (auto p = meta_.put(*t, kEntityThroughKey, bytes::be64(through_)); !p) return p;
  std::unique_lock tail_lock(tail_mutex_);
  if (auto c = t->commit(); !c) return c;
  if (clear_tail) tail_.clear();
  return {};
}

result<bool> log_index::entity_whole(lmdb::txn& t, std::uint64_t to_seq) const {
  auto et = entity_through_in(t);
  if (!et) return et.err();
  if (!*et) return true;  // format 2: written with the others
  auto th = meta_.get(t, kThroughKey);
  if (!th) return th.err();
  const std::uint64_t through = *th && (*th)->size() == 8 ? bytes::get_be64(**th) : 0;
  return **et >= std::min(to_seq, through);
}

result<void> log_index::write_tail() {
  // Nothing held but entity_through behind (a group that reached a new bucket with no entity
  // key in it): every key up to indexed_through is in ix_entity, which meta then says.
  if (tail_.size() == 0 && entity_through_ >= through_) return {};
  index_key_list keys;
  tail_.append_all(keys, bucket_bits_);
  if (auto r = growing([&] { return write_entity_keys(keys, true); }); !r) return r;
  entity_through_ = through_;
  return {};
}

result<void> log_index::restore_entity_keys(const log_source& log) {
  index_keys keys;
  {
    std::shared_lock lock(resize_);
    auto lt = lmdb::txn::begin(*log.env, true);
    if (!lt) return lt.err();
    auto c = lmdb::cursor::open(*lt, log.records);
    if (!c) return c.err();
    for (auto kv = c->seek(bytes::be64(entity_through_ + 1));; kv = c->next()) {
      if (!kv) return kv.err();
      if (!*kv) break;
      const std::uint64_t seq = bytes::get_be64((*kv)->first);
      if (seq > through_) break;
      auto d = decode((*kv)->second, seq);
      if (!d) return d.err();
      collect_index_keys(*d, bucket_bits_, keys);
    }
  }
  if (auto r = growing([&] { return write_entity_keys(keys[3], false); }); !r) return r;
  entity_through_ = through_;
  return {};
}

result<void> log_index::catch_up(const log_source& log, std::size_t chunk) {
  auto r = write_tail();  // the chunks write entity keys after it
  if (r) r = catch_up_chunks(log, chunk);
  behind_.store(!r, std::memory_order_release);
  return r;
}

result<void> log_index::catch_up_chunks(const log_source& log, std::size_t chunk) {
  index_keys keys;
  std::vector<std::pair<std::string, std::uint64_t>> idem;
  while (through_ < log.applied) {
    std::uint64_t new_through = through_;
    hash256 new_hash = through_hash_;
    auto attempt = [&]() -> result<void> {
      std::shared_lock lock(resize_);
      new_through = through_;
      new_hash = through_hash_;
      for (auto& k : keys) k.clear();
      idem.clear();
      auto lt = lmdb::txn::begin(*log.env, true);
      if (!lt) return lt.err();
      auto c = lmdb::cursor::open(*lt, log.records);
      if (!c) return c.err();
      std::size_t n = 0;
      bool more = false;
      lmdb::page_prefetch prefetch;
      for (auto kv = c->seek(bytes::be64(through_ + 1));; kv = c->next()) {
        if (!kv) return kv.err();
        if (!*kv) break;
        prefetch((*kv)->second);
        const std::uint64_t seq = bytes::get_be64((*kv)->first);
        if (seq > log.applied) break;
        if (n == chunk) {
          more = true;
          break;
        }
        auto d = decode((*kv)->second, seq);
        if (!d) return d.err();
        if (!d->idempotency_key.empty())
          idem.emplace_back(log_keys::idem_key(d->tenant, d->source, d->idempotency_key), seq);
        collect_index_keys(*d, bucket_bits_, keys);
        new_through = seq;
        std::memcpy(new_hash.data(), d->chain_hash, 32);
        ++n;
      }
      if (!more) new_through = log.applied;  // trailing gaps (cluster mode) included
      auto t = lmdb::txn::begin(env_, false);
      if (!t) return t.err();
      std::sort(idem.begin(), idem.end());
      for (const auto& [k, seq] : idem)
        if (auto p = put_idem(*t, k, seq); !p) return p.err();  // the first one stays
      if (auto f = finish(*t, keys, new_through, new_hash, false); !f) return f.err();
      return t->commit();
    };
    if (auto r = growing(attempt); !r) return r;
    through_ = new_through;
    through_hash_ = new_hash;
    entity_through_ = new_through;
  }
  return {};
}

void log_index::settle(std::uint64_t s) {
  // seq_cst on both sides (here settled_ then waiters_, in the reader waiters_ then settled_):
  // either this sees the reader waiting, or the reader sees the group settled.
  settled_.store(s, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) == 0) return;
  { std::lock_guard g(settle_mutex_); }  // a reader between its check and its wait is waiting now
  settle_cv_.notify_all();
}

void log_index::wait_settled() const {
  const std::uint64_t target = announced_.load(std::memory_order_seq_cst);
  if (settled_.load(std::memory_order_seq_cst) >= target) return;
  std::unique_lock g(settle_mutex_);
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  settle_cv_.wait(g, [&] { return settled_.load(std::memory_order_seq_cst) >= target; });
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

result<void> log_index::grow() {
  std::unique_lock lock(resize_);
  return env_.grow(opts_.max_map_size, "the log's index");
}

}  // namespace hooklog
