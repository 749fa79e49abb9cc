#pragma once
// `hooklog serve --cluster … --bootstrap-from http://PEER:PORT` (docs/CLUSTER.md, "Catching up
// from a snapshot"): when the cell's stream has aged out past this node's empty log, the node
// downloads a caught-up peer's log snapshot (GET /v1/admin/snapshot with the admin key) into
// <data_dir>/snapshot.partial, in bounded chunks, fsyncs it, checks that the body is exactly
// Hooklog-Snapshot-Bytes long, then installs it (engine/cluster/log_snapshot.hpp: same cell,
// head >= min_head, the whole chain verifies, rename over <data_dir>/log/data.mdb). The caller
// has closed its event_log on data_dir. Any failure leaves the local log as it was and no
// partial file; errors say what and where (cluster_errc::bad_snapshot, unreachable).
#include <cstdint>
#include <string>

#include "engine/event_log.hpp"

namespace hooklog::http {

struct bootstrap_request {
  std::string url;        // http://HOST:PORT of a node of the cell (plain HTTP)
  std::string admin_key;  // the cell's admin key
  std::string data_dir;
  std::string cell;
  std::uint64_t min_head = 0;  // the stream's first seq - 1: a shorter snapshot leaves a hole
  log_head local;              // the log being replaced (seq 0: empty); the snapshot must hold it
};

result<log_head> bootstrap_from_peer(const bootstrap_request& req);

}  // namespace hooklog::http
