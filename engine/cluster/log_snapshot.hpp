#pragma once
// Snapshots of a node's log (docs/CLUSTER.md, "Catching up from a snapshot"): a node whose
// stream has aged out past its log catches up from a peer's copy of the log, then from the
// stream.
//
// make_log_snapshot: a consistent, compacted copy of the log's LMDB environment
// (mdb_env_copyfd2 with MDB_CP_COMPACT, one read transaction) in a private temporary file of the
// data directory, unlinked before it is returned (nothing is left behind if the process dies);
// the caller reads `fd` from offset 0 and closes it. `head` and `cell` are read from the copy
// itself, so they describe exactly the bytes handed out. Memory stays bounded (LMDB writes the
// copy through a small buffer).
//
// install_log_snapshot: the node side. The bytes were downloaded to partial_log_file(data_dir)
// (and fsynced). Opens that copy read-only, refuses it unless it is marked with `cell`, its head
// is at least `min_head`, it holds the local log as a prefix and event_log::verify passes over
// the whole chain; then renames it over
// <data_dir>/log/data.mdb (the caller has closed its event_log on data_dir) and syncs the
// directory. On any refusal the partial directory is removed and the local log is untouched.
#include <cstdint>
#include <string>

#include "engine/event_log.hpp"

namespace hooklog::cluster {

struct log_snapshot {
  int fd = -1;              // owned by the caller
  std::uint64_t bytes = 0;  // the file's size
  log_head head;
  std::string cell;  // "" for a single-node log
};

result<log_snapshot> make_log_snapshot(const event_log& log);

// <data_dir>/snapshot.partial/log/data.mdb (its directories are created 0700).
std::string partial_log_file(const std::string& data_dir);
result<void> prepare_partial_dir(const std::string& data_dir);
void remove_partial_dir(const std::string& data_dir);

// The head the peer stated (Hooklog-Snapshot-Seq, -Hash as hex): the copy's own head must be
// exactly that.
struct announced_head {
  std::uint64_t seq = 0;
  std::string hash_hex;
};
// `local`: the head of the log being replaced (seq 0: empty); the snapshot must hold it (the
// same chain hash at local.seq), so replacing it loses nothing and the projection state stays
// a prefix.
result<log_head> install_log_snapshot(const std::string& data_dir, const std::string& cell,
                                      std::uint64_t min_head, const announced_head& announced,
                                      const log_head& local = {});

}  // namespace hooklog::cluster
