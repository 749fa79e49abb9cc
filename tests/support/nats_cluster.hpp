#pragma once
// Real nats-server processes for cluster tests, on 127.0.0.1 with free ports and JetStream on
// (`-js -sd <temp dir>`): one server, or a cluster of N (routes between all, one cluster name).
//
// The constructor starts every server and waits (bounded) until JetStream is ready: every
// server's monitoring port answers /healthz with 200 (which, for a clustered server, means a
// meta leader is known) and, in a cluster, /jsz names a meta leader. It throws
// std::runtime_error naming the server and the last answer when that does not happen in time.
// Servers are killed (SIGKILL), paused (SIGSTOP/SIGCONT) and restarted one at a time, always by
// their own pid; the destructor stops those still running (SIGTERM, then SIGKILL).
// Not thread-safe: one test thread drives it.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace hooklog::test {

// The nats-server program (PATH lookup of "nats-server", or $HOOKLOG_NATS_SERVER).
std::string nats_server_program();
// A free TCP port on 127.0.0.1 (bound and released; the caller uses it soon).
unsigned short free_port();

class nats_cluster {
 public:
  // servers: 1 (standalone, JetStream on) or more (a cluster named cluster_name).
  explicit nats_cluster(int servers = 1,
                        std::chrono::seconds ready_timeout = std::chrono::seconds(30),
                        std::string cluster_name = "hooklog-test");
  ~nats_cluster();
  nats_cluster(const nats_cluster&) = delete;
  nats_cluster& operator=(const nats_cluster&) = delete;

  int size() const { return static_cast<int>(servers_.size()); }
  // "nats://127.0.0.1:PORT" of server i.
  std::string url(int i) const;
  // Every server's URL, comma-separated (the form `hooklog serve --cluster` takes).
  std::string urls() const;
  unsigned short monitor_port(int i) const { return servers_.at(i).monitor_port; }
  pid_t pid(int i) const;
  bool running(int i) const;

  void kill_hard(int i);  // SIGKILL, waits for the exit
  void pause(int i);      // SIGSTOP
  void resume(int i);     // SIGCONT
  // Starts server i again (after kill_hard) with the same ports and store directory.
  void restart(int i);
  // Waits until every running server reports JetStream ready (see above); throws on timeout.
  void wait_ready(std::chrono::seconds timeout = std::chrono::seconds(30));
  // GET http://127.0.0.1:<monitor port of i><path>: the body, "" when it does not answer with 200.
  std::string monitor_get(int i, const std::string& path) const;
  // What server i wrote to stderr (its log), for failure messages.
  std::string log(int i) const;

 private:
  struct server {
    std::string name;
    unsigned short client_port = 0, cluster_port = 0, monitor_port = 0;
    std::string store_dir, log_file;
    std::unique_ptr<child_process> proc;
    bool paused = false;
  };
  void start(int i);

  std::string cluster_name_;
  temp_dir dir_;
  std::vector<server> servers_;
};

}  // namespace hooklog::test
