#include "engine/lmdb.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace hooklog::lmdb {

namespace {
// A reserved env's growth step when the file system has room for it (see env::grow).
constexpr std::size_t kLargeReservedStep = std::size_t{32} << 20;
}  // namespace

error make_lmdb_error(const char* call, int rc) {
  // A full file system: LMDB passes on ENOSPC/EDQUOT/EFBIG from pwrite, and turns a short
  // write into EIO (mdb_page_flush, mdb_env_write_meta). Reads go through the map and never
  // return EIO, so EIO here is always a failed write or fsync.
  const bool full = rc == ENOSPC || rc == EDQUOT || rc == EFBIG || rc == EIO;
  const errc code = rc == MDB_MAP_FULL ? errc::map_full
                    : full             ? errc::storage_full
                                       : errc::lmdb_failure;
  std::string m =
      std::string(call) + " failed: " + mdb_strerror(rc) + " (" + std::to_string(rc) + ")";
  if (full)
    m += ": the file system refused the write (disk full?); nothing of the transaction is stored";
  return make_error(code, std::move(m));
}

// ---- env ----
env::~env() {
  if (h_) mdb_env_close(h_);
}

env& env::operator=(env&& o) noexcept {
  if (this != &o) {
    if (h_) mdb_env_close(h_);
    h_ = std::exchange(o.h_, nullptr);
  }
  return *this;
}

result<env> env::open(const std::string& path, unsigned flags, std::size_t map_size,
                      unsigned max_dbs, unsigned max_readers) {
  env e;
  if (int rc = mdb_env_create(&e.h_); rc != 0) return make_lmdb_error("mdb_env_create", rc);
  if (int rc = mdb_env_set_mapsize(e.h_, map_size); rc != 0)
    return make_lmdb_error("mdb_env_set_mapsize", rc);
  if (int rc = mdb_env_set_maxdbs(e.h_, max_dbs); rc != 0)
    return make_lmdb_error("mdb_env_set_maxdbs", rc);
  if (int rc = mdb_env_set_maxreaders(e.h_, max_readers); rc != 0)
    return make_lmdb_error("mdb_env_set_maxreaders", rc);
  if (int rc = mdb_env_open(e.h_, path.c_str(), flags, 0600); rc != 0)
    return make_lmdb_error(("mdb_env_open(" + path + ")").c_str(), rc);
  // LMDB's meta page may count pages past the data file's end: pages allocated and freed in one
  // transaction are never written (mdb_env_copy trims its copies for that reason). A writer
  // extends the file to them (they are free: never read before they are written), so that a file
  // that really lost its tail (a copy cut off; an env written without fsync after a power loss)
  // reads as zero pages, which LMDB refuses (MDB_CORRUPTED) rather than a SIGBUS. Read-only
  // opens leave the file alone (the writer beside them may be mid-commit).
  if ((flags & MDB_RDONLY) == 0) {
    const std::size_t used = e.used_bytes();
    const std::string file = (flags & MDB_NOSUBDIR) ? path : path + "/data.mdb";
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && static_cast<std::size_t>(st.st_size) < used &&
        ::truncate(file.c_str(), static_cast<off_t>(used)) != 0)
      return make_error(errc::io_failure, "truncate(" + file + ") to its last page (" +
                                              std::to_string(used) +
                                              " bytes) failed: " + std::strerror(errno));
  }
  return e;
}

result<void> env::set_map_size(std::size_t bytes) {
  if (int rc = mdb_env_set_mapsize(h_, bytes); rc != 0)
    return make_lmdb_error("mdb_env_set_mapsize", rc);
  return {};
}

result<void> env::grow(std::size_t max, std::string_view what) {
  const std::size_t current = map_size();
  if (current >= max)
    return make_error(errc::map_full, std::string(what) + " reached its maximum size of " +
                                          std::to_string(max) + " bytes");
  if (!writes_through_map())
    return set_map_size(std::min(max, std::max(current * 2, current + (1u << 20))));
  // Reserved envs hold their whole map on disk: grow in smaller steps, reserve before mapping.
  // Each growth remaps the file, and each page of the new map faults again at its next touch
  // (issue 17, tenth pass): the large step when the file system has room for it, else the small.
  std::size_t next = std::min(max, current + std::max(current / 4, kLargeReservedStep));
  auto r = reserve(next, what);
  const std::size_t small = std::min(max, current + std::max(current / 4, kMinReservedStep));
  if (!r && small < next && r.code() == make_error_code(errc::storage_full)) {
    next = small;
    r = reserve(next, what);
  }
  if (!r) return r;
  return set_map_size(next);
}

bool env::writes_through_map() const {
  unsigned flags = 0;
  return h_ && mdb_env_get_flags(h_, &flags) == 0 && (flags & MDB_WRITEMAP) != 0;
}

result<void> env::reserve(std::size_t bytes, std::string_view what) {
  mdb_filehandle_t fd = -1;
  if (int rc = mdb_env_get_fd(h_, &fd); rc != 0) return make_lmdb_error("mdb_env_get_fd", rc);
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return make_error(errc::io_failure, std::string(what) + ": fstat: " + std::strerror(errno));
  // posix_fallocate returns the error number; blocks already allocated are skipped.
  const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (rc == 0) return {};
  // A partial allocation may have lengthened the file: give it back its length.
  if (static_cast<std::size_t>(st.st_size) < bytes) (void)!::ftruncate(fd, st.st_size);
  const bool full = rc == ENOSPC || rc == EDQUOT || rc == EFBIG;
  return make_error(full ? errc::storage_full : errc::io_failure,
                    std::string(what) +
                        ": the file system refused the write: no room for its map of " +
                        std::to_string(bytes) + " bytes (posix_fallocate: " + std::strerror(rc) +
                        "); nothing of the transaction is stored");
}

std::size_t env::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(h_, &info);
  return info.me_mapsize;
}

std::size_t env::used_bytes() const {
  if (!h_) return 0;
  MDB_envinfo info{};
  MDB_stat st{};
  mdb_env_info(h_, &info);
  mdb_env_stat(h_, &st);
  return (info.me_last_pgno + 1) * st.ms_psize;
}

result<void> env::sync(bool force) {
  if (int rc = mdb_env_sync(h_, force ? 1 : 0); rc != 0) return make_lmdb_error("mdb_env_sync", rc);
  return {};
}

int env::reader_check() {
  int dead = 0;
  mdb_reader_check(h_, &dead);
  return dead;
}

// ---- txn ----
txn& txn::operator=(txn&& o) noexcept {
  if (this != &o) {
    abort();
    h_ = std::exchange(o.h_, nullptr);
  }
  return *this;
}

result<txn> txn::begin(const env& e, bool read_only) {
  txn t;
  if (int rc = mdb_txn_begin(e.handle(), nullptr, read_only ? MDB_RDONLY : 0, &t.h_); rc != 0)
    return make_lmdb_error("mdb_txn_begin", rc);
  return t;
}

result<void> txn::commit() {
  MDB_txn* h = std::exchange(h_, nullptr);
  if (int rc = mdb_txn_commit(h); rc != 0) return make_lmdb_error("mdb_txn_commit", rc);
  return {};
}

void txn::abort() noexcept {
  if (h_) mdb_txn_abort(std::exchange(h_, nullptr));
}

// ---- dbi ----
result<dbi> dbi::open(txn& t, const char* name, unsigned flags) {
  MDB_dbi h = 0;
  if (int rc = mdb_dbi_open(t.handle(), name, flags, &h); rc != 0)
    return make_lmdb_error((std::string("mdb_dbi_open(") + (name ? name : "main") + ")").c_str(),
                           rc);
  return dbi(h);
}

result<std::optional<std::string_view>> dbi::get(txn& t, std::string_view key) const {
  MDB_val k = to_val(key), v{};
  int rc = mdb_get(t.handle(), h_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>{};
  if (rc != 0) return make_lmdb_error("mdb_get", rc);
  return std::optional<std::string_view>{from_val(v)};
}

result<void> dbi::put(txn& t, std::string_view key, std::string_view value, unsigned flags) const {
  MDB_val k = to_val(key), v = to_val(value);
  if (int rc = mdb_put(t.handle(), h_, &k, &v, flags); rc != 0)
    return make_lmdb_error("mdb_put", rc);
  return {};
}

result<std::optional<std::string_view>> dbi::put_new(txn& t, std::string_view key,
                                                     std::string_view value) const {
  MDB_val k = to_val(key), v = to_val(value);
  int rc = mdb_put(t.handle(), h_, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return std::optional<std::string_view>{from_val(v)};
  if (rc != 0) return make_lmdb_error("mdb_put", rc);
  return std::optional<std::string_view>{};
}

result<bool> dbi::del(txn& t, std::string_view key) const {
  MDB_val k = to_val(key);
  int rc = mdb_del(t.handle(), h_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return make_lmdb_error("mdb_del", rc);
  return true;
}

result<void> dbi::drop(txn& t) const {
  if (int rc = mdb_drop(t.handle(), h_, 0); rc != 0) return make_lmdb_error("mdb_drop", rc);
  return {};
}

result<std::uint64_t> dbi::count(txn& t) const {
  MDB_stat st{};
  if (int rc = mdb_stat(t.handle(), h_, &st); rc != 0) return make_lmdb_error("mdb_stat", rc);
  return static_cast<std::uint64_t>(st.ms_entries);
}

// ---- cursor ----
cursor::~cursor() {
  if (h_) mdb_cursor_close(h_);
}

cursor& cursor::operator=(cursor&& o) noexcept {
  if (this != &o) {
    if (h_) mdb_cursor_close(h_);
    h_ = std::exchange(o.h_, nullptr);
  }
  return *this;
}

result<cursor> cursor::open(txn& t, const dbi& d) {
  cursor c;
  if (int rc = mdb_cursor_open(t.handle(), d.handle(), &c.h_); rc != 0)
    return make_lmdb_error("mdb_cursor_open", rc);
  return c;
}

result<std::optional<cursor::kv>> cursor::get(MDB_cursor_op op, std::string_view key) {
  MDB_val k = to_val(key), v{};
  int rc = mdb_cursor_get(h_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return std::optional<kv>{};
  if (rc != 0) return make_lmdb_error("mdb_cursor_get", rc);
  return std::optional<kv>{kv{from_val(k), from_val(v)}};
}

result<void> cursor::put(std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(value);
  if (int rc = mdb_cursor_put(h_, &k, &v, flags); rc != 0)
    return make_lmdb_error("mdb_cursor_put", rc);
  return {};
}

result<void> cursor::del() {
  if (int rc = mdb_cursor_del(h_, 0); rc != 0) return make_lmdb_error("mdb_cursor_del", rc);
  return {};
}

}  // namespace hooklog::lmdb
