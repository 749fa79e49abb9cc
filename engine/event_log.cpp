#include "engine/event_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/bytes.hpp"
#include "engine/private_fs.hpp"
#include "engine/record_codec.hpp"
#include "engine/record_format.hpp"
#include "engine/time_util.hpp"

namespace hooklog {
namespace {

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kFormatValue = "hooklog-log/1";

std::string seq_key(std::uint64_t seq) { return bytes::be64(seq); }

std::string prefix_key(std::string_view a, std::uint64_t seq) {
  std::string k;
  k.reserve(a.size() + 9);
  k.append(a);
  k.push_back('\0');
  bytes::put_be64(k, seq);
  return k;
}

std::string entity_prefix(std::string_view kind, std::string_view id) {
  std::string k;
  k.reserve(kind.size() + id.size() + 2);
  k.append(kind);
  k.push_back('\0');
  k.append(id);
  k.push_back('\0');
  return k;
}

std::string occurred_key(std::int64_t occurred, std::uint64_t seq) {
  std::string k;
  bytes::put_be64(k, bytes::ordered_signed(occurred));
  bytes::put_be64(k, seq);
  return k;
}

std::string idem_key(std::string_view tenant, std::string_view source, std::string_view key) {
  std::string k;
  k.reserve(tenant.size() + source.size() + key.size() + 2);
  k.append(tenant);
  k.push_back('\0');
  k.append(source);
  k.push_back('\0');
  k.append(key);
  return k;
}

bool glob_match(std::string_view pattern, std::string_view type) {
  if (pattern.empty() || pattern == "*") return true;
  if (pattern.back() == '*') return type.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  return pattern == type;
}

bool matches(const record_view& v, const scan_query& q) {
  if (v.seq < q.from_seq || v.seq > q.to_seq) return false;
  if (q.kind && v.kind != *q.kind) return false;
  if (q.occurred_from && v.occurred_at < *q.occurred_from) return false;
  if (q.occurred_to && v.occurred_at >= *q.occurred_to) return false;
  if (q.recorded_from && v.recorded_at < *q.recorded_from) return false;
  if (q.recorded_to && v.recorded_at >= *q.recorded_to) return false;
  if (!q.tenant.empty() && v.tenant != q.tenant) return false;
  if (!q.source.empty() && v.source != q.source) return false;
  if (!q.type.empty() && !glob_match(q.type, v.type)) return false;
  if (!q.entity_kind.empty() &&
      (v.entity_kind != q.entity_kind || (!q.entity_id.empty() && v.entity_id != q.entity_id)))
    return false;
  if (q.ref_seq && v.ref_seq != *q.ref_seq) return false;
  return true;
}

std::optional<std::string> unhex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    int v = 0;
    for (int j = 0; j < 2; ++j) {
      const char c = hex[2 * i + j];
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else return std::nullopt;
      v = v * 16 + d;
    }
    out[i] = static_cast<char>(v);
  }
  return out;
}

}  // namespace

event_log::event_log(log_options opts) : opts_(std::move(opts)) {}

event_log::~event_log() {
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
  auto e = lmdb::env::open(dir.string(), flags, std::min(opts_.initial_map_size, opts_.max_map_size), 16, 512);
  if (!e) return e.err();
  env_ = std::move(*e);
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
  } dbs[] = {{&records_, "records"},       {&meta_, "meta"},         {&idem_, "idem"},
             {&ix_occurred_, "ix_occurred"}, {&ix_type_, "ix_type"}, {&ix_tenant_, "ix_tenant"},
             {&ix_entity_, "ix_entity"},     {&ix_ref_, "ix_ref"}};
  for (auto& d : dbs) {
    auto h = lmdb::dbi::open(*t, d.name, create);
    if (!h) return h.err();
    *d.d = *h;
  }
  auto fmt = meta_.get(*t, kFormatKey);
  if (!fmt) return fmt.err();
  if (!*fmt) {
    if (!opts_.read_only)
      if (auto r = meta_.put(*t, kFormatKey, kFormatValue); !r) return r.err();
  } else if (**fmt != kFormatValue) {
    return make_error(errc::unsupported_version,
                      "log in " + opts_.dir + " has format " + std::string(**fmt) +
                          ", this build reads " + std::string(kFormatValue));
  }

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
  *c = lmdb::cursor();
  // Committed even when read-only: aborting would close the database handles opened in it.
  if (auto r = t->commit(); !r) return r.err();
  committed_.store(head_.seq, std::memory_order_release);
  return {};
}

result<void> event_log::grow_map() {
  const std::size_t current = env_.map_size();
  if (current >= opts_.max_map_size)
    return make_error(errc::map_full, "the log reached its maximum size of " +
                                          std::to_string(opts_.max_map_size) + " bytes");
  const std::size_t next = std::min(opts_.max_map_size, std::max(current * 2, current + (1u << 20)));
  std::unique_lock lock(resize_mutex_);
  return env_.set_map_size(next);
}

std::vector<result<append_outcome>> event_log::append(std::vector<record>& records) {
  std::vector<result<append_outcome>> out;
  if (opts_.read_only) {
    out.assign(records.size(), make_error(errc::read_only, "the log is open read-only"));
    return out;
  }
  // Producers' own times, restored when a full map makes us retry.
  std::vector<std::pair<std::int64_t, std::int64_t>> times;
  times.reserve(records.size());
  for (const auto& r : records) times.emplace_back(r.recorded_at, r.occurred_at);

  log_head new_head;
  std::int64_t new_last_recorded = 0;
  for (;;) {
    out.clear();
    log_head head;
    std::int64_t last_recorded;
    {
      std::lock_guard g(head_mutex_);
      head = head_;
      last_recorded = last_recorded_at_;
    }
    auto attempt = [&]() -> result<void> {
      std::shared_lock lock(resize_mutex_);
      auto t = lmdb::txn::begin(env_, false);
      if (!t) return t.err();
      const std::int64_t now = std::max(now_micros(), last_recorded);
      // Index entries are put in key order after the records: neighbouring keys share
      // pages, so a group touches each index page once instead of once per record.
      std::array<std::vector<std::string>, 5> ix_keys;
      for (std::size_t i = 0; i < records.size(); ++i) {
        record& r = records[i];
        // A producer's own time (a restored export) is kept unless it would go back in
        // time: recorded_at never decreases along the log (range scans rely on it).
        r.recorded_at = times[i].first ? std::max(times[i].first, last_recorded) : now;
        r.occurred_at = times[i].second ? times[i].second : r.recorded_at;
        r.seq = head.seq + 1;
        if (auto e = encode(r, scratch_); !e) {
          out.emplace_back(e.err());
          continue;
        }
        if (!r.idempotency_key.empty()) {
          auto prior = idem_.put_new(*t, idem_key(r.tenant, r.source, r.idempotency_key),
                                     bytes::be64(r.seq));
          if (!prior) return prior.err();
          if (*prior) {
            out.emplace_back(append_outcome{bytes::get_be64(**prior), true});
            continue;
          }
        }
        head.chain_hash = seal(scratch_, head.chain_hash);
        r.chain_hash = head.chain_hash;
        std::memcpy(r.leaf_hash.data(), scratch_.data() + format::kOffsetLeafHash, 32);
        if (auto p = records_.put(*t, seq_key(r.seq), scratch_, MDB_APPEND); !p) return p.err();
        if (r.kind == record_kind::event_received) {
          ix_keys[0].push_back(occurred_key(r.occurred_at, r.seq));
          ix_keys[1].push_back(prefix_key(r.type, r.seq));
          ix_keys[2].push_back(prefix_key(r.tenant, r.seq));
        }
        if (!r.entity_kind.empty()) {
          std::string& k = ix_keys[3].emplace_back(entity_prefix(r.entity_kind, r.entity_id));
          bytes::put_be64(k, r.seq);
        }
        if (r.ref_seq != 0) {
          std::string& k = ix_keys[4].emplace_back(bytes::be64(r.ref_seq));
          bytes::put_be64(k, r.seq);
        }
        head.seq = r.seq;
        last_recorded = r.recorded_at;
        out.emplace_back(append_outcome{r.seq, false});
      }
      const lmdb::dbi* ix_dbs[5] = {&ix_occurred_, &ix_type_, &ix_tenant_, &ix_entity_, &ix_ref_};
      for (std::size_t i = 0; i < ix_keys.size(); ++i) {
        std::sort(ix_keys[i].begin(), ix_keys[i].end());
        for (const auto& k : ix_keys[i])
          if (auto p = ix_dbs[i]->put(*t, k, {}); !p) return p.err();
      }
      if (auto c = t->commit(); !c) return c;
      new_head = head;
      new_last_recorded = last_recorded;
      return {};
    };
    auto r = attempt();
    if (r) break;
    if (r.code() == make_error_code(errc::map_full)) {
      if (auto g = grow_map(); !g) {
        out.assign(records.size(), g.err());
        return out;
      }
      continue;  // the whole group again, on a larger map
    }
    out.assign(records.size(), r.err());
    return out;
  }
  std::uint64_t committed = 0;
  {
    std::lock_guard g(head_mutex_);
    head_ = new_head;
    last_recorded_at_ = new_last_recorded;
    committed = head_.seq;
  }
  {
    std::lock_guard g(commit_mutex_);
    committed_.store(committed, std::memory_order_release);
  }
  commit_cv_.notify_all();
  return out;
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

result<std::optional<std::uint64_t>> event_log::find_idempotent(std::string_view tenant,
                                                                std::string_view source,
                                                                std::string_view key) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  auto v = idem_.get(*t, idem_key(tenant, source, key));
  if (!v) return v.err();
  if (!*v) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{bytes::get_be64(**v)};
}

result<std::optional<std::uint64_t>> event_log::first_seq_recorded_at_or_after(
    lmdb::txn& t, std::int64_t micros) const {
  std::uint64_t lo = 1, hi = committed_seq() + 1;  // answer in [lo, hi]; hi = none
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    auto v = records_.get(t, seq_key(mid));
    if (!v) return v.err();
    if (!*v) {
      hi = mid;
      continue;
    }
    auto d = decode(**v, mid);
    if (!d) return d.err();
    if (d->recorded_at >= micros) hi = mid;
    else lo = mid + 1;
  }
  if (lo > committed_seq()) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>{lo};
}

namespace {

// Positions `c` on the first key at `start` or beyond it in the walking order (descending: at
// or before it; an empty start is the end); with skip_equal a key equal to start is passed over.
result<std::optional<lmdb::cursor::kv>> position(lmdb::cursor& c, std::string_view start, bool desc,
                                                 bool skip_equal) {
  if (desc && start.empty()) return c.last();
  auto kv = c.seek(start);
  if (!kv) return kv;
  if (!desc) {
    if (*kv && skip_equal && (*kv)->first == start) return c.next();
    return kv;
  }
  if (!*kv) return c.last();
  if ((*kv)->first > start || (skip_equal && (*kv)->first == start)) return c.prev();
  return kv;
}

}  // namespace

result<std::uint64_t> event_log::scan(const scan_query& query, const scan_fn& fn) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  scan_query q = query;
  if (q.recorded_from) {
    auto s = first_seq_recorded_at_or_after(*t, *q.recorded_from);
    if (!s) return s.err();
    if (!*s) return std::uint64_t{0};
    q.from_seq = std::max(q.from_seq, **s);
  }
  if (q.recorded_to) {
    auto s = first_seq_recorded_at_or_after(*t, *q.recorded_to);
    if (!s) return s.err();
    if (*s) q.to_seq = std::min(q.to_seq, **s - 1);
  }
  q.to_seq = std::min(q.to_seq, read_limit_);
  if (q.from_seq > q.to_seq) return std::uint64_t{0};

  const bool events_only = !q.kind || *q.kind == record_kind::event_received;
  const bool exact_type = !q.type.empty() && q.type.find('*') == std::string::npos;
  if (q.ref_seq) return scan_index(*t, ix_ref_, bytes::be64(*q.ref_seq), true, q, fn);
  if (!q.entity_kind.empty() && !q.entity_id.empty())
    return scan_index(*t, ix_entity_, entity_prefix(q.entity_kind, q.entity_id), true, q, fn);
  if (!q.entity_kind.empty())
    return scan_index(*t, ix_entity_, q.entity_kind + '\0', false, q, fn);
  if (events_only && q.kind && exact_type)
    return scan_index(*t, ix_type_, q.type + '\0', true, q, fn);
  if (events_only && q.kind && !q.tenant.empty())
    return scan_index(*t, ix_tenant_, q.tenant + '\0', true, q, fn);

  // Occurred-time order, or sequence order.
  const bool by_occurred = events_only && q.kind && (q.occurred_from || q.occurred_to);
  const lmdb::dbi& driver = by_occurred ? ix_occurred_ : records_;
  auto c = lmdb::cursor::open(*t, driver);
  if (!c) return c.err();
  const bool desc = q.descending;
  std::string start;
  if (!q.after.empty()) {
    auto a = unhex(q.after);
    if (!a) return make_error(errc::invalid_record, "the resume position is not valid");
    start = *a;
  } else if (by_occurred) {
    // Descending: from the end of [from, to) (no record has seq 0: (to, 0) is past them all).
    if (!desc)
      start = occurred_key(q.occurred_from.value_or(INT64_MIN), 0);
    else if (q.occurred_to)
      start = occurred_key(*q.occurred_to, 0);
  } else {
    start = seq_key(desc ? q.to_seq : q.from_seq);
  }
  auto kv = position(*c, start, desc, !q.after.empty() || (desc && by_occurred));
  auto advance = [&] { return desc ? c->prev() : c->next(); };
  std::uint64_t matched = 0;
  for (;;) {
    if (!kv) return kv.err();
    if (!*kv) break;
    auto [k, val] = **kv;
    std::uint64_t seq;
    std::string_view bytes_view;
    if (by_occurred) {
      seq = bytes::get_be64(k.substr(8));
      if (!desc && q.occurred_to && bytes::get_be64(k) >= bytes::ordered_signed(*q.occurred_to))
        break;
      if (desc && q.occurred_from && bytes::get_be64(k) < bytes::ordered_signed(*q.occurred_from))
        break;
      auto v = records_.get(*t, seq_key(seq));
      if (!v) return v.err();
      if (!*v) break;
      bytes_view = **v;
    } else {
      seq = bytes::get_be64(k);
      if (desc ? seq < q.from_seq : seq > q.to_seq) break;
      if (seq > q.to_seq) {  // descending from a cursor past to_seq
        kv = advance();
        continue;
      }
      bytes_view = val;
    }
    auto d = decode(bytes_view, seq);
    if (!d) return d.err();
    if (matches(*d, q)) {
      ++matched;
      if (!fn(*d, bytes::to_hex(k.data(), k.size()))) break;
    }
    kv = advance();
  }
  return matched;
}

result<std::uint64_t> event_log::scan_index(lmdb::txn& t, const lmdb::dbi& ix, std::string prefix,
                                            bool exact_prefix, const scan_query& q,
                                            const scan_fn& fn) const {
  auto c = lmdb::cursor::open(t, ix);
  if (!c) return c.err();
  const bool desc = q.descending;
  std::string start = prefix;
  if (exact_prefix) {
    bytes::put_be64(start, desc ? q.to_seq : q.from_seq);
  } else if (desc) {
    start.back() = '\x01';  // prefix ends in '\0': just past every key under it
  }
  std::string after;
  if (!q.after.empty()) {
    auto a = unhex(q.after);
    if (!a || a->size() < prefix.size() + 8 || a->compare(0, prefix.size(), prefix) != 0 ||
        (exact_prefix && a->size() != prefix.size() + 8))
      return make_error(errc::invalid_record, "the resume position does not fit this query");
    after = *a;
    if (desc ? after < start : after > start) start = after;
  }
  auto kv = position(*c, start, desc, !after.empty() && start == after);
  auto advance = [&] { return desc ? c->prev() : c->next(); };
  std::uint64_t matched = 0;
  for (;;) {
    if (!kv) return kv.err();
    if (!*kv) break;
    const std::string_view k = (*kv)->first;
    if (k.size() < prefix.size() + 8 || k.compare(0, prefix.size(), prefix) != 0) break;
    if (exact_prefix && k.size() != prefix.size() + 8) break;
    if (k == after) {
      kv = advance();
      continue;
    }
    const std::uint64_t seq = bytes::get_be64(k.substr(k.size() - 8));
    if (exact_prefix && (desc ? seq < q.from_seq : seq > q.to_seq)) break;
    if (seq < q.from_seq || seq > q.to_seq) {
      kv = advance();
      continue;
    }
    auto v = records_.get(t, seq_key(seq));
    if (!v) return v.err();
    if (!*v) break;
    auto d = decode(**v, seq);
    if (!d) return d.err();
    if (matches(*d, q)) {
      ++matched;
      if (!fn(*d, bytes::to_hex(k.data(), k.size()))) break;
    }
    kv = advance();
  }
  return matched;
}

result<std::uint64_t> event_log::for_each(std::uint64_t from_seq, std::uint64_t to_seq,
                                          const std::function<bool(const record_view&)>& fn) const {
  auto lock = read_lock();
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.err();
  auto c = lmdb::cursor::open(*t, records_);
  if (!c) return c.err();
  std::uint64_t n = 0;
  for (auto kv = c->seek(seq_key(std::max<std::uint64_t>(from_seq, 1)));; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
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
    auto v = records_.get(*t, seq_key(rep.from - 1));
    if (!v) return v.err();
    if (!*v) return fail(rep.from - 1, "record is missing");
    auto d = decode(**v, rep.from - 1);
    if (!d) return fail(rep.from - 1, d.err().message);
    std::copy(d->chain_hash, d->chain_hash + 32, prev.begin());
  }
  std::uint64_t expected = rep.from;
  for (auto kv = c->seek(seq_key(rep.from));; kv = c->next()) {
    if (!kv) return kv.err();
    if (!*kv) break;
    const std::uint64_t seq = bytes::get_be64((*kv)->first);
    if (seq > rep.to) break;
    if (seq != expected) return fail(expected, "record is missing (next stored is " + std::to_string(seq) + ")");
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
  if (rep.checked == 0 || expected != rep.to + 1)
    return fail(expected, "record is missing");
  return rep;
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

std::size_t event_log::used_bytes() const {
  MDB_envinfo info{};
  MDB_stat st{};
  mdb_env_info(env_.handle(), &info);
  mdb_env_stat(env_.handle(), &st);
  return (info.me_last_pgno + 1) * st.ms_psize;
}

}  // namespace hooklog
