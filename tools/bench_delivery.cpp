// hooklog-bench-delivery: delivery throughput and ingest-to-arrival latency (not a test).
//
//   hooklog-bench-delivery [--receiver PATH] [--events N] [--rate R] [--seconds S] [--in-flight K]
//                          [--io-threads T] [--connections 1,4,16,64] [--sweep-seconds S]
//                          [--nginx PATH|none] [--attempt-linger-us U]
//
// 1. The limit: wrk (1 thread, K connections, 5 s) POSTs a 1 KiB body straight at a
//    hooklog-receiver.
// 2. Delivery: N events (1 KiB bodies) are in the log; the dispatcher delivers them, signed, to
//    the same receiver, one attempt record each (fsync'd group commits). Rate = N / time.
// 3. Latency: R events/s for S s are acknowledged by the writer (durable) one by one; the time
//    from each acknowledgement to its arrival at an in-process receiver (same clock): p50, p99.
//    --seconds 0 skips this phase and prints no latency figure.
// Prints both rates and their ratio (goal >= 0.5, issue 17) and the percentiles (goal p99 < 50 ms
// at 1000/s).
// 1b. With nginx installed (--nginx, default /usr/sbin/nginx; "none" skips): 1. and 2. again
//    against nginx answering every POST with 204 (one worker process, access log off), the limit
//    the issue names: a server that costs almost nothing per request, so the ratio is the
//    dispatcher's own.
// --attempt-linger-us: the dispatcher's attempt_linger (dispatcher.hpp; default 2000, 0 commits
//    each pass's attempt records at once), to measure both in one build.
// 4. With --connections: at each count C, wrk with C connections, then the dispatcher with C in
//    flight for at most --sweep-seconds (rate = deliveries / time); printed as SWEEP lines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_result.hpp"
#include "bench_threads.hpp"
#include "bench_wrk.hpp"
#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"
#include "engine/record.hpp"
#include "http/delivery/dispatcher.hpp"
#include "http/server.hpp"
#include "projections/runner.hpp"

extern char** environ;
using namespace hooklog;
using steady = std::chrono::steady_clock;

namespace {

struct child {
  pid_t pid = -1;
  unsigned short port = 0;
};

child spawn_receiver(const std::string& path) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<std::string> args{path, "--listen", "127.0.0.1:0", "--threads", "1"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  child c;
  if (posix_spawn(&c.pid, path.c_str(), &fa, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + path);
  close(fds[1]);
  std::string line;
  char ch;
  while (read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(fds[0]);
  auto colon = line.rfind(':');
  if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos)
    throw std::runtime_error("receiver said: " + line);
  c.port = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  return c;
}

void stop_child(child& c) {
  if (c.pid > 0) {
    kill(c.pid, SIGTERM);
    int st;
    waitpid(c.pid, &st, 0);
    c.pid = -1;
  }
}

// A free loopback port (bound, read, closed: another process may take it before nginx does,
// which then fails to start and the benchmark says so).
unsigned short free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  close(fd);
  return ntohs(a.sin_port);
}

// nginx in the foreground (daemon off, one worker, no access log) on 127.0.0.1, answering 204 to
// every request; its files under `dir`. Waits until it accepts a connection (at most 5 s).
child spawn_nginx(const std::string& path, const std::string& dir) {
  std::filesystem::create_directories(dir + "/logs");
  child c;
  c.port = free_port();
  std::ofstream(dir + "/nginx.conf")
      << "worker_processes 1;\npid " << dir << "/nginx.pid;\nerror_log stderr error;\n"
      << "events { worker_connections 1024; }\n"
      << "http {\n  access_log off;\n  client_body_temp_path " << dir << "/body;\n"
      << "  keepalive_requests 1000000;\n  client_max_body_size 1m;\n"
      << "  server {\n    listen 127.0.0.1:" << c.port << ";\n"
      << "    location / { return 204; }\n  }\n}\n";
  std::vector<std::string> args{path, "-p", dir, "-c", dir + "/nginx.conf", "-g", "daemon off;"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&c.pid, path.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + path);
  for (int i = 0; i < 500; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(c.port);
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (up) return c;
    int st;
    if (waitpid(c.pid, &st, WNOHANG) == c.pid) throw std::runtime_error("nginx exited at start");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("nginx did not listen within 5 s");
}

// CPU seconds (user + system) used so far by process `pid` and its direct children (nginx's
// worker under its master), from /proc (clock ticks); 0 when unreadable.
double cpu_seconds_of(pid_t pid) {
  auto one = [](const std::string& stat_path) {
    const double s = bench::stat_cpu_seconds(stat_path);
    return std::isnan(s) ? 0.0 : s;
  };
  const std::string base = "/proc/" + std::to_string(pid);
  double s = one(base + "/stat");
  std::ifstream kids(base + "/task/" + std::to_string(pid) + "/children");
  for (pid_t k; kids >> k;) s += one("/proc/" + std::to_string(k) + "/stat");
  return s;
}

// wrk (1 thread, `connections` keep-alive connections) POSTing `body` at the receiver: req/s.
double run_wrk(unsigned short port, const std::string& dir, const std::string& body,
               int connections, int seconds, double* requests = nullptr) {
  std::string lua = dir + "/post.lua";
  std::ofstream(lua) << "wrk.method = \"POST\"\nwrk.body = '" << body
                     << "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n";
  const std::string cmd = "wrk -t1 -c" + std::to_string(connections) + " -d" +
                          std::to_string(seconds) + "s -s " + bench::shell_quote(lua) +
                          " http://127.0.0.1:" + std::to_string(port) + "/ 2>&1";
  const bench::wrk_output w = bench::parse_wrk(bench::run_command(cmd));
  if (!w.ok) std::fprintf(stderr, "wrk failed (%s):\n%s\n", cmd.c_str(), w.raw.c_str());
  if (requests) *requests = static_cast<double>(w.requests);
  return w.rps;
}

// --attempt-linger-us, for every stack of the run.
std::chrono::microseconds attempt_linger = http::dispatcher_options{}.attempt_linger;

struct stack {
  std::unique_ptr<event_log> log;
  std::unique_ptr<log_writer> writer;
  std::unique_ptr<projections::projection_runner> runner;
  std::unique_ptr<http::dispatcher> disp;
  stack(const std::string& dir, std::size_t in_flight_origin, unsigned io_threads) {
    log_options lo;
    lo.dir = dir;
    log = std::move(*event_log::open(lo));
    writer = std::make_unique<log_writer>(*log);
    projections::runner_options ro;
    ro.state_dir = dir + "/state";
    runner = std::move(*projections::projection_runner::open(*log, ro));
    http::dispatcher_options o;
    o.allow_private_targets = true;
    o.max_connections_per_origin = in_flight_origin;
    o.io_threads = io_threads;
    o.attempt_linger = attempt_linger;
    disp = std::make_unique<http::dispatcher>(*log, *writer, *runner, o);
  }
  ~stack() {
    disp->stop();
    writer->stop();
    runner->stop();
  }
  void endpoint(const std::string& url, int in_flight) {
    record r;
    r.kind = record_kind::endpoint_created;
    r.tenant = "t";
    r.entity_kind = "endpoint";
    r.entity_id = "bench";
    r.body = nlohmann::json{{"id", "bench"},
                            {"url", url},
                            {"secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                            {"max_in_flight", in_flight}}
                 .dump();
    (void)writer->append(std::move(r));
  }
  record event(const std::string& body) {
    record r;
    r.kind = record_kind::event_received;
    r.tenant = "t";
    r.source = "standard";
    r.type = "order.updated";
    r.body = body;
    return r;
  }
};

// The dispatcher delivering `events` 1 KiB events already in the log to the receiver at
// `in_flight` (endpoint max_in_flight = pool size), for at most `cap_s` seconds: deliveries/s.
// `cpu_us` (optional): CPU of this process (the hooklog stack; the receiver and wrk are children)
// per delivery, from getrusage.
double run_delivery(const std::string& dir, unsigned short port, std::size_t in_flight,
                    unsigned io_threads, std::size_t events, const std::string& body, double cap_s,
                    double* cpu_us = nullptr, const std::string& target = "receiver") {
  stack s(dir, in_flight, io_threads);
  s.endpoint("http://127.0.0.1:" + std::to_string(port) + "/", static_cast<int>(in_flight));
  std::vector<record> batch;
  for (std::size_t i = 0; i < events; ++i) {
    batch.push_back(s.event(body));
    if (batch.size() == 1000) (void)s.writer->submit(std::move(batch)).get(), batch.clear();
  }
  if (!batch.empty()) (void)s.writer->submit(std::move(batch)).get();
  s.runner->start();
  s.runner->wait_applied(s.log->committed_seq(), std::chrono::seconds(60));
  auto t0 = steady::now();
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  const auto threads0 = bench::thread_snapshot(::getpid());
  auto groups0 = s.writer->stats().groups;
  s.disp->start();
  while (s.disp->stats().succeeded < events &&
         steady::now() - t0 < std::chrono::duration<double>(cap_s))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double secs = std::chrono::duration<double>(steady::now() - t0).count();
  auto st = s.disp->stats();
  const double rps = static_cast<double>(st.succeeded) / secs;
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  const auto threads1 = bench::thread_snapshot(::getpid());
  auto cpu_s = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  double cpu = cpu_s(ru1) - cpu_s(ru0);
  auto groups = s.writer->stats().groups - groups0;
  if (cpu_us != nullptr)
    *cpu_us = st.succeeded ? cpu * 1e6 / static_cast<double>(st.succeeded) : 0.0;
  std::printf(
      "dispatcher -> %s (signed, attempts logged, %zu in flight): %llu in %.2f s = %.0f "
      "deliveries/s (failed %llu)\n",
      target.c_str(), in_flight, static_cast<unsigned long long>(st.succeeded), secs, rps,
      static_cast<unsigned long long>(st.failed));
  const double n = st.succeeded ? static_cast<double>(st.succeeded) : 1.0;
  auto secs_of = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  std::printf(
      "  this process: %.2f cores, %.1f us CPU per delivery (user %.1f, system %.1f), %.2f "
      "context switches per delivery; %llu rounds, %llu writer groups\n",
      cpu / secs, cpu * 1e6 / n, (secs_of(ru1.ru_utime) - secs_of(ru0.ru_utime)) * 1e6 / n,
      (secs_of(ru1.ru_stime) - secs_of(ru0.ru_stime)) * 1e6 / n,
      static_cast<double>(ru1.ru_nvcsw - ru0.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nivcsw) / n,
      static_cast<unsigned long long>(st.rounds), static_cast<unsigned long long>(groups));
  // By thread (engine/thread_name.hpp; this benchmark's own main thread polls the stats).
  std::printf(
      "  this process by thread, us per delivery: %s\n",
      bench::us_per_unit_by_name(bench::thread_usage_between(threads0, threads1).cpu_s_by_name,
                                 static_cast<double>(st.succeeded))
          .c_str());
  return rps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string receiver =
      (std::filesystem::path(argv[0]).parent_path() / "hooklog-receiver").string();
  std::size_t events = 20000, in_flight = 32;
  std::string nginx = "/usr/sbin/nginx";
  unsigned io_threads = 1;
  int rate = 1000, seconds = 5, sweep_seconds = 5;
  std::vector<int> sweep;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--receiver")
      receiver = v;
    else if (a == "--events")
      events = std::stoul(v);
    else if (a == "--rate")
      rate = std::stoi(v);
    else if (a == "--seconds")
      seconds = std::stoi(v);
    else if (a == "--in-flight")
      in_flight = std::stoul(v);
    else if (a == "--nginx")
      nginx = v;
    else if (a == "--io-threads")
      io_threads = static_cast<unsigned>(std::stoul(v));
    else if (a == "--attempt-linger-us")
      attempt_linger = std::chrono::microseconds(std::stol(v));
    else if (a == "--sweep-seconds")
      sweep_seconds = std::stoi(v);
    else if (a == "--connections") {
      std::stringstream ss(v);
      for (std::string x; std::getline(ss, x, ',');) sweep.push_back(std::stoi(x));
    }
  }
  signal(SIGPIPE, SIG_IGN);
  auto tmp = std::filesystem::temp_directory_path() /
             ("hooklog-bench-delivery-" + std::to_string(getpid()));
  std::filesystem::create_directories(tmp);
  std::string body = "{\"pad\":\"" + std::string(1024 - 10, 'x') + "\"}";

  child rcv = spawn_receiver(receiver);
  const int conns = static_cast<int>(in_flight);
  // wrk, then the dispatcher, against one target: both rates, their ratio (goal 0.5) and the
  // CPU per delivery, as RESULT lines `id` and `cpu_id`.
  // The target's own CPU per request (under wrk) and per delivery is printed too: on this
  // machine the target, the load and the hooklog stack share the cores.
  auto against = [&](pid_t target_pid, unsigned short port, const std::string& id,
                     const std::string& cpu_id, const std::string& target,
                     const std::string& server, const std::string& dir) {
    double wrk_requests = 0;
    const double t0 = cpu_seconds_of(target_pid);
    const double w = run_wrk(port, tmp.string(), body, conns, 5, &wrk_requests);
    const double t1 = cpu_seconds_of(target_pid);
    std::printf("load tool (wrk -t1 -c%d) -> %s: %.0f req/s\n", conns, target.c_str(), w);
    double cpu_us = 0;
    const double d = run_delivery((tmp / dir).string(), port, in_flight, io_threads, events, body,
                                  120, &cpu_us, target);
    const double t2 = cpu_seconds_of(target_pid);
    std::printf("  %s's CPU: %.1f us per request under wrk, %.1f us per delivery\n", target.c_str(),
                wrk_requests > 0 ? (t1 - t0) * 1e6 / wrk_requests : 0.0,
                (t2 - t1) * 1e6 / static_cast<double>(events));
    const double r = w > 0 ? d / w : 0.0;
    std::printf("ratio (%s): %.2f (goal >= 0.50)\n", target.c_str(), r);
    const std::string n = std::to_string(conns) + " in flight";
    bench::print({id, "delivery to " + target + ", signed, attempts logged, " + n, d,
                  "deliveries/s", w,
                  "wrk against the same " + server + ", " + std::to_string(conns) + " connections",
                  ">= 0.5 of limit", r >= 0.5});
    bench::print({cpu_id, "server CPU per delivery to " + target + " (this process, getrusage), " + n,
                  cpu_us, "us/delivery"});
  };
  against(rcv.pid, rcv.port, "delivery_rate", "delivery_cpu", "the receiver", "receiver", "rate");

  if (nginx != "none" && access(nginx.c_str(), X_OK) == 0) {
    child ngx = spawn_nginx(nginx, (tmp / "nginx").string());
    against(ngx.pid, ngx.port, "delivery_nginx", "delivery_nginx_cpu", "nginx answering 204", "nginx",
            "nginx-rate");
    stop_child(ngx);
  } else {
    std::printf("nginx: not run (%s is not installed; tools/install-deps.sh --bench installs it)\n",
                nginx.c_str());
  }

  // The sweep: at each count, wrk and then the dispatcher, each for a bounded time.
  for (std::size_t k = 0; k < sweep.size(); ++k) {
    const int c = sweep[k];
    const double w = run_wrk(rcv.port, tmp.string(), body, c, sweep_seconds);
    const double d =
        run_delivery((tmp / ("sweep" + std::to_string(k))).string(), rcv.port,
                     static_cast<std::size_t>(c), io_threads, events, body, sweep_seconds);
    std::printf("sweep %d connections: wrk %.0f req/s, dispatcher %.0f deliveries/s (%.2f)\n", c, w,
                d, w > 0 ? d / w : 0.0);
    bench::print_sweep("delivery", c, d, w);
  }
  stop_child(rcv);

  if (rate * seconds > 0) {  // --seconds 0 (or --rate 0): no latency phase, no latency figures
    std::mutex mu;
    std::unordered_map<std::string, steady::time_point> arrived;
    http::server_options so;
    so.listen = "127.0.0.1:0";
    so.threads = 1;
    http::http_server srv(so, [&](http::http_request&& req, http::responder r) {
      auto now = steady::now();
      if (auto id = req.header("webhook-id")) {
        std::lock_guard lk(mu);
        arrived.emplace(std::string(*id), now);
      }
      r(http::http_response::json(200, "{}"));
    });
    auto port = srv.start();
    stack s((tmp / "latency").string(), 16, io_threads);
    s.endpoint("http://127.0.0.1:" + std::to_string(*port) + "/", 16);
    s.runner->start();
    s.disp->start();
    std::unordered_map<std::string, steady::time_point> acked;
    std::mutex amu;
    const int total = rate * seconds;
    auto start = steady::now();
    std::atomic<int> pending{0};
    for (int i = 0; i < total; ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(1'000'000LL * i / rate));
      std::vector<record> one;
      one.push_back(s.event(body));
      ++pending;
      s.writer->submit(std::move(one), [&](log_writer::outcomes&& o) {
        auto now = steady::now();
        if (!o.empty() && o[0]) {
          std::lock_guard lk(amu);
          acked.emplace(event_id_for(o[0]->seq), now);
        }
        --pending;
      });
    }
    auto deadline = steady::now() + std::chrono::seconds(10);
    while (steady::now() < deadline) {
      std::size_t n;
      {
        std::lock_guard lk(mu);
        n = arrived.size();
      }
      if (n >= static_cast<std::size_t>(total) && pending == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<double> lat;
    {
      std::lock_guard lk(mu);
      std::lock_guard lk2(amu);
      for (auto& [id, t] : acked)
        if (auto f = arrived.find(id); f != arrived.end())
          lat.push_back(std::chrono::duration<double, std::milli>(f->second - t).count());
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
      return lat.empty() ? 0.0
                         : lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * lat.size()))];
    };
    std::printf(
        "ingest ack -> arrival at %d events/s for %d s: %zu/%d arrived, p50 %.2f ms, p99 %.2f ms, "
        "max %.2f ms (goal p99 < 50 ms)\n",
        rate, seconds, lat.size(), total, pct(0.50), pct(0.99), lat.empty() ? 0.0 : lat.back());
    const std::string at = " at " + std::to_string(rate) + " events/s";
    bench::print({"delivery_latency_p50", "ingest ack to arrival, p50" + at, pct(0.50), "ms"});
    bench::print({"delivery_latency_p99", "ingest ack to arrival, p99" + at, pct(0.99), "ms",
                  std::nullopt, "-", "< 50, every event arrived",
                  pct(0.99) < 50 && lat.size() == static_cast<std::size_t>(total)});
    s.disp->stop();
    srv.stop();
  }
  std::filesystem::remove_all(tmp);
  return 0;
}
