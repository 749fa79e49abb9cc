// An --out file that appears only whole (cli_out_file.hpp).
#include "tools/cli_out_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace hooklog::cli {
namespace {

std::string cannot(const std::string& what, const std::string& path, int err) {
  return "cannot " + what + " " + path + ": " + std::strerror(err);
}

// fsync of a path (a file, or a directory for the rename in it); 0 or errno.
int sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

}  // namespace

out_file::~out_file() {
  if (temp_.empty() || committed_) return;
  file_.close();
  ::unlink(temp_.c_str());
}

std::string out_file::open(const std::string& path) {
  shown_ = path;
  if (path.empty() || path == "-") {
    out_ = &std::cout;
    return {};
  }
  namespace fs = std::filesystem;
  path_ = path;
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;  // follows a symlink
  if (!exists && errno != ENOENT) return cannot("write", shown_, errno);
  if (exists && !S_ISREG(st.st_mode)) {
    // A FIFO or a device: written as it is, nothing to rename over.
    file_.open(path, std::ios::binary | std::ios::trunc);
    if (!file_) return cannot("write", shown_, errno);
    out_ = &file_;
    return {};
  }
  if (exists) {
    std::error_code ec;
    path_ = fs::canonical(path, ec).string();  // a symlink's target is what gets replaced
    if (ec) return cannot("write", shown_, ec.value());
  }
  const fs::path target(path_);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());  // 0600
  if (fd < 0) return cannot("write", shown_, errno);
  temp_ = tmpl;
  // An existing file keeps its mode (the rename gives the path the temporary file's inode).
  if (exists && ::fchmod(fd, st.st_mode & 07777) != 0) {
    const int err = errno;
    ::close(fd);
    return cannot("write", shown_, err);
  }
  ::close(fd);
  file_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!file_) return cannot("write", shown_, errno);
  out_ = &file_;
  return {};
}

std::string out_file::commit() {
  errno = 0;
  out_->flush();
  if (out_ == &std::cout) {
    if (!std::cout) return cannot("write", "to stdout", errno ? errno : EIO);
    committed_ = true;
    return {};
  }
  // Every write went through: a full disk must not end in a short file that looks whole.
  file_.close();
  if (!file_) return cannot("write", shown_, errno ? errno : EIO);
  if (temp_.empty()) {
    committed_ = true;
    return {};
  }
  if (const int err = sync_path(temp_, 0)) return cannot("write", shown_, err);
  if (::rename(temp_.c_str(), path_.c_str()) != 0) return cannot("write", shown_, errno);
  committed_ = true;
  // The rename itself, durable (best effort: the file is whole at the path either way).
  const std::filesystem::path target(path_);
  sync_path(target.has_parent_path() ? target.parent_path().string() : ".", O_DIRECTORY);
  return {};
}

}  // namespace hooklog::cli
