#pragma once
// The file a subcommand's --out names, which appears only whole (`hooklog export --out FILE`).
//
// open() creates a temporary file beside FILE (".FILE.XXXXXX", 0600 whatever the umask) and
// stream() writes there; commit() checks that every write succeeded, fsyncs the file, renames
// it onto FILE and fsyncs the directory. Until then nothing is at FILE but what was there
// before: a refusal, an exception or a failed write removes the temporary file (the destructor)
// and an existing FILE keeps its bytes. A FILE that exists keeps its mode (a new one is 0600,
// private like the data directory it comes from); a symlink to a regular file is followed (the
// target is replaced, the link stays). Special cases, written directly since there is nothing
// to rename over: "" and "-" (stdout), and an existing FILE that is not a regular file (a FIFO,
// /dev/null, /dev/stdout). A process killed between open() and commit() leaves the temporary
// file, never a partial FILE.
//
// Not thread-safe: one per command.
#include <fstream>
#include <ostream>
#include <string>

namespace hooklog::cli {

class out_file {
 public:
  out_file() = default;
  ~out_file();  // without a successful commit(): removes the temporary file
  out_file(const out_file&) = delete;
  out_file& operator=(const out_file&) = delete;

  // Prepares `path` for writing. "" when ready, else why not ("cannot write FILE: <reason>").
  std::string open(const std::string& path);
  // Where to write: the temporary file, the special file, or stdout. Valid after open().
  std::ostream& stream() { return *out_; }
  // Ends the output. "" when it is whole at the path, else why not (then the path holds what it
  // held before open(), and the temporary file is gone).
  std::string commit();

 private:
  std::string shown_;  // the path as given, for messages
  std::string path_;   // where the file goes (a symlink resolved)
  std::string temp_;   // the temporary file; "" when writing directly
  std::ofstream file_;
  std::ostream* out_ = nullptr;
  bool committed_ = false;
};

}  // namespace hooklog::cli
