#pragma once
// Helpers for integration tests that run real binaries (hooklog serve, hooklog-receiver).
//
// child_process: spawns a program (posix_spawn) with arguments and extra environment, its
// stdout on a pipe read by a background thread (so a chatty child never blocks on a full pipe),
// stderr inherited (or appended to a file). stop() sends SIGTERM, waits, then SIGKILL — always by the child's own pid.
// The destructor stops a still-running child. Not thread-safe except read_line/stdout_text.
//
// temp_dir (support/temp_dir.hpp, included here for the tests that use both).
//
// raw_connection: a blocking loopback TCP socket for sending malformed or partial requests.
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace hooklog::test {

struct listen_address {
  std::string host;  // "127.0.0.1" or "::1" (brackets removed)
  unsigned short port = 0;
};

// Parses "listening on HOST:PORT" / "listening on [::1]:PORT".
std::optional<listen_address> parse_listening_line(const std::string& line);

class child_process {
 public:
  // Throws std::runtime_error if the program cannot be started.
  // stderr_file: append the child's stderr to this file (created) instead of inheriting it.
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::vector<std::string>& extra_env = {}, const std::string& stderr_file = "");
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  // Next stdout line (without '\n'), or nullopt on timeout / EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads the first stdout line and parses "listening on HOST:PORT".
  std::optional<listen_address> wait_listening(std::chrono::milliseconds timeout =
                                                   std::chrono::seconds(10));
  // Everything the child wrote to stdout so far (including lines already read).
  std::string stdout_text();

  // Exit status as from waitpid (use WIFEXITED etc.), or nullopt if still running at timeout.
  // Once it returns a status, stdout_text() holds everything the child wrote.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the wait status. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  bool running();

 private:
  void reader_loop(int fd);

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::string all_;
  std::string partial_;
  bool eof_ = false;
};

// Reads a whole file (empty if missing).
std::string read_file(const std::filesystem::path& p);

// The lines of an NDJSON file that another process may be appending to, each parsed. A last
// line without its '\n' is still being written and is left out (it is read next time).
std::vector<nlohmann::json> read_ndjson(const std::filesystem::path& p);

class raw_connection {
 public:
  // Connects to host (IPv4 or IPv6 literal) and port; throws std::runtime_error on failure.
  // `source`: the local address to connect from (e.g. "127.0.0.2", another loopback client
  // address on Linux); "" = the system's choice.
  raw_connection(const std::string& host, unsigned short port, const std::string& source = "");
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // Sends all bytes; false if the peer closed / reset.
  bool send(const std::string& bytes);
  // Reads until the peer closes or `timeout` passes; returns what arrived.
  std::string read_until_close(std::chrono::milliseconds timeout, bool* closed = nullptr);
  // Reads until `needle` appears in the received data, the peer closes, or timeout.
  std::string read_until(const std::string& needle, std::chrono::milliseconds timeout);
  // True if the peer closes the connection (EOF or reset) within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);
  void close();

 private:
  int fd_ = -1;
};

}  // namespace hooklog::test
