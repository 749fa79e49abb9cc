#pragma once
// The data directory's files are private to the user running hooklog: the log,
// the projection state, their LMDB lock files, the data directory's lock file
// and key files hold every payload and secret. Directories hooklog creates are
// 0700 and files 0600, whatever the umask.
//
// Existing paths: hooklog tightens what it owns inside the data directory
// (`log/`, `state/` and the files in them) when a writer opens them, so a
// directory written by an older build becomes private on its next start. The
// data directory itself keeps the mode it already had (it may be a mount point
// or shared on purpose); everything inside it is private either way.
//
// Pure functions of the file system; thread-safe.
#include <string>

#include "engine/errc.hpp"

namespace hooklog {

inline constexpr unsigned kPrivateDirMode = 0700;
inline constexpr unsigned kPrivateFileMode = 0600;

// Creates `dir` and each missing parent, every one created 0700. An existing
// directory is left as it is. io_failure naming the path otherwise.
result<void> create_private_dirs(const std::string& dir);

// Clears the group and other permission bits of an existing path owned by this
// user (0644 -> 0600, 0755 -> 0700). A missing path, or one owned by another
// user, is left alone. io_failure naming the path when chmod fails.
result<void> make_private(const std::string& path);

}  // namespace hooklog
