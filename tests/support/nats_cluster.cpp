#include "support/nats_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace hooklog::test {

std::string nats_server_program() {
  if (const char* p = std::getenv("HOOKLOG_NATS_SERVER"); p && *p) return p;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/usr/sbin:/bin";
  dirs += ":/usr/sbin:/usr/local/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::filesystem::path p =
        std::filesystem::path(dirs.substr(start, end - start)) / "nats-server";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
    start = end + 1;
  }
  throw std::runtime_error("nats-server not found on PATH (tools/install-deps.sh installs it)");
}

unsigned short free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

nats_cluster::nats_cluster(int servers, std::chrono::seconds ready_timeout,
                           std::string cluster_name)
    : cluster_name_(std::move(cluster_name)) {
  if (servers < 1) throw std::runtime_error("nats_cluster needs at least one server");
  // Ports picked all at once, so no two servers get the same one.
  std::vector<unsigned short> ports;
  while (ports.size() < static_cast<std::size_t>(servers) * 3) {
    unsigned short p = free_port();
    bool seen = false;
    for (auto q : ports) seen = seen || q == p;
    if (!seen) ports.push_back(p);
  }
  servers_.resize(servers);
  for (int i = 0; i < servers; ++i) {
    auto& s = servers_[i];
    s.name = "n" + std::to_string(i + 1);
    s.client_port = ports[i * 3];
    s.cluster_port = ports[i * 3 + 1];
    s.monitor_port = ports[i * 3 + 2];
    s.store_dir = (dir_ / s.name).string();
    s.log_file = (dir_ / (s.name + ".log")).string();
  }
  for (int i = 0; i < servers; ++i) start(i);
  wait_ready(ready_timeout);
}

nats_cluster::~nats_cluster() {
  for (auto& s : servers_) {
    if (!s.proc) continue;
    if (s.paused) ::kill(s.proc->pid(), SIGCONT);
    s.proc->stop(std::chrono::seconds(5));
  }
}

void nats_cluster::start(int i) {
  auto& s = servers_.at(i);
  std::vector<std::string> args = {"-a",       "127.0.0.1",
                                   "-p",       std::to_string(s.client_port),
                                   "-m",       std::to_string(s.monitor_port),
                                   "-n",       s.name,
                                   "-js",      "-sd",
                                   s.store_dir};
  if (servers_.size() > 1) {
    std::string routes;
    for (std::size_t j = 0; j < servers_.size(); ++j) {
      if (static_cast<int>(j) == i) continue;
      if (!routes.empty()) routes += ",";
      routes += "nats://127.0.0.1:" + std::to_string(servers_[j].cluster_port);
    }
    args.insert(args.end(),
                {"--cluster_name", cluster_name_, "--cluster",
                 "nats://127.0.0.1:" + std::to_string(s.cluster_port), "--routes", routes});
  }
  s.proc = std::make_unique<child_process>(nats_server_program(), args, std::vector<std::string>{},
                                           s.log_file);
  s.paused = false;
}

std::string nats_cluster::url(int i) const {
  return "nats://127.0.0.1:" + std::to_string(servers_.at(i).client_port);
}

std::string nats_cluster::urls() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += (i ? "," : "") + url(i);
  return out;
}

pid_t nats_cluster::pid(int i) const {
  const auto& s = servers_.at(i);
  return s.proc ? s.proc->pid() : -1;
}

bool nats_cluster::running(int i) const {
  const auto& s = servers_.at(i);
  return s.proc && s.proc->running();
}

void nats_cluster::kill_hard(int i) {
  auto& s = servers_.at(i);
  if (!s.proc) return;
  ::kill(s.proc->pid(), SIGKILL);
  if (!s.proc->wait_exit(std::chrono::seconds(10)))
    throw std::runtime_error("nats-server " + s.name + " did not exit after SIGKILL");
  s.paused = false;
}

void nats_cluster::pause(int i) {
  auto& s = servers_.at(i);
  if (s.proc && ::kill(s.proc->pid(), SIGSTOP) == 0) s.paused = true;
}

void nats_cluster::resume(int i) {
  auto& s = servers_.at(i);
  if (s.proc && ::kill(s.proc->pid(), SIGCONT) == 0) s.paused = false;
}

void nats_cluster::restart(int i) {
  auto& s = servers_.at(i);
  if (s.proc && s.proc->running())
    throw std::runtime_error("nats-server " + s.name + " still runs");
  start(i);
}

std::string nats_cluster::monitor_get(int i, const std::string& path) const {
  try {
    raw_connection c("127.0.0.1", servers_.at(i).monitor_port);
    if (!c.send("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")) return "";
    std::string reply = c.read_until_close(std::chrono::seconds(2));
    if (reply.rfind("HTTP/1.", 0) != 0 || reply.find(" 200 ") == std::string::npos) return "";
    auto body = reply.find("\r\n\r\n");
    return body == std::string::npos ? "" : reply.substr(body + 4);
  } catch (const std::exception&) {
    return "";
  }
}

void nats_cluster::wait_ready(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (!servers_[i].proc || servers_[i].paused || !servers_[i].proc->running()) continue;
    std::string last;
    for (;;) {
      bool ready = !monitor_get(i, "/healthz").empty();
      if (ready && size() > 1) {
        last = monitor_get(i, "/jsz");
        auto j = nlohmann::json::parse(last, nullptr, false);
        ready = !j.is_discarded() && j.contains("meta_cluster") &&
                !j["meta_cluster"].value("leader", std::string()).empty();
      }
      if (ready) break;
      if (!servers_[i].proc->running())
        throw std::runtime_error("nats-server " + servers_[i].name + " exited: " + log(i));
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(
            "nats-server " + servers_[i].name + " (" + url(i) + ") has no JetStream ready after " +
            std::to_string(timeout.count()) + " s; /jsz: " + last + "; log: " + log(i));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::string nats_cluster::log(int i) const {
  std::string text = read_file(servers_.at(i).log_file);
  if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
  return text;
}

}  // namespace hooklog::test
