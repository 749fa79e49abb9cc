// GET /v1/admin/snapshot (admin key): a consistent, compacted copy of this node's log (the LMDB
// environment's data.mdb) for a node that catches up from it (docs/CLUSTER.md, `serve
// --bootstrap-from`). The copy is made into an unlinked private temporary file of the data
// directory and streamed from it in bounded chunks; headers state what it holds:
// Hooklog-Snapshot-Seq, Hooklog-Snapshot-Hash (the chain hash at that seq, hex),
// Hooklog-Snapshot-Bytes (the body's exact length: a receiver refuses a shorter body) and
// Hooklog-Snapshot-Cell (absent for a single-node log).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "engine/bytes.hpp"
#include "engine/cluster/log_snapshot.hpp"
#include "engine/logger.hpp"
#include "http/api_internal.hpp"

namespace hooklog::http::detail {

namespace {
constexpr std::size_t kSnapshotChunk = 256 * 1024;

struct open_file {
  int fd;
  explicit open_file(int f) : fd(f) {}
  ~open_file() { ::close(fd); }
};
}  // namespace

void admin_snapshot(const call_ptr& c) {
  auto snap = cluster::make_log_snapshot(c->ctx.log);
  if (!snap) return c->fail(500, "log_failure", snap.err().what());
  auto file = std::make_shared<open_file>(snap->fd);
  auto left = std::make_shared<std::uint64_t>(snap->bytes);
  logging::info("snapshot.serve", "streaming a snapshot of the log",
                {{"seq", snap->head.seq}, {"bytes", snap->bytes}});
  stream_response s;
  s.content_type = "application/octet-stream";
  s.headers.emplace_back("Hooklog-Snapshot-Seq", std::to_string(snap->head.seq));
  s.headers.emplace_back("Hooklog-Snapshot-Hash",
                         bytes::to_hex(snap->head.chain_hash.data(), snap->head.chain_hash.size()));
  s.headers.emplace_back("Hooklog-Snapshot-Bytes", std::to_string(snap->bytes));
  if (!snap->cell.empty()) s.headers.emplace_back("Hooklog-Snapshot-Cell", snap->cell);
  s.producer = [file, left](std::string& chunk) {
    if (*left == 0) return false;
    chunk.resize(static_cast<std::size_t>(std::min<std::uint64_t>(*left, kSnapshotChunk)));
    const ssize_t n = ::read(file->fd, chunk.data(), chunk.size());
    if (n <= 0) {  // the body ends short: the receiver compares it with Hooklog-Snapshot-Bytes
      logging::error("snapshot.serve", "cannot read the snapshot copy",
                     {{"reason", n < 0 ? std::strerror(errno) : "end of file"}});
      chunk.clear();
      return false;
    }
    chunk.resize(static_cast<std::size_t>(n));
    *left -= static_cast<std::uint64_t>(n);
    return *left > 0;
  };
  c->observe(200);
  c->res.stream(std::move(s));
}

}  // namespace hooklog::http::detail
