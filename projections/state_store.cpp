#include "projections/state_store.hpp"

#include "engine/private_fs.hpp"
#include "projections/proj_errc.hpp"

namespace hooklog::projections {

result<std::unique_ptr<state_store>> state_store::open(const state_options& opts) {
  // Private like the log: directories 0700, files 0600 (engine/private_fs.hpp).
  if (auto r = create_private_dirs(opts.dir); !r)
    return make_error(proj_errc::state_failure, r.err().message);
  if (auto r = make_private(opts.dir); !r) return make_error(proj_errc::state_failure, r.err().message);
  std::unique_ptr<state_store> s(new state_store(opts));
  // The map is address space only; where less is available (ulimit -v, valgrind) a smaller one
  // is tried, down to 1 GiB (LMDB still maps the whole file when it is larger).
  auto e = lmdb::env::open(opts.dir, MDB_NOSYNC | MDB_NOTLS, opts.map_size, opts.max_dbs);
  for (std::size_t size = opts.map_size / 2; !e && size >= (std::size_t{1} << 30); size /= 2)
    e = lmdb::env::open(opts.dir, MDB_NOSYNC | MDB_NOTLS, size, opts.max_dbs);
  if (!e) return e.err();
  s->env_ = std::move(*e);
  for (const char* f : {"/data.mdb", "/lock.mdb"})
    if (auto r = make_private(opts.dir + f); !r)
      return make_error(proj_errc::state_failure, r.err().message);
  return s;
}

state_store::~state_store() {
  if (env_.handle()) (void)env_.sync(true);
}

result<lmdb::dbi> state_store::open_db(lmdb::txn& t, const std::string& name) {
  auto d = lmdb::dbi::open(t, name.c_str(), MDB_CREATE);
  if (!d) return d;
  dbs_[name] = *d;
  return d;
}

std::optional<lmdb::dbi> state_store::db(const std::string& name) const {
  auto it = dbs_.find(name);
  if (it == dbs_.end()) return std::nullopt;
  return it->second;
}

}  // namespace hooklog::projections
