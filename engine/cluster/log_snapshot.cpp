#include "engine/cluster/log_snapshot.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/bytes.hpp"
#include "engine/cluster/cluster_errc.hpp"
#include "engine/private_fs.hpp"

namespace hooklog::cluster {

namespace fs = std::filesystem;

namespace {

error io_error(const std::string& what) {
  return make_error(errc::io_failure, what + ": " + std::strerror(errno));
}

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

result<void> sync_path(const std::string& path, int flags) {
  fd_guard d{::open(path.c_str(), flags | O_CLOEXEC)};
  if (d.fd < 0) return io_error("open(" + path + ")");
  if (::fsync(d.fd) != 0) return io_error("fsync(" + path + ")");
  return {};
}

// Reads the head and the cell of the log copy in `dir` (<dir>/log/data.mdb).
struct copy_facts {
  log_head head;
  std::string cell;
  std::unique_ptr<event_log> log;
};
result<copy_facts> open_copy(const std::string& dir) {
  log_options lo;
  lo.dir = dir;
  lo.read_only = true;
  auto log = event_log::open(lo);
  if (!log) return log.err();
  copy_facts f;
  f.head = (*log)->head();
  auto cell = (*log)->cluster_cell();
  if (!cell) return cell.err();
  if (*cell) f.cell = **cell;
  f.log = std::move(*log);
  return f;
}

}  // namespace

result<log_snapshot> make_log_snapshot(const event_log& log) {
  const std::string data_dir = log.options().dir;
  std::string tmpl = data_dir + "/snapshot-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return io_error("mkdtemp(" + tmpl + ")");
  const fs::path tmp(tmpl);
  struct cleanup {
    fs::path p;
    ~cleanup() { remove_quietly(p); }
  } cleaner{tmp};
  if (auto r = create_private_dirs((tmp / "log").string()); !r) return r.err();
  const std::string file = (tmp / "log" / "data.mdb").string();
  fd_guard out{::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, kPrivateFileMode)};
  if (out.fd < 0) return io_error("open(" + file + ")");
  if (int rc = ::mdb_env_copyfd2(log.raw_env().handle(), out.fd, MDB_CP_COMPACT); rc != 0)
    return make_error(errc::io_failure,
                      "mdb_env_copyfd2 into " + file + " failed: " + ::mdb_strerror(rc));
  log_snapshot s;
  {
    auto facts = open_copy(tmp.string());
    if (!facts) return facts.err();
    s.head = facts->head;
    s.cell = facts->cell;
  }
  struct stat st {};
  if (::fstat(out.fd, &st) != 0) return io_error("fstat(" + file + ")");
  s.bytes = static_cast<std::uint64_t>(st.st_size);
  if (::lseek(out.fd, 0, SEEK_SET) != 0) return io_error("lseek(" + file + ")");
  s.fd = out.release();  // the directory is removed by `cleaner`; the open file stays readable
  return s;
}

std::string partial_log_file(const std::string& data_dir) {
  return data_dir + "/snapshot.partial/log/data.mdb";
}

result<void> prepare_partial_dir(const std::string& data_dir) {
  remove_partial_dir(data_dir);  // a leftover of an interrupted download
  return create_private_dirs(data_dir + "/snapshot.partial/log");
}

void remove_partial_dir(const std::string& data_dir) {
  remove_quietly(fs::path(data_dir) / "snapshot.partial");
}

result<log_head> install_log_snapshot(const std::string& data_dir, const std::string& cell,
                                      std::uint64_t min_head, const announced_head& announced,
                                      const log_head& local) {
  const std::string partial = data_dir + "/snapshot.partial";
  auto refuse = [&](error e) {
    remove_partial_dir(data_dir);
    return e;
  };
  log_head head;
  {
    auto facts = open_copy(partial);
    if (!facts)
      return refuse(make_error(
          cluster_errc::bad_snapshot,
          "the downloaded snapshot is not a readable log: " + std::string(facts.err().what())));
    if (facts->cell != cell)
      return refuse(make_error(
          cluster_errc::bad_snapshot,
          "the snapshot is a log of " +
              (facts->cell.empty() ? std::string("a single node") : "cell " + facts->cell) +
              ", not of cell " + cell + " (--cell)"));
    if (facts->head.seq < min_head)
      return refuse(make_error(
          cluster_errc::bad_snapshot,
          "the snapshot ends at seq " + std::to_string(facts->head.seq) +
              " but the stream now starts at seq " + std::to_string(min_head + 1) + ": seqs " +
              std::to_string(facts->head.seq + 1) + " to " + std::to_string(min_head) +
              " would be missing (bootstrap from a node that is caught up)"));
    const std::string hash =
        bytes::to_hex(facts->head.chain_hash.data(), facts->head.chain_hash.size());
    if (facts->head.seq != announced.seq || hash != announced.hash_hex)
      return refuse(make_error(cluster_errc::bad_snapshot,
                               "the snapshot's head (seq " + std::to_string(facts->head.seq) +
                                   ", hash " + hash + ") is not the one announced (seq " +
                                   std::to_string(announced.seq) + ", hash " + announced.hash_hex +
                                   ")"));
    auto rep = facts->log->verify();
    if (!rep) return refuse(rep.err());
    if (!rep->ok)
      return refuse(make_error(cluster_errc::bad_snapshot, "the snapshot does not verify: seq " +
                                                               std::to_string(rep->first_bad_seq) +
                                                               ": " + rep->problem));
    if (local.seq > 0) {
      auto prefix = facts->log->verify(1, local.seq);
      if (!prefix) return refuse(prefix.err());
      if (facts->head.seq < local.seq || prefix->head_hash != local.chain_hash)
        return refuse(make_error(
            cluster_errc::bad_snapshot,
            "the snapshot does not hold this node's log (seq " + std::to_string(local.seq) +
                ", hash " + bytes::to_hex(local.chain_hash.data(), local.chain_hash.size()) +
                "): another history"));
    }
    head = facts->head;
  }
  // The read-only open made a lock file beside the copy; only data.mdb moves.
  const std::string file = partial_log_file(data_dir);
  if (auto r = sync_path(file, O_RDONLY); !r) return refuse(r.err());
  const std::string target = data_dir + "/log/data.mdb";
  if (auto r = create_private_dirs(data_dir + "/log"); !r) return refuse(r.err());
  if (::rename(file.c_str(), target.c_str()) != 0)
    return refuse(io_error("rename(" + file + ", " + target + ")"));
  if (auto r = sync_path(data_dir + "/log", O_RDONLY | O_DIRECTORY); !r) return r.err();
  remove_partial_dir(data_dir);
  return head;
}

}  // namespace hooklog::cluster
