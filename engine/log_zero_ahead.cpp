#include "engine/log_zero_ahead.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "engine/errc.hpp"

namespace hooklog {

result<void> zero_ahead::keep_ahead(const lmdb::env& e, std::size_t used) {
  // No system call on most groups.
  const std::size_t ahead = ahead_for(used);
  if (used + ahead / 2 <= end_ || used < next_ || e.map_size() == capped_map_) return {};
  mdb_filehandle_t fd = -1;
  if (int rc = mdb_env_get_fd(e.handle(), &fd); rc != 0)
    return make_error(errc::io_failure, "the log's zeros ahead: mdb_env_get_fd failed");
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return make_error(errc::io_failure, std::string("the log's zeros ahead: fstat: ") + std::strerror(errno));
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  // Never past the map (a plain env's map doubles when full; zeros go on once it has grown).
  const std::size_t map = e.map_size();
  const std::size_t target = std::min(used + ahead, map);
  if (size >= target) {
    end_ = size;
    if (target == map) capped_map_ = map;
    return {};
  }
  static const char zeros[std::size_t{1} << 18] = {};
  std::size_t at = size;
  int err = 0;
  while (at < target) {
    const std::size_t n = std::min(sizeof zeros, target - at);
    const ssize_t w = ::pwrite(fd, zeros, n, static_cast<off_t>(at));
    if (w <= 0) {
      err = w < 0 ? errno : ENOSPC;
      break;
    }
    at += static_cast<std::size_t>(w);
  }
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  if (err != 0) {
    // Only zeros lie past `size` (LMDB wrote nothing meanwhile): give the file its length back.
    (void)!::ftruncate(fd, static_cast<off_t>(size));
    next_ = used + ahead;
    return make_error(err == ENOSPC || err == EDQUOT || err == EFBIG ? errc::storage_full : errc::io_failure,
                      std::string("the log's zeros ahead (") + std::to_string(target - size) +
                          " bytes past " + std::to_string(size) + "): " + std::strerror(err));
  }
  end_ = target;
  if (target == map) capped_map_ = map;  // only once written: a failure is tried again a step later
  return {};
}

}  // namespace hooklog
