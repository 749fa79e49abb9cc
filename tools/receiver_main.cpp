// hooklog-receiver: a webhook receiver for tests and benchmarks.
//
//   hooklog-receiver [--listen HOST:PORT] [--secret whsec_...]... [--status-mix "200:90,500:10"]
//                    [--delay-ms N] [--out FILE] [--max-requests N] [--threads N]
//                    [--tolerance-s N] [--body-limit BYTES] [--tls-cert PEM --tls-key PEM]
//
// Prints "listening on HOST:PORT" as its first stdout line. Every request, on any path, is
// answered and (with --out) logged as one NDJSON line, flushed, before the answer is sent:
//   {"received_at","webhook_id","event_type","signature_ok","status_sent","headers","body"}
// With --secret, Standard Webhooks signatures are verified (any secret may match; timestamps
// older or newer than --tolerance-s, default 300, 0 = unchecked, fail); a bad signature gets 401
// and "signature_ok": false. Without --secret, "signature_ok" is null. --status-mix answers
// accepted requests by deterministic rotation on their count: "200:2,503:1" gives
// 200, 200, 503, 200, 200, 503, ... Exits 0 on SIGTERM/SIGINT or after --max-requests answers.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "http/delivery/signature.hpp"
#include "http/json_error.hpp"
#include "http/server.hpp"

namespace {

using namespace hooklog::http;
using clock_type = std::chrono::steady_clock;

struct config {
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> secrets;
  std::vector<std::pair<unsigned, unsigned>> mix{{200, 1}};  // (status, weight)
  unsigned mix_total = 1;
  unsigned delay_ms = 0;
  std::string out;
  std::uint64_t max_requests = 0;
  unsigned threads = 2;
  std::int64_t tolerance_s = 300;
  std::size_t body_limit = 16 * 1024 * 1024;
  std::string tls_cert, tls_key;  // both set: HTTPS
};

[[noreturn]] void usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "hooklog-receiver: " << problem << "\n";
  std::cerr << "usage: hooklog-receiver [--listen HOST:PORT] [--secret whsec_...]...\n"
               "         [--status-mix 200:90,500:10] [--delay-ms N] [--out FILE]\n"
               "         [--max-requests N] [--threads N] [--tolerance-s N] [--body-limit BYTES]\n"
               "         [--tls-cert PEM --tls-key PEM]\n";
  std::exit(2);
}

std::uint64_t to_number(const std::string& flag, const std::string& v) {
  try {
    std::size_t pos = 0;
    unsigned long long n = std::stoull(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (...) {
    usage(flag + " wants a number, got '" + v + "'");
  }
}

void parse_mix(config& c, const std::string& spec) {
  c.mix.clear();
  c.mix_total = 0;
  std::size_t start = 0;
  while (start <= spec.size()) {
    auto comma = spec.find(',', start);
    std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto colon = part.find(':');
    if (colon == std::string::npos) usage("--status-mix entries look like 200:90, got '" + part + "'");
    auto status = to_number("--status-mix", part.substr(0, colon));
    auto weight = to_number("--status-mix", part.substr(colon + 1));
    if (status < 100 || status > 599) usage("--status-mix status out of range: " + part);
    if (weight > 0) c.mix.emplace_back(static_cast<unsigned>(status), static_cast<unsigned>(weight));
    c.mix_total += static_cast<unsigned>(weight);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (c.mix_total == 0) usage("--status-mix needs a positive weight");
}

config parse_args(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "--help" || arg == "-h") usage("");
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage(arg + " needs a value");
      value = argv[++i];
    }
    if (arg == "--listen") c.listen = value;
    else if (arg == "--secret") {
      if (!decode_secret(value)) usage("--secret is not whsec_<base64>");
      c.secrets.push_back(value);
    } else if (arg == "--status-mix") parse_mix(c, value);
    else if (arg == "--delay-ms") c.delay_ms = static_cast<unsigned>(to_number(arg, value));
    else if (arg == "--out") c.out = value;
    else if (arg == "--max-requests") c.max_requests = to_number(arg, value);
    else if (arg == "--threads") c.threads = static_cast<unsigned>(to_number(arg, value));
    else if (arg == "--tolerance-s") c.tolerance_s = static_cast<std::int64_t>(to_number(arg, value));
    else if (arg == "--body-limit") c.body_limit = to_number(arg, value);
    else if (arg == "--tls-cert") c.tls_cert = value;
    else if (arg == "--tls-key") c.tls_key = value;
    else usage("unknown option " + arg);
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) usage("--tls-cert and --tls-key go together");
  return c;
}

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// Runs callbacks at their due time on one thread (for --delay-ms without blocking I/O threads).
class delay_queue {
 public:
  delay_queue() : thread_([this] { run(); }) {}
  ~delay_queue() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void add(clock_type::time_point due, std::function<void()> fn) {
    {
      std::lock_guard lk(mu_);
      q_.push(item{due, seq_++, std::move(fn)});
    }
    cv_.notify_all();
  }

 private:
  struct item {
    clock_type::time_point due;
    std::uint64_t seq;
    std::function<void()> fn;
    bool operator>(const item& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void run() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      if (q_.empty()) {
        cv_.wait(lk);
        continue;
      }
      // A copy: wait_until reads its deadline again after waking, and a push while the lock
      // is released may reallocate the queue under a reference to top() (found by ASan).
      const auto due = q_.top().due;
      if (cv_.wait_until(lk, due) == std::cv_status::no_timeout) continue;
      while (!q_.empty() && q_.top().due <= clock_type::now()) {
        auto fn = std::move(const_cast<item&>(q_.top()).fn);
        q_.pop();
        lk.unlock();
        fn();
        lk.lock();
      }
    }
    // Pending answers at shutdown: send them now rather than dropping them.
    while (!q_.empty()) {
      auto fn = std::move(const_cast<item&>(q_.top()).fn);
      q_.pop();
      lk.unlock();
      fn();
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<item, std::vector<item>, std::greater<item>> q_;
  std::uint64_t seq_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

class receiver {
 public:
  explicit receiver(config c) : cfg_(std::move(c)) {
    if (!cfg_.out.empty()) {
      out_ = std::fopen(cfg_.out.c_str(), "a");
      if (!out_) {
        std::cerr << "hooklog-receiver: cannot open " << cfg_.out << ": " << std::strerror(errno) << "\n";
        std::exit(1);
      }
    }
  }
  ~receiver() {
    if (out_) std::fclose(out_);
  }

  bool finished() const { return finished_.load(); }

  void handle(http_request&& req, responder r) {
    std::optional<bool> sig_ok;
    if (!cfg_.secrets.empty()) sig_ok = verify(req);
    unsigned status = 401;
    if (sig_ok != false) {
      std::uint64_t k = accepted_.fetch_add(1) % cfg_.mix_total;
      for (auto [s, w] : cfg_.mix) {
        if (k < w) {
          status = s;
          break;
        }
        k -= w;
      }
    }
    auto line = record(req, sig_ok, status);
    auto answer = [this, r, status, line = std::move(line)]() mutable {
      write_line(line);
      if (status == 401)
        r(json_error(401, "bad_signature", "webhook signature verification failed"));
      else if (status >= 200 && status < 300)
        r(http_response::json(status, R"({"ok":true})"));
      else
        r(json_error(status, "simulated", "status chosen by --status-mix"));
      if (cfg_.max_requests && answered_.fetch_add(1) + 1 >= cfg_.max_requests) finished_ = true;
    };
    if (cfg_.delay_ms)
      delays_.add(clock_type::now() + std::chrono::milliseconds(cfg_.delay_ms), std::move(answer));
    else
      answer();
  }

 private:
  bool verify(const http_request& req) const {
    auto id = req.header("webhook-id");
    auto ts = req.header("webhook-timestamp");
    auto sig = req.header("webhook-signature");
    if (!id || !ts || !sig) return false;
    std::int64_t timestamp = 0;
    try {
      std::size_t pos = 0;
      timestamp = std::stoll(std::string(*ts), &pos);
      if (pos != ts->size()) return false;
    } catch (...) {
      return false;
    }
    if (cfg_.tolerance_s > 0) {
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
      if (!timestamp_fresh(timestamp, now, cfg_.tolerance_s)) return false;
    }
    for (const auto& s : cfg_.secrets)
      if (verify_v1(s, *id, timestamp, req.body, *sig)) return true;
    return false;
  }

  std::string record(const http_request& req, std::optional<bool> sig_ok, unsigned status) const {
    if (!out_) return {};
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [k, v] : req.headers) {
      std::string name(k);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (headers.contains(name))
        headers[name] = headers[name].get<std::string>() + ", " + std::string(v);
      else
        headers[name] = v;
    }
    auto opt = [&](std::string_view h) -> nlohmann::json {
      auto v = req.header(h);
      return v ? nlohmann::json(std::string(*v)) : nlohmann::json(nullptr);
    };
    nlohmann::ordered_json line = {{"received_at", rfc3339_now()},
                           {"method", req.method},
                           {"target", req.target},
                           {"webhook_id", opt("webhook-id")},
                           {"event_type", opt("webhook-event-type")},
                           {"signature_ok", sig_ok ? nlohmann::json(*sig_ok) : nlohmann::json(nullptr)},
                           {"status_sent", status},
                           {"headers", headers},
                           {"body", req.body}};
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }

  void write_line(const std::string& line) {
    if (!out_ || line.empty()) return;
    std::lock_guard lk(out_mu_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }

  config cfg_;
  std::FILE* out_ = nullptr;
  std::mutex out_mu_;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<bool> finished_{false};
  delay_queue delays_;
};

}  // namespace

int main(int argc, char** argv) {
  config cfg = parse_args(argc, argv);

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  server_options opts;
  opts.listen = cfg.listen;
  opts.threads = cfg.threads;
  opts.body_limit = cfg.body_limit;
  opts.tls_cert_file = cfg.tls_cert;
  opts.tls_key_file = cfg.tls_key;
  receiver rcv(cfg);
  http_server server(opts, [&rcv](http_request&& req, responder r) { rcv.handle(std::move(req), r); });
  auto port = server.start();
  if (!port) {
    std::cerr << "hooklog-receiver: " << port.err().what() << "\n";
    return 1;
  }
  std::printf("listening on %s\n", server.local_address().c_str());
  std::fflush(stdout);

  timespec tick{0, 50 * 1000 * 1000};
  while (!rcv.finished()) {
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  server.stop(std::chrono::seconds(5));
  return 0;
}
