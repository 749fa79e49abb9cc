#include "engine/private_fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hooklog {

result<void> create_private_dirs(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path at;
  for (const auto& part : fs::path(dir).lexically_normal()) {
    at /= part;
    if (part.empty()) continue;
    if (::mkdir(at.c_str(), kPrivateDirMode) == 0) {
      if (::chmod(at.c_str(), kPrivateDirMode) != 0)  // whatever the umask
        return make_error(errc::io_failure,
                          "chmod(" + at.string() + ", 0700) failed: " + std::strerror(errno));
      continue;
    }
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(at.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return make_error(errc::io_failure,
                      "cannot create directory " + at.string() + ": " + std::strerror(err));
  }
  return {};
}

result<void> make_private(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  if ((st.st_mode & 077) == 0 || st.st_uid != ::geteuid()) return {};
  if (::chmod(path.c_str(), st.st_mode & 0700) != 0)
    return make_error(errc::io_failure,
                      "chmod(" + path + ") to owner-only failed: " + std::strerror(errno));
  return {};
}

}  // namespace hooklog
