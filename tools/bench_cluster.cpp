// hooklog-bench-cluster: what cluster mode costs, each figure beside its comparison measured in
// the same run, on loopback (issue 14). On a small machine absolute cluster throughput means
// little; these figures carry over to bigger ones:
//
//   1. server CPU per event (/proc/<pid>/stat utime + stime around the load) of the same NDJSON
//      batch load: a single-node `hooklog serve` beside the node of a 3-node cell the load goes
//      through (3 nats-servers, replicas 3), the other two nodes (they only materialize) and the
//      three nats-servers;
//   2. publish-to-materialized lag, p50 and p99 of sampled events: from node A's acknowledgement
//      (202, the record is in the stream) to node B's answer to GET /v1/events?limit=1&min_seq=S
//      sent right after it (min_seq waits server-side until B applied S, so the figure is
//      the lag plus one loopback round trip to B);
//   3. failover: kill -9 of the node holding an endpoint's slot to the first delivery of that
//      endpoint at a hooklog-receiver (its received_at), made by the successor, beside the
//      lease TTL in use (--lease-ttl-ms; the default is 5000 ms);
//   4. catch-up of a wiped node: the killed node restarted on an empty data directory, events/s
//      until it applied the stream's head (counted from its start), beside a plain libnats
//      ordered push consumer (the kind the materializer uses) reading the same stream.
//
//   hooklog-bench-cluster [--events N] [--batch-size N] [--lag-samples N] [--lease-ttl-ms MS]
//                         [--hooklog PATH] [--receiver PATH]
//
// Prints RESULT lines (tools/bench_result.hpp) beside the human output. Exit 1 when a step fails.
#include <signal.h>
#include <unistd.h>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_result.hpp"
#include "engine/cluster/nats.hpp"
#include "engine/time_util.hpp"
#include "http/delivery/client.hpp"
#include "http/delivery/cluster/slot_leases.hpp"
#include "support/nats_cluster.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using hooklog::test::child_process;
using nlohmann::json;
using clk = std::chrono::steady_clock;
using namespace hooklog;

namespace {

constexpr const char* kAdminKey = "bench-admin-key-0123456789abcdef";
constexpr const char* kSecretKey =
    "8f3c0a9b1d2e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdd0";
constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kCell = "bench";

struct options {
  int events = 20000, batch_size = 500, lag_samples = 200, lease_ttl_ms = 2000;
  std::string hooklog, receiver;
};

double ms_since(clk::time_point t) {
  return std::chrono::duration<double, std::milli>(clk::now() - t).count();
}

// A `hooklog serve` process and a keep-alive client to it.
struct node {
  std::string data, log;
  std::vector<std::string> extra;
  std::string program;
  std::unique_ptr<child_process> proc;
  std::unique_ptr<http::http_client> client;
  unsigned short port = 0;

  node() = default;
  node(std::string data, std::string log, std::vector<std::string> extra, std::string program)
      : data(std::move(data)),
        log(std::move(log)),
        extra(std::move(extra)),
        program(std::move(program)) {}

  void start() {
    std::vector<std::string> args = {"serve", "--listen",    "127.0.0.1:0", "--data",
                                     data,    "--admin-key", kAdminKey};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(program, args, std::vector<std::string>{}, log);
    auto a = proc->wait_listening(std::chrono::seconds(60));
    if (!a) throw std::runtime_error("hooklog serve did not start; its log: " + log);
    port = a->port;
    client = std::make_unique<http::http_client>("127.0.0.1", port);
  }
  void kill_hard() {
    client.reset();
    ::kill(proc->pid(), SIGKILL);
    proc->wait_exit(std::chrono::seconds(10));
  }
  long pid() const { return proc->pid(); }
  http::client_response call(const std::string& method, const std::string& target,
                             const std::string& body = "",
                             const std::string& type = "application/json") {
    http::header_list h{{"Authorization", std::string("Bearer ") + kAdminKey}};
    if (!body.empty()) h.emplace_back("Content-Type", type);
    auto r = client->request(method, target, body, h);
    if (!r) {  // a closed keep-alive connection: one more try on a fresh one
      client = std::make_unique<http::http_client>("127.0.0.1", port);
      r = client->request(method, target, body, h);
    }
    if (!r) throw std::runtime_error(method + " " + target + ": " + r.err().what());
    return std::move(*r);
  }
  // Waits (bounded) until this node applied `seq`.
  bool applied(std::uint64_t seq, std::chrono::seconds timeout = std::chrono::seconds(120)) {
    const auto end = clk::now() + timeout;
    while (clk::now() < end) {
      try {
        if (call("GET", "/v1/events?limit=1&min_seq=" + std::to_string(seq)).status == 200)
          return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
};

std::string event_line(const std::string& id, const std::string& type, int entity) {
  return json{{"id", id},
              {"type", type},
              {"timestamp", "2024-05-01T12:00:00Z"},
              {"tenant", "t1"},
              {"entity", {{"kind", "order"}, {"id", "ord-" + std::to_string(entity)}}},
              {"data", {{"amount", 1250}, {"currency", "EUR"}, {"note", std::string(700, 'x')}}}}
      // about 1 KiB per event
      .dump();
}

// The largest "seq" anywhere in a JSON answer (a batch answer lists one per event).
std::uint64_t max_seq(const json& j) {
  std::uint64_t m = 0;
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "seq" && v.is_number_unsigned()) m = std::max(m, v.get<std::uint64_t>());
      m = std::max(m, max_seq(v));
    }
  } else if (j.is_array()) {
    for (auto& v : j) m = std::max(m, max_seq(v));
  }
  return m;
}

struct load_run {
  double seconds = 0;
  std::uint64_t last_seq = 0;
  int retries = 0;
};

// `events` events in NDJSON batches over one keep-alive connection, each batch again on 503.
load_run load(node& n, const std::string& tag, int events, int batch_size) {
  load_run out;
  const auto t0 = clk::now();
  for (int done = 0; done < events;) {
    const int k = std::min(batch_size, events - done);
    std::string body;
    for (int i = 0; i < k; ++i)
      body += event_line(tag + "-" + std::to_string(done + i), "order.updated", (done + i) % 1000) +
              "\n";
    for (int attempt = 0;; ++attempt) {
      auto r = n.call("POST", "/v1/sources/standard/events:batch", body, "application/x-ndjson");
      if (r.status == 200 || r.status == 202 || r.status == 207) {
        out.last_seq = std::max(out.last_seq, max_seq(json::parse(r.body, nullptr, false)));
        break;
      }
      if (r.status != 503 || attempt > 50)
        throw std::runtime_error("batch answered " + std::to_string(r.status) + ": " +
                                 r.body.substr(0, 300));
      ++out.retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    done += k;
  }
  out.seconds = std::chrono::duration<double>(clk::now() - t0).count();
  return out;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * v.size()))];
}

// Reads every message of the cell's stream with a plain consumer: the rate a
// node's catch-up is compared with. Returns messages/s, NAN on failure.
double raw_stream_read(const std::string& urls, std::uint64_t messages) {
  auto list = cluster::parse_urls(urls);
  if (!list) return NAN;
  cluster::connect_options co;
  co.urls = *list;
  co.name = "hooklog-bench-raw-read";
  auto conn = cluster::connection::connect(co);
  if (!conn) {
    std::fprintf(stderr, "raw read: %s\n", conn.err().what().c_str());
    return NAN;
  }
  auto js = cluster::jetstream::open(**conn);
  if (!js) {
    std::fprintf(stderr, "raw read: %s\n", js.err().what().c_str());
    return NAN;
  }
  const std::string subject = cluster::stream_subject(kCell);
  // The kind of consumer the materializer uses: ordered push (ephemeral, no acks, flow control).
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverAll;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsSubscription* sub = nullptr;
  double rate = NAN;
  const auto t0 = clk::now();
  if (js_SubscribeSync(&sub, (*js)->handle(), subject.c_str(), nullptr, &so, &jerr) != NATS_OK) {
    std::fprintf(stderr, "raw read: subscribe: %s (%d)\n", nats_GetLastError(nullptr),
                 static_cast<int>(jerr));
    return NAN;
  }
  std::uint64_t got = 0;
  while (got < messages) {
    natsMsg* m = nullptr;
    const natsStatus st = natsSubscription_NextMsg(&m, sub, 5000);
    if (st != NATS_OK) {
      std::fprintf(stderr, "raw read: next message after %llu of %llu: %s\n",
                   (unsigned long long)got, (unsigned long long)messages, natsStatus_GetText(st));
      break;
    }
    ++got;
    natsMsg_Destroy(m);
  }
  const double s = std::chrono::duration<double>(clk::now() - t0).count();
  if (got >= messages) rate = static_cast<double>(got) / s;
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return rate;
}

std::string exe_dir() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).parent_path().string();
}

struct cpu_probe {
  std::vector<long> pids;
  std::vector<double> before;
  explicit cpu_probe(std::vector<long> p) : pids(std::move(p)) {
    for (long pid : pids) before.push_back(bench::process_cpu_seconds(pid));
  }
  // Microseconds of CPU per event of process i since construction.
  double us_per_event(std::size_t i, int events) const {
    return (bench::process_cpu_seconds(pids[i]) - before[i]) * 1e6 / events;
  }
};

int run(const options& o) {
  int rc = 0;
  hooklog::test::temp_dir tmp;
  std::printf(
      "# hooklog-bench-cluster: %d events of ~1 KiB in NDJSON batches of %d over one "
      "keep-alive connection, %u cores, load average %s\n",
      o.events, o.batch_size, std::thread::hardware_concurrency(), bench::load_avg().c_str());

  // ---- 1a: single node ------------------------------------------------------------------
  double single_us = NAN, single_rate = NAN;
  {
    node s((tmp / "single").string(), (tmp / "single.log").string(), {}, o.hooklog);
    s.start();
    load(s, "warm", std::min(2000, o.events), o.batch_size);
    cpu_probe p({s.pid()});
    auto r = load(s, "s", o.events, o.batch_size);
    single_us = p.us_per_event(0, o.events);
    single_rate = o.events / r.seconds;
    s.proc->stop();
  }
  std::printf("single node: %.1f us CPU/event, %.0f events/s\n", single_us, single_rate);

  // ---- 1b: a 3-node cell ------------------------------------------------------------------
  hooklog::test::nats_cluster nats(3, std::chrono::seconds(60), "hooklog-bench");
  std::vector<node> nodes(3);
  for (int i = 0; i < 3; ++i) {
    const std::string id = "n" + std::to_string(i);
    nodes[i] = node{(tmp / id).string(),
                    (tmp / (id + ".log")).string(),
                    {"--cluster", nats.urls(), "--cell", kCell, "--node-id", id, "--secret-key",
                     kSecretKey, "--cluster-replicas", "3", "--lease-ttl-ms",
                     std::to_string(o.lease_ttl_ms), "--allow-private-targets"},
                    o.hooklog};
    nodes[i].start();
  }
  auto w = load(nodes[0], "warm", std::min(2000, o.events), o.batch_size);
  for (auto& n : nodes)
    if (!n.applied(w.last_seq)) throw std::runtime_error("warm-up not materialized");
  std::vector<long> pids{nodes[0].pid(), nodes[1].pid(), nodes[2].pid(),
                         nats.pid(0),    nats.pid(1),    nats.pid(2)};
  cpu_probe p(pids);
  const auto t_load = clk::now();
  auto r = load(nodes[0], "c", o.events, o.batch_size);
  const double ingest_s = r.seconds;
  for (auto& n : nodes)
    if (!n.applied(r.last_seq)) throw std::runtime_error("load not materialized");
  const double all_applied_s = ms_since(t_load) / 1000;
  std::vector<double> us(pids.size());
  for (std::size_t i = 0; i < pids.size(); ++i) us[i] = p.us_per_event(i, o.events);
  const double nats_us = us[3] + us[4] + us[5];
  std::printf(
      "cell node A (load): %.1f us/event; B, C (materialize only): %.1f, %.1f us/event; "
      "nats-servers: %.1f + %.1f + %.1f = %.1f us/event; %.0f events/s acknowledged, all "
      "three applied after %.2f s; %d retries\n",
      us[0], us[1], us[2], us[3], us[4], us[5], nats_us, o.events / ingest_s, all_applied_s,
      r.retries);
  bench::print({"cluster_cpu_ingest_node", "server CPU per event, cell node taking the load", us[0],
                "us/event", single_us, "single-node serve, same load"});
  bench::print({"cluster_cpu_materialize_node",
                "server CPU per event, cell node only materializing (mean of 2)",
                (us[1] + us[2]) / 2, "us/event", single_us, "single-node serve, same load"});
  bench::print({"cluster_cpu_nats", "nats-server CPU per event, 3 servers, replicas 3", nats_us,
                "us/event", single_us, "single-node serve, same load"});
  bench::print({"cluster_cpu_cell_total", "CPU per event, whole cell (3 nodes + 3 nats)",
                us[0] + us[1] + us[2] + nats_us, "us/event", single_us,
                "single-node serve, same load"});
  bench::print({"cluster_ingest_rate", "cell batch ingest through one node, 1 connection",
                o.events / ingest_s, "events/s", single_rate, "single-node serve, same load"});

  // ---- 2: publish-to-materialized lag ----------------------------------------------------
  std::vector<double> lag, rtt;
  for (int k = 0; k < o.lag_samples; ++k) {
    const auto t0 = clk::now();
    auto a = nodes[0].call("POST", "/v1/sources/standard/events",
                           event_line("lag-" + std::to_string(k), "order.updated", k));
    if (a.status != 202) {
      std::fprintf(stderr, "lag sample answered %u\n", a.status);
      rc = 1;
      continue;
    }
    const auto t_ack = clk::now();
    const auto seq = max_seq(json::parse(a.body));
    auto b = nodes[1].call("GET", "/v1/events?limit=1&min_seq=" + std::to_string(seq));
    if (b.status != 200) {
      rc = 1;
      continue;
    }
    lag.push_back(ms_since(t_ack));
    rtt.push_back(std::chrono::duration<double, std::milli>(t_ack - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::printf(
      "lag A ack -> B answers min_seq (%zu samples): p50 %.2f ms, p99 %.2f ms; A's ingest "
      "answer itself: p50 %.2f ms, p99 %.2f ms\n",
      lag.size(), pct(lag, 50), pct(lag, 99), pct(rtt, 50), pct(rtt, 99));
  bench::print({"cluster_lag_p50", "publish-to-materialized lag p50 (A ack -> B min_seq answer)",
                pct(lag, 50), "ms", pct(rtt, 50), "A's single-event ingest answer p50"});
  bench::print({"cluster_lag_p99", "publish-to-materialized lag p99 (A ack -> B min_seq answer)",
                pct(lag, 99), "ms", pct(rtt, 99), "A's single-event ingest answer p99"});

  // ---- 3: failover ----------------------------------------------------------------------
  const std::string rx_out = (tmp / "rx.ndjson").string();
  child_process rx(o.receiver,
                   {"--listen", "127.0.0.1:0", "--secret", kWebhookSecret, "--out", rx_out});
  auto rx_addr = rx.wait_listening();
  if (!rx_addr) throw std::runtime_error("hooklog-receiver did not start");
  auto ep = nodes[0].call("POST", "/v1/endpoints",
                          json{{"url", "http://127.0.0.1:" + std::to_string(rx_addr->port) + "/h"},
                               {"tenant", "t1"},
                               {"secret", kWebhookSecret},
                               {"events", {"fo.*"}}}
                              .dump());
  if (ep.status != 201) throw std::runtime_error("endpoint: " + ep.body);
  const std::string ep_id = json::parse(ep.body)["id"].get<std::string>();
  const auto slot = cluster::slot_leases::slot_of(ep_id, 64);
  auto holder_of = [&](const std::set<int>& which) {
    for (int i : which) {
      auto h = nodes[i].call("GET", "/healthz");
      auto j = json::parse(h.body, nullptr, false);
      if (h.status == 200 && j.contains("slots"))
        for (auto& s : j["slots"]["held"])
          if (s.get<std::uint32_t>() == slot) return i;
    }
    return -1;
  };
  auto delivered = [&](const std::string& id) -> std::optional<std::int64_t> {
    for (auto& l : hooklog::test::read_ndjson(rx_out))
      if (l.value("webhook_id", "") == id)
        return parse_rfc3339(l["received_at"].get<std::string>()).value_or(-1);
    return std::nullopt;
  };
  auto wait_delivered = [&](const std::string& id) -> std::optional<std::int64_t> {
    const auto end = clk::now() + std::chrono::seconds(60);
    while (clk::now() < end) {
      if (auto at = delivered(id)) return at;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return std::nullopt;
  };
  auto ingest_fo = [&](node& n, const std::string& id) {
    auto a = n.call("POST", "/v1/sources/standard/events", event_line(id, "fo.created", 1));
    if (a.status != 202) throw std::runtime_error("failover event: " + a.body);
    return json::parse(a.body)["id"].get<std::string>();
  };
  // One delivery before the kill: the endpoint is known to every node and its slot is held.
  int victim = -1;
  for (int k = 0; k < 300 && victim < 0; ++k) {
    victim = holder_of({0, 1, 2});
    if (victim < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (victim < 0) throw std::runtime_error("no node holds the endpoint's slot");
  const int survivor = victim == 0 ? 1 : 0;
  if (!wait_delivered(ingest_fo(nodes[survivor], "fo-before")))
    throw std::runtime_error("no delivery before the kill");
  const std::int64_t kill_us = now_micros();
  nodes[victim].kill_hard();
  const std::string after_id = ingest_fo(nodes[survivor], "fo-after");
  auto at = wait_delivered(after_id);
  double failover_ms = NAN;
  if (at && *at > 0)
    failover_ms = static_cast<double>(*at - kill_us) / 1000.0;
  else
    rc = 1;
  std::printf(
      "failover: kill -9 of node n%d (holder of slot %u) -> first delivery by its "
      "successor after %.0f ms; lease TTL %d ms (default 5000 ms)\n",
      victim, slot, failover_ms, o.lease_ttl_ms);
  bench::print({"cluster_failover", "kill -9 of the slot holder -> first delivery by successor",
                failover_ms, "ms", static_cast<double>(o.lease_ttl_ms),
                "lease TTL in use (--lease-ttl-ms; default 5000)"});

  // ---- 4: catch-up of a wiped node ------------------------------------------------------
  // The stream's head: one more event's seq (in cluster mode an event's seq is its stream seq).
  const std::uint64_t head = max_seq(
      json::parse(nodes[survivor]
                      .call("POST", "/v1/sources/standard/events", event_line("head", "x.y", 1))
                      .body));
  fs::remove_all(nodes[victim].data);
  const auto t_start = clk::now();
  nodes[victim].start();
  const double listening_ms = ms_since(t_start);
  const bool caught = nodes[victim].applied(head, std::chrono::seconds(300));
  const double catchup_s = ms_since(t_start) / 1000;
  const double catchup_rate = caught ? head / catchup_s : NAN;
  if (!caught) rc = 1;
  const double raw_rate = raw_stream_read(nats.urls(), head);
  std::printf(
      "catch-up: wiped node n%d applied %llu stream records in %.2f s from its start "
      "(listening after %.0f ms): %.0f records/s; a plain libnats ordered consumer reads "
      "the stream at %.0f msgs/s\n",
      victim, (unsigned long long)head, catchup_s, listening_ms, catchup_rate, raw_rate);
  bench::print({"cluster_catchup", "wiped node catch-up to the stream head (from its start)",
                catchup_rate, "events/s", raw_rate, "plain libnats ordered consumer, same stream"});

  rx.stop();
  for (auto& n : nodes)
    if (n.proc && n.proc->running()) n.proc->stop(std::chrono::seconds(20));
  std::printf("# load average at the end: %s\n", bench::load_avg().c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  o.hooklog = exe_dir() + "/hooklog";
  o.receiver = exe_dir() + "/hooklog-receiver";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--events")
      o.events = std::atoi(v.c_str());
    else if (f == "--batch-size")
      o.batch_size = std::atoi(v.c_str());
    else if (f == "--lag-samples")
      o.lag_samples = std::atoi(v.c_str());
    else if (f == "--lease-ttl-ms")
      o.lease_ttl_ms = std::atoi(v.c_str());
    else if (f == "--hooklog")
      o.hooklog = v;
    else if (f == "--receiver")
      o.receiver = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  if (o.events < 1 || o.batch_size < 1 || o.lag_samples < 1 || o.lease_ttl_ms < 1500) {
    std::fprintf(stderr, "bad flag values (events, batch size, samples >= 1; lease >= 1500)\n");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hooklog-bench-cluster: %s\n", e.what());
    return 1;
  }
}
