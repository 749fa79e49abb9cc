#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace hooklog::test {

std::optional<listen_address> parse_listening_line(const std::string& line) {
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) return std::nullopt;
  std::string rest = line.substr(prefix.size());
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ')) rest.pop_back();
  listen_address out;
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find("]:");
    if (close == std::string::npos) return std::nullopt;
    out.host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    out.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  try {
    unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return std::nullopt;
    out.port = static_cast<unsigned short>(p);
  } catch (...) {
    return std::nullopt;
  }
  return out;
}

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::vector<std::string>& extra_env,
                             const std::string& stderr_file) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears CLOEXEC
  if (!stderr_file.empty())
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);

  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + program + ": " + std::strerror(rc));
  }
  reader_ = std::thread([this, fd = fds[0]] { reader_loop(fd); });
}

child_process::~child_process() {
  if (pid_ > 0) stop();
  if (reader_.joinable()) reader_.join();
}

void child_process::reader_loop(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lk(mu_);
    if (n <= 0) {
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      eof_ = true;
      cv_.notify_all();
      break;
    }
    all_.append(buf, static_cast<std::size_t>(n));
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
    cv_.notify_all();
  }
  ::close(fd);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return !lines_.empty() || eof_; });
  if (lines_.empty()) return std::nullopt;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

std::optional<listen_address> child_process::wait_listening(std::chrono::milliseconds timeout) {
  auto line = read_line(timeout);
  if (!line) return std::nullopt;
  return parse_listening_line(*line);
}

std::string child_process::stdout_text() {
  std::lock_guard lk(mu_);
  return all_;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      // The child is gone; let the reader take what it wrote last, so stdout_text()
      // is complete once wait_exit() returns.
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::seconds(5), [&] { return eof_; });
      return status_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool child_process::running() { return !wait_exit(std::chrono::milliseconds(0)).has_value(); }

int child_process::stop(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  if (auto st = wait_exit(grace)) return *st;
  ::kill(pid_, SIGKILL);
  if (auto st = wait_exit(std::chrono::seconds(10))) return *st;
  return -1;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> read_ndjson(const std::filesystem::path& p) {
  const std::string text = read_file(p);
  std::vector<nlohmann::json> out;
  std::size_t pos = 0;
  for (std::size_t end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1)
    if (end > pos) out.push_back(nlohmann::json::parse(text.begin() + pos, text.begin() + end));
  return out;
}

raw_connection::raw_connection(const std::string& host, unsigned short port,
                               const std::string& source) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1)
      throw std::runtime_error("bad address " + host);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1)
      throw std::runtime_error("bad address " + host);
    len = sizeof *a;
  }
  fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (!source.empty()) {
    sockaddr_storage local{};
    socklen_t local_len = 0;
    if (ss.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&local);
      a->sin6_family = AF_INET6;
      local_len = sizeof *a;
      if (inet_pton(AF_INET6, source.c_str(), &a->sin6_addr) != 1) local_len = 0;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&local);
      a->sin_family = AF_INET;
      local_len = sizeof *a;
      if (inet_pton(AF_INET, source.c_str(), &a->sin_addr) != 1) local_len = 0;
    }
    if (local_len == 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("cannot connect from " + source);
    }
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " + std::strerror(e));
  }
}

raw_connection::~raw_connection() { close(); }

void raw_connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool raw_connection::send(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

namespace {
// One poll+recv step: >0 bytes appended, 0 = closed, -1 = timeout.
int recv_step(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  // Rounded up: a wait of less than a millisecond left still polls (truncated, 1 ms never did).
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return -1;
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(left.count()));
  if (r == 0) return -1;
  if (r < 0) return errno == EINTR ? 1 : 0;
  char buf[16384];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0 && errno == EINTR) return 1;
  if (n <= 0) return 0;
  out.append(buf, static_cast<std::size_t>(n));
  return 1;
}
}  // namespace

std::string raw_connection::read_until_close(std::chrono::milliseconds timeout, bool* closed) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int r;
  while ((r = recv_step(fd_, out, deadline)) > 0) {
  }
  if (closed) *closed = r == 0;
  return out;
}

std::string raw_connection::read_until(const std::string& needle, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.find(needle) == std::string::npos && recv_step(fd_, out, deadline) > 0) {
  }
  return out;
}

bool raw_connection::closed_within(std::chrono::milliseconds timeout) {
  bool closed = false;
  read_until_close(timeout, &closed);
  return closed;
}

}  // namespace hooklog::test
