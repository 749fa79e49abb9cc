#pragma once
// Zeros written ahead of the log env's last page (issue 17, eighth pass).
//
// The log env (`<data dir>/log/data.mdb`) is written with pwrite and fdatasynced per commit. A
// commit whose pages lie past the end of the file makes that fdatasync allocate their blocks,
// grow the file's size and write the inode as well (ext4: the allocation and the inode table
// block, one more synchronous write after the data's). When the file's next bytes are already
// written (zeros, synced once per step), a commit overwrites allocated blocks inside the file's
// size and its fdatasync writes the data pages only (the inode only when its times changed).
//
// keep_ahead() appends zeros from the file's end up to ahead_for(used) bytes past the last page
// in use (a quarter of what is used, from 1 to 16 MiB; never past the map) once fewer than half
// of that are left, then fdatasyncs them: the zeros are written once, as many bytes as the log
// grows by, in steps that a fresh log (a test's server) keeps small. LMDB
// ignores the bytes past its last page: the file's length is not part of the format (a reopen
// reads the meta pages, a copy takes the pages in use). The caller must exclude every write
// transaction of the env meanwhile (LMDB writes the file only inside one): the log writer calls
// it from its thread between groups, and that thread is the log's only appender. A failure (a
// full disk) is returned and leaves the file as long as it was; LMDB then writes past the end as
// before, and the next try comes a step later.
#include <algorithm>
#include <cstddef>

#include "engine/lmdb.hpp"
#include "engine/result.hpp"

namespace hooklog {

class zero_ahead {
 public:
  static constexpr std::size_t kMinAhead = std::size_t{1} << 20;
  static constexpr std::size_t kMaxAhead = std::size_t{16} << 20;
  static std::size_t ahead_for(std::size_t used) {
    return std::clamp(used / 4, kMinAhead, kMaxAhead);
  }

  // `used`: the env's bytes up to its last page (lmdb::env::used_bytes()).
  result<void> keep_ahead(const lmdb::env& e, std::size_t used);
  // The file's end as of the last call that wrote zeros (0 before).
  std::size_t written_to() const { return end_; }

 private:
  std::size_t end_ = 0;   // the file is known to reach this far
  std::size_t next_ = 0;  // after a failure: no new try before `used` passes this
  std::size_t capped_map_ = 0;  // the map size the zeros reached the end of
};

}  // namespace hooklog
