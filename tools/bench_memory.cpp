// hooklog-bench-memory: peak RSS of the real `hooklog serve` on large logs, and its start-up time.
//
//   hooklog-bench-memory [--hooklog PATH] [--dir DIR] [--events 1000000,5000000]
//                        [--pending 1000000] [--keep]
//
// 1. The limit: `hooklog serve` on an empty data directory (peak RSS, time to /readyz 200).
// 2. A log of the first --events count, built in this process through the engine (event_log
//    appends of 10,000 records per transaction, fsync off: only the server is measured), from the
//    samples in data/samples (each normalized once by its source; every copy gets its own
//    idempotency key, one of 100,000 entity ids per sample and its own occurred time; bodies are
//    the samples byte for byte). The server starts on it (projections empty: it catches up),
//    answers a few queries, and is stopped. Then the log grows to each next count and the server
//    starts again (catching up the new part), and once more with the projections caught up: the
//    start-up time on the largest log.
// 3. Pending deliveries: a fresh data directory, an endpoint subscribed to every event created
//    through the API, pointing at a closed loopback port, limited to 1 delivery/s (a receiver that
//    is down); --pending events in its tenant; the server catches up, every event becomes a
//    pending delivery the dispatcher cannot drain; the count is read back from the projection.
// Measured for each start: time until "listening on" is printed, until /readyz answers 200 (the
// server calls itself ready when the projection lag is under 100,000 records), and until the lag
// is 0; peak RSS (VmHWM from /proc/PID/status, which counts the LMDB map's pages the process
// touched) and the peak anonymous RSS (RssAnon sampled every 50 ms and once more after the
// start's requests, before the stop, so that a start faster than the period is sampled after its
// allocations too: heap and stacks). Limits:
// the data directory's size on disk beside VmHWM, the empty server's anonymous RSS beside the
// anonymous peak, the empty server's start-up beside the start-up on the largest log.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_result.hpp"
#include "engine/event_log.hpp"
#include "engine/source.hpp"
#include "hooklog_build_paths.hpp"
#include "http/delivery/client.hpp"
#include "projections/runner.hpp"
#include "support/process.hpp"

using namespace hooklog;
using clk = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const char* kAdminKey = "bench-admin-key-0123456789abcdef";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_memory: %s\n", what.c_str());
  std::exit(1);
}

double secs_since(clk::time_point t) {
  return std::chrono::duration<double>(clk::now() - t).count();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every sample of data/samples, normalized once: the records the log is built from.
std::vector<record> sample_records(const std::string& forced_tenant) {
  auto sources = source_registry::load_dir(std::string(HOOKLOG_DATA_DIR) + "/sources");
  if (!sources) die(sources.err().what());
  std::vector<fs::path> files;
  for (const auto& dir : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/samples"))
    for (const auto& f : fs::directory_iterator(dir.path())) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  std::vector<record> out;
  for (const auto& f : files) {
    const std::string source = f.parent_path().filename().string(), body = read_file(f);
    // "order_update--assign_driver.json" -> type hint "order_update:assign_driver"
    const std::string stem = f.stem().string();
    std::string hint;
    for (std::size_t i = 0; i < stem.size(); ++i) {
      if (stem.compare(i, 2, "--") == 0)
        hint += ':', ++i;
      else
        hint += stem[i];
    }
    ingest_input in;
    in.source = source;
    in.body = body;
    in.type_hint = hint;
    in.tenant = forced_tenant;
    auto ev = sources->normalize(in);
    if (!ev) continue;
    ev->test_mode = false;  // live, as the endpoint
    out.push_back(source_registry::to_record(*ev, body));
  }
  if (out.empty()) die("no sample could be normalized");
  return out;
}

// Appends events [from, to) built from the samples to the log in `data` (fsync off).
void build_log(const std::string& data, std::uint64_t from, std::uint64_t to,
               const std::vector<record>& samples) {
  auto log = event_log::open({.dir = data, .sync = false});
  if (!log) die(log.err().what());
  const std::int64_t t0 = 1'714'560'000'000'000;  // 2024-05-01, µs
  std::vector<record> batch;
  for (std::uint64_t i = from; i < to; ++i) {
    record r = samples[i % samples.size()];
    r.idempotency_key = "bench-" + std::to_string(i);
    if (!r.entity_id.empty()) r.entity_id += "-" + std::to_string(i / samples.size() % 100'000);
    r.occurred_at = t0 + static_cast<std::int64_t>(i) * 1000;
    batch.push_back(std::move(r));
    if (batch.size() == 10'000 || i + 1 == to) {
      for (auto& o : (*log)->append(batch))
        if (!o) die(o.err().what());
      batch.clear();
    }
  }
}

std::uint64_t dir_bytes(const fs::path& p) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(p))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// kB fields of /proc/PID/status ("VmHWM", "RssAnon", ...), in MiB; -1 when unreadable.
double status_mib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024;
  return -1;
}

// A loopback port nothing listens on (bound, then closed).
unsigned short closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("cannot find a free loopback port");
  ::close(fd);
  return ntohs(a.sin_port);
}

const http::header_list& admin() {
  static const http::header_list h{{"Authorization", std::string("Bearer ") + kAdminKey}};
  return h;
}

struct serve_figures {
  double listen_s = 0, ready_s = 0, caught_up_s = 0;
  double hwm_mib = 0, anon_peak_mib = 0, rss_end_mib = 0;
};

// One start of `hooklog serve` on `data`: times, queries, memory. `during` runs once the server
// has caught up (queries, endpoint creation), with a client connected to it.
serve_figures serve(const std::string& hooklog, const std::string& data, const std::string& what,
                    const std::vector<std::string>& extra,
                    const std::function<void(http::http_client&, pid_t)>& during) {
  std::vector<std::string> args{"serve", "--listen",    "127.0.0.1:0", "--data",
                                data,    "--admin-key", kAdminKey};
  args.insert(args.end(), extra.begin(), extra.end());
  serve_figures f;
  const auto t0 = clk::now();
  test::child_process server(hooklog, args);
  const pid_t pid = server.pid();
  std::atomic<bool> stop{false};
  std::atomic<double> anon_peak{0};
  std::thread sampler([&] {
    while (!stop) {
      anon_peak = std::max(anon_peak.load(), status_mib(pid, "RssAnon"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto addr = server.wait_listening(std::chrono::minutes(15));
  if (!addr) die("hooklog serve did not print its listening line (" + what + ")");
  f.listen_s = secs_since(t0);
  http::http_client cl(addr->host, addr->port);
  for (const auto deadline = t0 + std::chrono::minutes(20);;) {
    auto r = cl.get("/readyz");
    if (r && r->status == 200 && f.ready_s == 0) f.ready_s = secs_since(t0);
    if (r && r->status == 200 && nlohmann::json::parse(r->body).value("projection_lag", 1) == 0) {
      f.caught_up_s = secs_since(t0);
      break;
    }
    if (clk::now() > deadline) die("no catch-up within 20 minutes (" + what + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  during(cl, pid);
  f.hwm_mib = status_mib(pid, "VmHWM");
  f.rss_end_mib = status_mib(pid, "VmRSS");
  stop = true;
  sampler.join();
  f.anon_peak_mib = std::max(anon_peak.load(), status_mib(pid, "RssAnon"));
  const int st = server.stop(std::chrono::seconds(60));
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) die("hooklog serve did not exit cleanly");
  std::printf(
      "%-52s listening %6.2f s, /readyz 200 %6.2f s, lag 0 %6.2f s | peak RSS %7.1f MiB, "
      "peak anon %7.1f MiB, RSS at the end %7.1f MiB | load %s\n",
      what.c_str(), f.listen_s, f.ready_s, f.caught_up_s, f.hwm_mib, f.anon_peak_mib, f.rss_end_mib,
      bench::load_avg().c_str());
  std::fflush(stdout);
  return f;
}

// A few reads a user would make, each timed: the audit head, the first page of events, a type
// glob, one event's detail from the middle of the log, one entity's timeline.
void queries(http::http_client& cl, const record& sample) {
  auto head = cl.get("/v1/audit/head", admin());
  if (!head || head->status != 200) die("GET /v1/audit/head failed");
  const auto seq = nlohmann::json::parse(head->body).value("seq", std::uint64_t{1});
  const std::vector<std::string> targets{
      "/v1/events", "/v1/events?type=order_*", "/v1/events/" + event_id_for(seq / 2),
      "/v1/entities/" + sample.entity_kind + "/" + sample.entity_id +
          "-7/timeline?tenant=" + sample.tenant};
  std::printf("  queries:");
  for (const auto& t : targets) {
    const auto q0 = clk::now();
    auto r = cl.get(t, admin());
    std::printf(" %s %u in %.1f ms;", t.c_str(), r ? r->status : 0u, secs_since(q0) * 1000);
  }
  std::printf("\n");
}

std::string count_name(std::uint64_t n) {
  if (n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n % 1'000 == 0) return std::to_string(n / 1'000) + "k";
  return std::to_string(n);
}

// RESULT lines of one start: peak RSS beside the data on disk, peak anonymous RSS beside the
// empty server's.
void print_memory(const std::string& id, const std::string& what, const serve_figures& f,
                  double disk_mib, const serve_figures& empty) {
  bench::print({"rss_" + id, "peak RSS (VmHWM), " + what, f.hwm_mib, "MiB", disk_mib,
                "data directory on disk"});
  bench::print({"anon_" + id, "peak anonymous RSS, " + what, f.anon_peak_mib, "MiB",
                empty.anon_peak_mib, "hooklog serve on an empty data directory"});
}

}  // namespace

int main(int argc, char** argv) {
  std::string hooklog = (fs::absolute(fs::path(argv[0])).parent_path() / "hooklog").string();
  std::string root = fs::temp_directory_path().string();
  std::vector<std::uint64_t> counts{1'000'000, 5'000'000};
  std::uint64_t pending = 1'000'000;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keep")
      keep = true;
    else if (i + 1 >= argc)
      die("usage: see the comment at the top of bench_memory.cpp");
    else if (a == "--hooklog")
      hooklog = argv[++i];
    else if (a == "--dir")
      root = argv[++i];
    else if (a == "--pending")
      pending = std::stoull(argv[++i]);
    else if (a == "--events") {
      counts.clear();
      std::stringstream ss(argv[++i]);
      for (std::string x; std::getline(ss, x, ',');) counts.push_back(std::stoull(x));
    } else
      die("unknown flag " + a);
  }
  signal(SIGPIPE, SIG_IGN);
  const fs::path tmp = fs::path(root) / ("hooklog-bench-memory-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  std::printf("# hooklog-bench-memory: %s serve, data under %s, load average %s\n", hooklog.c_str(),
              tmp.c_str(), bench::load_avg().c_str());
  auto none = [](http::http_client&, pid_t) {};

  // 1. The empty server.
  const auto empty = serve(hooklog, (tmp / "empty").string(), "empty data directory", {}, none);
  bench::print({"rss_empty", "peak RSS (VmHWM), hooklog serve on an empty data directory",
                empty.hwm_mib, "MiB"});

  // 2. The log at each count.
  const auto samples = sample_records("");
  const std::string data = (tmp / "events").string();
  std::uint64_t built = 0;
  serve_figures last;
  double last_disk = 0;
  for (std::uint64_t n : counts) {
    const auto t = clk::now();
    build_log(data, built, n, samples);
    const double disk = static_cast<double>(dir_bytes(data)) / (1 << 20);
    std::printf("built the log to %llu events (%zu distinct samples) in %.1f s: %.0f MiB on disk\n",
                static_cast<unsigned long long>(n), samples.size(), secs_since(t), disk);
    const std::string what =
        count_name(n) + " events, first start (catch-up of " + count_name(n - built) + ")";
    last = serve(hooklog, data, what, {},
                 [&](http::http_client& cl, pid_t) { queries(cl, samples[0]); });
    built = n;
    last_disk = disk;
    print_memory(count_name(n), count_name(n) + " events in the log", last, disk, empty);
    bench::print({"catchup_" + count_name(n),
                  "start with " + count_name(n) + " events, projections behind: time to lag 0",
                  last.caught_up_s, "s"});
  }
  // Start-up on the largest log with the projections caught up (a plain restart).
  const auto restart = serve(hooklog, data, count_name(built) + " events, restart (caught up)", {},
                             [&](http::http_client& cl, pid_t) { queries(cl, samples[0]); });
  bench::print({"startup_" + count_name(built),
                "start-up on the largest log (" + count_name(built) +
                    " events, caught up): time to /readyz 200",
                restart.ready_s, "s", empty.ready_s, "the same on an empty data directory"});
  print_memory(count_name(built) + "_restart", count_name(built) + " events, restart", restart,
               last_disk, empty);
  if (!keep) fs::remove_all(data);

  // 3. Pending deliveries.
  if (pending > 0) {
    const std::string pdata = (tmp / "pending").string();
    const std::vector<std::string> allow{"--allow-private-targets"};
    std::string endpoint_id;
    serve(hooklog, pdata, "pending: endpoint creation", allow, [&](http::http_client& cl, pid_t) {
      const nlohmann::json ep = {
          {"url", "http://127.0.0.1:" + std::to_string(closed_port()) + "/down"},
          {"events", {"*"}},
          {"tenant", "acme"},
          {"rate_limit", 1}};
      auto r = cl.post("/v1/endpoints", ep.dump(), admin());
      if (!r || r->status != 201) die("POST /v1/endpoints: " + (r ? r->body : r.err().what()));
      endpoint_id = nlohmann::json::parse(r->body).at("id");
    });
    const auto t = clk::now();
    const auto acme = sample_records("acme");
    build_log(pdata, 0, pending, acme);
    const double disk = static_cast<double>(dir_bytes(pdata)) / (1 << 20);
    std::printf("built %llu events for tenant acme in %.1f s: %.0f MiB on disk\n",
                static_cast<unsigned long long>(pending), secs_since(t), disk);
    const std::string what = count_name(pending) + " pending deliveries";
    // Caught up, the server holds the backlog for a while: the CPU it spends on it (the
    // dispatcher may send 1 delivery/s, which fails) and the memory after it.
    double idle_cores = 0;
    const double hold_s = 10;
    const auto p =
        serve(hooklog, pdata, what + ", first start", allow, [&](http::http_client& cl, pid_t pid) {
          queries(cl, acme[0]);
          const double cpu0 = bench::process_cpu_seconds(pid);
          std::this_thread::sleep_for(std::chrono::duration<double>(hold_s));
          idle_cores = (bench::process_cpu_seconds(pid) - cpu0) / hold_s;
        });
    std::printf("  CPU of the server holding the backlog for %.0f s after catch-up: %.3f cores\n",
                hold_s, idle_cores);
    // The count, read back from the pending projection with the server stopped.
    std::uint64_t queued = 0;
    {
      auto log = event_log::open({.dir = pdata, .read_only = true});
      if (!log) die(log.err().what());
      projections::runner_options ro;
      ro.state_dir = pdata + "/state";
      auto runner = projections::projection_runner::open(**log, ro);
      if (!runner) die(runner.err().what());
      auto txn = (*runner)->store().begin_read();
      if (auto c = (*runner)->queue().counts(*txn, endpoint_id)) queued = c->queued + c->parked;
    }
    std::printf("  pending deliveries of %s after the run: %llu\n", endpoint_id.c_str(),
                static_cast<unsigned long long>(queued));
    print_memory("pending_" + count_name(pending), what, p, disk, empty);
    bench::print({"cpu_pending_" + count_name(pending),
                  "CPU of the server holding " + what + " (receiver down, 1 delivery/s), 10 s",
                  idle_cores, "cores"});
    if (!keep) fs::remove_all(pdata);
  }
  if (!keep) fs::remove_all(tmp);
  return 0;
}
