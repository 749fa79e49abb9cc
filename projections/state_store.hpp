#pragma once
// The projections' LMDB environment, `<data dir>/state`, separate from the log
// (`<data dir>/log`) so projection commits never contend with the log writer's
// lock or fsync.
//
// Durability: the environment is opened with MDB_NOSYNC. Projection state is
// derived data: after kill -9 nothing is lost (committed pages are in the page
// cache); after a power loss the state may be behind the log or unusable, and
// is then rebuilt from the log (delete the directory, or `hooklog rebuild`).
// sync() is called periodically by the runner (every second by default) and
// on close. The state and each projection's checkpoint are written in the same
// transaction, so they can never disagree.
//
// Thread safety: read transactions may be opened on any thread (MDB_NOTLS);
// there is one writer (the projection runner). The map is reserved once
// (map_size, 1 TiB of address space by default; the file grows only as pages
// are written) and never resized, so readers need no lock.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine/lmdb.hpp"
#include "engine/result.hpp"

namespace hooklog::projections {

struct state_options {
  std::string dir;                        // the state directory, created when missing
  std::size_t map_size = 1ull << 40;
  unsigned max_dbs = 64;
};

class state_store {
 public:
  static result<std::unique_ptr<state_store>> open(const state_options& opts);
  ~state_store();
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;

  // Opens (creating) the named database in write txn `t` and remembers it.
  result<lmdb::dbi> open_db(lmdb::txn& t, const std::string& name);
  // A database opened before; nullopt for an unknown name.
  std::optional<lmdb::dbi> db(const std::string& name) const;

  result<lmdb::txn> begin_read() const { return lmdb::txn::begin(env_, true); }
  result<lmdb::txn> begin_write() { return lmdb::txn::begin(env_, false); }
  result<void> sync() { return env_.sync(true); }
  const lmdb::env& env() const { return env_; }
  const state_options& options() const { return opts_; }

 private:
  explicit state_store(state_options o) : opts_(std::move(o)) {}
  state_options opts_;
  lmdb::env env_;
  std::map<std::string, lmdb::dbi> dbs_;
};

}  // namespace hooklog::projections
