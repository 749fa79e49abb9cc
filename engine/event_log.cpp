#include "engine/event_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/bytes.hpp"
#include "engine/log_keys.hpp"
#include "engine/merkle_store.hpp"
#include "engine/private_fs.hpp"
#include "engine/record_codec.hpp"

namespace hooklog {
namespace {

using namespace log_keys;

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kFormatValue = "hooklog-log/2";
// Format 1: the same records, with "idem" and the indexes inside the log env. Read-only opens
// read it as it is; a writer's open migrates it (open_index).
constexpr std::string_view kFormat1 = "hooklog-log/1";

}  // namespace

event_log::event_log(log_options opts)
    : opts_(std::move(opts)), index_(std::make_unique<log_index>(resize_mutex_)) {}

event_log::~event_log() {
  index_.reset();  // a writer's index env: synced, open_boot cleared
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

result<std::unique_ptr<event_log>> event_log::open(const log_options& opts) {
  std::unique_ptr<event_log> log(new event_log(opts));
  if (auto r = log->open_impl(); !r) return r.err();
  return log;
}

result<void> event_log::open_impl() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(opts_.dir) / "log";
  if (!opts_.read_only) {
    // Private: directories 0700, files 0600 (engine/private_fs.hpp).
    if (auto r = create_private_dirs(dir.string()); !r) return r;
    if (auto r = make_private(dir.string()); !r) return r;
  } else if (!fs::exists(dir / "data.mdb")) {
    return make_error(errc::io_failure, "no log in " + opts_.dir + " (missing " +
                                            (dir / "data.mdb").string() + ")");
  }
  if (!opts_.read_only || opts_.exclusive) {
    const std::string lock_path = (dir / "hooklog.lock").string();
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kPrivateFileMode);
    if (lock_fd_ < 0)
      return make_error(errc::io_failure, "open(" + lock_path + ") failed: " + std::strerror(errno));
    if (auto r = make_private(lock_path); !r) return r;
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return make_error(errc::locked, "data directory " + opts_.dir +
                                            " is in use by another hooklog process (lock " +
                                            lock_path + ")");
      return make_error(errc::io_failure, "flock(" + lock_path + ") failed: " + std::strerror(errno));
    }
  }

  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
  if (opts_.read_only) flags |= MDB_RDONLY;
  if (!opts_.sync) flags |= MDB_NOSYNC;
  // The initial map never exceeds the configured maximum (a small max_map_size would
  // otherwise only bite once the log outgrew the 64 MiB default initial map).
  auto e = lmdb::env::open(dir.string(), flags,
                           opts_.read_only ? lmdb::read_only_map(opts_.max_map_size)
                                           : std::min(opts_.initial_map_size, opts_.max_map_size),
                           16, 512);
  if (!e && opts_.read_only)
    e = lmdb::env::open(dir.string(), flags, std::min(opts_.initial_map_size, opts_.max_map_size),
                        16, 512);  // no address space for the large map (ulimit -v)
  if (!e) return e.err();
  env_ = std::move(*e);
  if (opts_.read_only) {
    // A log file shorter than its last page was cut off (a writer keeps it ahead: the zeroed
    // tail, log_zero_ahead.hpp; its open extends it): reading there would be SIGBUS. The meta
    // first, then the file: a commit beside this open only lengthens the file.
    const std::size_t used = env_.used_bytes();
    std::error_code ec;
    const auto bytes = fs::file_size(dir / "data.mdb", ec);
    if (!ec && bytes < used)
      return make_error(errc::io_failure, (dir / "data.mdb").string() + " is " +
                                              std::to_string(bytes) +
                                              " bytes but its last page ends at " +
                                              std::to_string(used) + ": the file is cut short");
  }
  if (!opts_.read_only) {
    env_.reader_check();
    for (const char* f : {"data.mdb", "lock.mdb"})
      if (auto r = make_private((dir / f).string()); !r) return r;
  }

  auto t = lmdb::txn::begin(env_, opts_.read_only);
  if (!t) return t.err();
  const unsigned create = opts_.read_only ? 0 : MDB_CREATE;
  struct {
    lmdb::dbi* d;
    const char* name;
  } dbs[] = {{&records_, "records"}, {&meta_, "meta"}};
  for (auto& d : dbs) {
    auto h = lmdb::dbi::open(*t, d.name, create);
    if (!h) return h.err();
    *d.d = *h;
  }
  // "gaps" (cluster mode) is absent from logs written before it existed: read-only opens of
  // those have no gaps; a writer creates it.
  if (auto h = lmdb::dbi::open(*t, "gaps", create); h) {
    gaps_ = *h;
    has_gaps_ = true;
  } else if (!opts_.read_only) {
    return h.err();
  }
  // The Merkle tree beside the records (engine/merkle_store.hpp); absent in a log written
  // before it existed and opened read-only (proofs then say so).
  if (auto h = lmdb::dbi::open(*t, merkle::kDbName, create); h) {
    merkle_ = *h;
    has_merkle_ = opts_.merkle_tree;
  } else if (!opts_.read_only) {
    return h.err();
  }
  auto fmt = meta_.get(*t, kFormatKey);
  if (!fmt) return fmt.err();
  bool format_1 = false;
  if (!*fmt) {
    // A new log. (A read-only open of a log without a format finds no index databases either.)
    // The format-1 index databases exist, empty, for older builds (see migrate_from_format_1).
    if (!opts_.read_only) {
      if (auto r = meta_.put(*t, kFormatKey, kFormatValue); !r) return r.err();
      for (const char* name : log_index::kDbNames)
        if (auto h = lmdb::dbi::open(*t, name, MDB_CREATE); !h) return h.err();
    }
  } else if (**fmt == kFormat1) {
    format_1 = true;
  } else if (**fmt != kFormatValue) {
    return make_error(errc::unsupported_version,
                      "log in " + opts_.dir + " has format " + std::string(**fmt) +
                          ", this build reads " + std::string(kFormatValue) + " and " +
                          std::string(kFormat1));
  }
  // Read-only, format 1: the indexes are in this env, opened in this transaction.
  if (format_1 && opts_.read_only)
    if (auto a = index_->attach_legacy(*t); !a) return a.err();

  auto c = lmdb::cursor::open(*t, records_);
  if (!c) return c.err();
  auto last = c->last();
  if (!last) return last.err();
  if (*last) {
    const std::uint64_t seq = bytes::get_be64((*last)->first);
    auto v = decode((*last)->second, seq);
    if (!v) {
      if (!opts_.read_only)
        return make_error(v.code().value() ? static_cast<errc>(v.code().value()) : errc::invalid_record,
                          "the last record of the log is damaged: " + v.err().message +
                              "; run `hooklog verify --data " + opts_.dir + "`");
      // Read-only: serve reads up to the last record that decodes; the damaged tail
      // stays on disk (verify names it) but scans, for_each and get stop before it.
      damaged_from_ = seq;
      head_ = log_head{};
      for (auto prev = c->prev(); prev && *prev; prev = c->prev()) {
        const std::uint64_t ps = bytes::get_be64((*prev)->first);
        auto pv = decode((*prev)->second, ps);
        if (!pv) {
          damaged_from_ = ps;
          continue;
        }
        head_.seq = ps;
        std::copy(pv->chain_hash, pv->chain_hash + 32, head_.chain_hash.begin());
        last_recorded_at_ = pv->recorded_at;
        break;
      }
      read_limit_ = head_.seq;
    } else {
      head_.seq = seq;
      std::copy(v->chain_hash, v->chain_hash + 32, head_.chain_hash.begin());
      last_recorded_at_ = v->recorded_at;
    }
  }
  std::uint64_t applied = head_.seq;
  if (has_gaps_ && read_limit_ == UINT64_MAX) {
    auto g = lmdb::cursor::open(*t, gaps_);
    if (!g) return g.err();
    auto lg = g->last();
    if (!lg) return lg.err();
    if (*lg) applied = std::max(applied, bytes::get_be64((*lg)->first));
  }
  *c = lmdb::cursor();
  // Committed even when read-only: aborting would close the database handles opened in it.
  if (auto r = t->commit(); !r) return r.err();
  committed_.store(head_.seq, std::memory_order_release);
  applied_.store(applied, std::memory_order_release);
  if (format_1 && !opts_.read_only) {
    if (auto r = migrate_from_format_1(); !r) return r;
  } else if (!format_1) {
    if (auto r = open_index(); !r) return r;
  }
  if (!opts_.read_only && has_merkle_)  // a log older than the tree, or one that lags: catch up
    if (auto r = merkle::backfill(env_, merkle_, records_, applied_seq(), [this] { return grow_map(); },
                                  65536, gaps_dbi());
        !r)
      return r;
  return {};
}

result<void> event_log::grow_map() {
  std::unique_lock lock(resize_mutex_);
  return env_.grow(opts_.max_map_size, "the log");
}

log_index::log_source event_log::index_source() const {
  return log_index::log_source{&env_, records_, applied_seq()};
}

result<void> event_log::open_index() {
  const std::string dir = (std::filesystem::path(opts_.dir) / "log" / "index").string();
  log_index::options io;
  io.initial_map_size = opts_.initial_map_size;
  io.max_map_size = opts_.max_map_size;
  // HOOKLOG_INDEX_WRITEMAP=0 or 1: the benchmarks' switch to compare the two ways of writing it.
  const char* wm = std::getenv("HOOKLOG_INDEX_WRITEMAP");
  io.writemap = wm && *wm ? std::string_view(wm) == "1" : opts_.index_writemap;
  io.boot_id = opts_.boot_id;
  io.entity_bucket_bits = opts_.index_entity_bucket_bits;
  io.entity_tail_keys = opts_.index_entity_tail_keys;
  if (const char* tk = std::getenv("HOOKLOG_ENTITY_TAIL_KEYS"); tk && *tk)
    io.entity_tail_keys = std::strtoull(tk, nullptr, 10);
  if (opts_.read_only) {
    // Beside a possible writer: use the index env only when it is whole and bound to this log;
    // otherwise queries walk the records (scan(), find_idempotent()).
    index_->open_read(dir, io, index_source());
    return {};
  }
  return index_->open_write(dir, io, index_source(), index_rebuilt_);
}

result<void> event_log::migrate_from_format_1() {
  // Build the index env from the records first (or reuse one a previous, interrupted migration
  // left bound to this log), then drop the old databases and mark the log format 2 in one
  // synced transaction: an older build then refuses the log instead of using stale indexes.
  // The old databases stay, empty: an older build opens them before it reads the format, and
  // then names the format it does not read (unsupported_version) instead of a missing database.
  if (auto r = open_index(); !r) return r;
  if (index_rebuilt_.empty()) index_rebuilt_ = "the log was format 1";
  for (;;) {
    auto attempt = [&]() -> result<void> {
      std::shared_lock lock(resize_mutex_);
      auto t = lmdb::txn::begin(env_, false);
      if (!t) return t.err();
      for (const char* name : log_index::kDbNames) {
        auto h = lmdb::dbi::open(*t, name, MDB_CREATE);
        if (!h) return h.err();
        if (auto d = h->drop(*t); !d) return d;  // emptied, kept
      }
      if (auto p = meta_.put(*t, kFormatKey, kFormatValue); !p) return p;
      return t->commit();
    };
    auto r = attempt();
    // Freeing the old pages writes free-list pages: a map filled to the brim grows first.
    if (r || r.code() != make_error_code(errc::map_full)) return r;
    if (auto g = grow_map(); !g) return g;
  }
}

std::uint64_t event_log::wait_applied(std::uint64_t seq, std::chrono::milliseconds timeout) const {
  std::unique_lock g(commit_mutex_);
  commit_cv_.wait_for(g, timeout, [&] { return applied_.load(std::memory_order_acquire) >= seq; });
  return applied_.load(std::memory_order_acquire);
}

result<std::optional<record>> event_log::get(std::uint64_t seq) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  auto v = records_.get(*t, seq_key(seq));
  if (!v) return v.err();
  if (!*v || seq > read_limit_) return std::optional<record>{};
  auto d = decode(**v, seq);
  if (!d) return d.err();
  return std::optional<record>{d->to_record()};
}

std::optional<std::int64_t> event_log::recorded_at(std::uint64_t seq) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return std::nullopt;
  auto v = records_.get(*t, seq_key(seq));
  if (!v || !*v || seq > read_limit_) return std::nullopt;
  auto d = decode(**v, seq);
  if (!d) return std::nullopt;
  return d->recorded_at;
}

result<std::optional<std::uint64_t>> event_log::find_idempotent(std::string_view tenant,
                                                                std::string_view source,
                                                                std::string_view key) const {
  if (!index_readable()) {
    // Without a usable index env (a read-only open beside a lagging one, a failed index write)
    // or inside append_then's `durable`: the records answer (the first one stored under the
    // key is the original).
    std::optional<std::uint64_t> found;
    auto n = for_each(1, UINT64_MAX, [&](const record_view& v) {
      if (v.idempotency_key == key && v.tenant == tenant && v.source == source) found = v.seq;
      return !found;
    });
    if (!n) return n.err();
    return found;
  }
  auto lock = read_lock();
  auto t = lmdb::txn::begin(index_->separate() ? index_->env() : env_, true);
  if (!t) return t.err();
  auto v = index_->idem().get(*t, idem_key(tenant, source, key));
  if (!v) return v.err();
  if (!*v) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{bytes::get_be64(**v)};
}

result<std::uint64_t> event_log::for_each(std::uint64_t from_seq, std::uint64_t to_seq,
                                          const std::function<bool(const record_view&)>& fn) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  auto c = lmdb::cursor::open(*t, records_);
  if (!c) return c.err();
  std::uint64_t n = 0;
  lmdb::page_prefetch prefetch;
  for (auto kv = c->seek(seq_key(std::max<std::uint64_t>(from_seq, 1)));; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
    prefetch((*kv)->second);
    const std::uint64_t seq = bytes::get_be64((*kv)->first);
    if (seq > to_seq || seq > read_limit_) break;
    auto d = decode((*kv)->second, seq);
    if (!d) return d.err();
    ++n;
    if (!fn(*d)) break;
  }
  return n;
}

result<verify_report> event_log::verify(std::uint64_t from, std::uint64_t to) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  verify_report rep;
  auto c = lmdb::cursor::open(*t, records_);
  if (!c) return c.err();
  auto last = c->last();
  if (!last) return last.err();
  const std::uint64_t head = *last ? bytes::get_be64((*last)->first) : 0;
  rep.from = std::max<std::uint64_t>(from, 1);
  rep.to = std::min(to, head);
  if (rep.from > rep.to) return rep;

  auto fail = [&](std::uint64_t seq, std::string problem) {
    rep.ok = false;
    rep.first_bad_seq = seq;
    rep.problem = std::move(problem);
    return rep;
  };
  hash256 prev{};
  if (rep.from > 1) {
    // The record before the range; recorded gaps (cluster mode) between it and the range hold
    // no record and are passed over.
    std::uint64_t before = rep.from - 1;
    for (;;) {
      auto v = records_.get(*t, seq_key(before));
      if (!v) return v.err();
      if (*v) {
        auto d = decode(**v, before);
        if (!d) return fail(before, d.err().message);
        std::copy(d->chain_hash, d->chain_hash + 32, prev.begin());
        break;
      }
      auto gap = all_gaps(*t, before, before + 1);
      if (!gap) return gap.err();
      if (!*gap) return fail(before, "record is missing");
      if (--before == 0) break;  // only gaps before the range: the chain starts at zero
    }
  }
  std::uint64_t expected = rep.from;
  lmdb::page_prefetch prefetch;
  for (auto kv = c->seek(seq_key(rep.from));; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
    prefetch((*kv)->second);
    const std::uint64_t seq = bytes::get_be64((*kv)->first);
    if (seq > rep.to) break;
    if (seq != expected) {
      auto gap = all_gaps(*t, expected, seq);
      if (!gap) return gap.err();
      if (!*gap)
        return fail(expected, "record is missing (next stored is " + std::to_string(seq) + ")");
      expected = seq;
    }
    const std::string_view b = (*kv)->second;
    auto d = decode(b, seq);
    if (!d) return fail(seq, d.err().message);
    const hash256 leaf = compute_leaf_hash(b);
    if (!std::equal(leaf.begin(), leaf.end(), d->leaf_hash))
      return fail(seq, "leaf hash does not match the record's content");
    const hash256 chain = compute_chain_hash(prev, leaf);
    if (!std::equal(chain.begin(), chain.end(), d->chain_hash))
      return fail(seq, "chain hash does not follow from record " + std::to_string(seq - 1));
    prev = chain;
    rep.head_hash = chain;
    ++rep.checked;
    ++expected;
  }
  if (expected != rep.to + 1) {
    auto gap = all_gaps(*t, expected, rep.to + 1);
    if (!gap) return gap.err();
    if (!*gap) return fail(expected, "record is missing");
  }
  return rep;  // a range of recorded gaps only checks nothing and is whole
}

log_head event_log::head() const {
  std::lock_guard g(head_mutex_);
  return head_;
}

std::uint64_t event_log::wait_for_commit_after(std::uint64_t seq,
                                               std::chrono::milliseconds timeout) const {
  std::unique_lock g(commit_mutex_);
  commit_cv_.wait_for(g, timeout, [&] { return committed_.load(std::memory_order_acquire) > seq; });
  return committed_.load(std::memory_order_acquire);
}

std::size_t event_log::map_size() const { return env_.map_size(); }

std::size_t event_log::used_bytes() const { return env_.used_bytes(); }

std::size_t event_log::index_used_bytes() const {
  return index_->separate() ? index_->env().used_bytes() : 0;
}

}  // namespace hooklog
