// The crash soak (issue 8, "Proof under fire"): the real `hooklog serve` under mixed load is
// SIGKILLed at random moments, many cycles, and restarted on the same data directory.
//
// Load during each cycle, from threads of this test, each with its own connection:
//   - single ingests (POST /v1/sources/standard/events): "order.updated" events (delivered to
//     the endpoint) and "invoice.paid" events (not matching the endpoint);
//   - NDJSON batches (POST .../events:batch), some of them with ?deliver=false (a backfill of
//     "order.backfilled" events that only a replay ever sends);
//   - one replay (POST /v1/replays, mode "missing", from the cycle's start time, rate-limited
//     so that it is still running when the kill lands).
// The peer is the real hooklog-receiver, answering 500 to one request in six, with the
// endpoint retrying every 250 ms; it verifies every signature (--secret).
//
// After each SIGKILL, with the server dead:
//   - `hooklog rebuild --check` compares the projections with a rebuild from the log. This is
//     sound only with no server running: a running server keeps appending attempt records and
//     its pending projection keeps changing. With the server dead nothing changes: the check
//     compares the state exactly as the crash left it (its projections all at the seq of the
//     last committed batch, which may be behind the log) with a rebuild from scratch to that
//     same seq. The restart then catches up from there; the next kill's check covers that.
// After each restart:
//   - every acknowledged (202 / batch item with an id) event is listed by GET /v1/events;
//   - GET /v1/audit/verify says the chain is sound;
//   - every acknowledged replay is still listed.
// At the end, the server runs until the receiver has every due delivery and every replay has
// finished; then, server stopped, `hooklog verify` and `hooklog rebuild --check` once more:
//   - every acknowledged "order.updated" event and every order.* event of a batch reached the
//     receiver at least once, with webhook-id = the acknowledged id and a valid signature;
//   - every replay listed (acknowledged or not) finished, and every acknowledged backfill event
//     it covers reached the receiver with webhook-replay = that replay's id.
//
// Short form ([soak]): 8 cycles, in the default ctest run. Long form ([.soak-long], ctest test
// "http: crash soak (long)", label "soak", not run by default): HOOKLOG_SOAK_CYCLES cycles.
// HOOKLOG_SOAK_SEED fixes the seed (it is printed either way); HOOKLOG_SOAK_SHORT_CYCLES changes
// the short form's count.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "http/delivery/client.hpp"
#include "http/delivery/delivery_fixture.hpp"
#include "support/hooklog_server.hpp"

using namespace hooklog;
using namespace hooklog::test;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kDeliverType = "order.updated";
constexpr const char* kOtherType = "invoice.paid";
constexpr const char* kBackfillType = "order.backfilled";

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string event_line(const std::string& id, const std::string& type, int n) {
  return json{{"id", id},
              {"type", type},
              {"timestamp", "2024-02-10T00:00:00Z"},
              {"tenant", "t1"},
              {"data", {{"n", n}, {"pad", std::string(200, 'p')}}}}
      .dump();
}

struct acked_event {
  std::string id;  // evt_<seq>
  std::string type;
  int cycle = 0;
  bool backfill = false;  // stored with ?deliver=false
};

struct acked_replay {
  std::string id;
  std::uint64_t to_seq = 0;
  int cycle = 0;
};

// What the server acknowledged, from every load thread.
struct ack_book {
  std::mutex mu;
  std::map<std::uint64_t, acked_event> events;  // by seq
  std::map<std::string, acked_replay> replays;
  std::atomic<std::uint64_t> failed_requests{0};  // no answer (the kill) or 5xx
  std::vector<std::string> problems;  // Catch2 is not thread-safe: load threads report here

  void event(std::uint64_t seq, acked_event e) {
    std::lock_guard g(mu);
    const std::string id = e.id;
    if (!events.emplace(seq, std::move(e)).second)
      problems.push_back("seq " + std::to_string(seq) + " acknowledged twice (" + id + ")");
  }
  void problem(std::string what) {
    std::lock_guard g(mu);
    problems.push_back(std::move(what));
  }
};

http::header_list auth(bool ndjson = false) {
  return {{"Authorization", std::string("Bearer ") + kAdminKey},
          {"Content-Type", ndjson ? "application/x-ndjson" : "application/json"}};
}

// One cycle's load: threads that run until `stop`.
class load {
 public:
  load(unsigned short port, int cycle, std::uint64_t seed, std::int64_t cycle_start_us,
       std::string endpoint_id, ack_book& book)
      : port_(port),
        cycle_(cycle),
        seed_(seed),
        start_us_(cycle_start_us),
        ep_(std::move(endpoint_id)),
        book_(book) {
    threads_.emplace_back([this] { singles(); });
    threads_.emplace_back([this] { batches(); });
    threads_.emplace_back([this] { replay(); });
  }
  ~load() { finish(); }
  void finish() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  bool replay_acked() const { return replay_acked_; }

 private:
  std::string prefix(const char* what) const {
    return "c" + std::to_string(cycle_) + "-" + what + "-";
  }
  static http::client_options opts() {
    http::client_options o;
    o.timeout = std::chrono::seconds(10);
    return o;
  }
  // True for the status wanted. No answer (the kill) or a 5xx is counted; any other answer is
  // a problem the test reports.
  bool answered(const result<http::client_response>& r, unsigned want, const char* what) {
    if (r && r->status == want) return true;
    if (r && r->status < 500)
      book_.problem(std::string(what) + " answered " + std::to_string(r->status) + ": " + r->body);
    ++book_.failed_requests;
    return false;
  }
  void pause(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

  void singles() {
    http::http_client c("127.0.0.1", port_, opts());
    std::mt19937_64 rng(seed_ * 31 + 1);
    for (int n = 0; !stop_; ++n) {
      const std::string type = rng() % 4 == 0 ? kOtherType : kDeliverType;
      auto r = c.request("POST", "/v1/sources/standard/events",
                         event_line(prefix("s") + std::to_string(n), type, n), auth());
      if (!answered(r, 202, "ingest")) {
        pause(20);
        continue;
      }
      auto j = json::parse(r->body);
      if (j["duplicate"] != false)
        book_.problem("a new event was taken for a duplicate: " + r->body);
      book_.event(j["seq"].get<std::uint64_t>(), {j["id"], type, cycle_, false});
      pause(static_cast<int>(rng() % 4));
    }
  }

  void batches() {
    http::http_client c("127.0.0.1", port_, opts());
    std::mt19937_64 rng(seed_ * 31 + 2);
    for (int b = 0; !stop_; ++b) {
      const bool backfill = rng() % 3 == 0;
      const int lines = 5 + static_cast<int>(rng() % 16);
      std::string body;
      std::vector<std::string> types;
      for (int i = 0; i < lines; ++i) {
        types.push_back(backfill ? kBackfillType : (rng() % 4 == 0 ? kOtherType : kDeliverType));
        body +=
            event_line(prefix("b") + std::to_string(b) + "-" + std::to_string(i), types.back(), i) +
            "\n";
      }
      auto r = c.request(
          "POST",
          std::string("/v1/sources/standard/events:batch") + (backfill ? "?deliver=false" : ""),
          body, auth(true));
      if (!answered(r, 200, "batch")) {
        pause(20);
        continue;
      }
      auto j = json::parse(r->body);
      for (const auto& item : j["items"]) {
        if (!item.contains("id")) {  // a line the log could not take (never for valid lines)
          book_.problem("batch line refused: " + item.dump());
          continue;
        }
        if (item["duplicate"] != false)
          book_.problem("a new event was taken for a duplicate: " + item.dump());
        const auto line = item["line"].get<std::size_t>();
        book_.event(item["seq"].get<std::uint64_t>(),
                    {item["id"], types.at(line - 1), cycle_, backfill});
      }
      pause(20 + static_cast<int>(rng() % 30));
    }
  }

  // One replay, a little into the cycle so that it has backfilled events to send.
  void replay() {
    std::mt19937_64 rng(seed_ * 31 + 3);
    const auto start =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(300 + rng() % 400);
    while (!stop_ && std::chrono::steady_clock::now() < start) pause(10);
    if (stop_) return;
    http::http_client c("127.0.0.1", port_, opts());
    // mode "missing": backfilled events (never sent) and whatever is still being retried (that
    // delivery serves the replay too). 20 events/s keeps it running for seconds.
    const json req = {
        {"endpoint_id", ep_}, {"mode", "missing"}, {"from", start_us_}, {"rate_limit", 20}};
    auto r = c.request("POST", "/v1/replays", req.dump(), auth());
    if (!answered(r, 202, "replay")) return;
    auto j = json::parse(r->body);
    std::lock_guard g(book_.mu);
    book_.replays[j["id"]] = {j["id"], j["request"]["to_seq"].get<std::uint64_t>(), cycle_};
    replay_acked_ = true;
  }

  unsigned short port_;
  int cycle_;
  std::uint64_t seed_;
  std::int64_t start_us_;
  std::string ep_;
  ack_book& book_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> replay_acked_{false};
  std::vector<std::thread> threads_;
};

// Every event id in the log, through GET /v1/events pages.
std::set<std::string> listed_event_ids(hooklog_server& s) {
  std::set<std::string> ids;
  for (const auto& e : s.list_all("/v1/events")) ids.insert(e["id"].get<std::string>());
  return ids;
}

// `hooklog rebuild --check` on the data directory (no server running on it): the projections
// equal, byte for byte, a rebuild from the log at the same seq.
// Returns its line ("projections equal a rebuild at seq N: ...").
std::string check_projections(const std::string& data, const std::string& when) {
  auto r = run_hooklog({"rebuild", "--check", "--data", data});
  INFO("rebuild --check " << when << ": " << r.out);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

void run_soak(int cycles) {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("HOOKLOG_SOAK_SEED"); s && *s)
    seed = std::strtoull(s, nullptr, 10);
  std::cout << "crash soak: seed " << seed << " (HOOKLOG_SOAK_SEED), " << cycles << " cycles"
            << std::endl;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);

  temp_dir dir;
  receiver_proc rx(dir, "rx",
                   {"--secret", kSecret, "--status-mix", "200:5,500:1", "--threads", "2"});
  const std::string data = (dir.path() / "data").string();
  hooklog_server s({"--allow-private-targets"}, data);
  auto ep = s.post("/v1/endpoints",
                   {{"url", rx.url()},
                    {"events", {"order.*"}},
                    {"tenant", "t1"},
                    {"secret", kSecret},
                    {"retry", {{"strategy", "fixed"}, {"base_ms", 250}, {"max_attempts", 40}}}});
  REQUIRE(ep.status == 201);
  const std::string ep_id = ep.json["id"];

  ack_book book;
  std::vector<std::uint64_t> head_at_start;  // the log head when each cycle's load began
  int replays_running_at_kill = 0;
  int projection_checks = 0;         // `rebuild --check` passed after a SIGKILL
  unsigned long long most_keys = 0;  // the largest state compared after a kill
  const auto soak_start = std::chrono::steady_clock::now();
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    INFO("cycle " << cycle);
    head_at_start.push_back(s.get("/healthz").json["seq"].get<std::uint64_t>());
    const std::int64_t start_us = now_us();
    const auto kill_after = std::chrono::milliseconds(800 + rng() % 1700);
    {
      load l(s.port(), cycle, rng(), start_us, ep_id, book);
      std::this_thread::sleep_for(kill_after);
      s.kill_hard();  // mid-request: the load threads see their connections die
      l.finish();
    }
    // The server is dead: nothing appends, the state is what the crash left.
    {
      const auto line =
          check_projections(data, "after the SIGKILL of cycle " + std::to_string(cycle));
      ++projection_checks;
      const auto colon = line.find(": ");  // "...at seq N: K keys ..."
      if (colon != std::string::npos)
        most_keys = std::max(most_keys, std::strtoull(line.c_str() + colon + 2, nullptr, 10));
    }
    s.start();

    // Every acknowledged event is in the log, and the chain verifies.
    const auto ids = listed_event_ids(s);
    std::map<std::uint64_t, acked_event> events;
    std::map<std::string, acked_replay> replays;
    {
      std::lock_guard g(book.mu);
      events = book.events;
      replays = book.replays;
    }
    std::size_t missing = 0;
    for (const auto& [seq, e] : events)
      if (!ids.count(e.id)) {
        ++missing;
        UNSCOPED_INFO("acknowledged event " << e.id << " (cycle " << e.cycle
                                            << ") is not in the log");
      }
    CHECK(missing == 0);
    auto v = s.get("/v1/audit/verify");
    INFO(v.body);
    CHECK(v.json["ok"] == true);

    // Every acknowledged replay is still there.
    std::map<std::string, std::string> states;
    for (const auto& r : s.list_all("/v1/replays")) states[r["id"]] = r["state"];
    for (const auto& [id, r] : replays) {
      INFO("replay " << id);
      CHECK(states.count(id) == 1);
      if (r.cycle == cycle && states[id] == "running") ++replays_running_at_kill;
    }
    std::cout << "crash soak: cycle " << cycle << " killed after " << kill_after.count() << " ms; "
              << events.size() << " events acknowledged so far, " << ids.size() << " in the log, "
              << replays.size() << " replays acknowledged" << std::endl;
  }

  // Let the server finish: every due delivery, every replay.
  std::map<std::uint64_t, acked_event> events;
  std::map<std::string, acked_replay> acked;
  {
    std::lock_guard g(book.mu);
    events = book.events;
    acked = book.replays;
  }
  std::set<std::string> expected;  // live deliveries
  for (const auto& [seq, e] : events)
    if (e.type == kDeliverType) expected.insert(e.id);
  std::vector<json> replays;
  // replay id -> backfilled events it must send
  std::map<std::string, std::set<std::string>> replay_expected;
  std::size_t backfill_expected = 0;
  const auto drained = [&] {
    replays = s.list_all("/v1/replays");
    for (const auto& r : replays)
      if (r["state"] != "finished") return false;
    std::set<std::string> got;
    std::map<std::string, std::set<std::string>> by_replay;
    for (const auto& l : rx.lines()) {
      if (l["status_sent"] != 200) continue;
      got.insert(l["webhook_id"].get<std::string>());
      if (l["headers"].contains("webhook-replay"))
        by_replay[l["headers"]["webhook-replay"].get<std::string>()].insert(
            l["webhook_id"].get<std::string>());
    }
    for (const auto& id : expected)
      if (!got.count(id)) return false;
    for (const auto& [id, want] : replay_expected)
      for (const auto& e : want)
        if (!by_replay[id].count(e)) return false;
    return true;
  };
  // Which backfilled events each replay covers: those of the cycle it was created in (its
  // "from" is that cycle's start) up to its to_seq. The cycle is the one whose load began
  // below to_seq. Replays created but not acknowledged (the kill) are listed too: they count.
  replays = s.list_all("/v1/replays");
  for (const auto& r : replays) {
    const auto to_seq = r["request"]["to_seq"].get<std::uint64_t>();
    int cycle = 0;
    for (std::size_t c = 0; c < head_at_start.size(); ++c)
      if (head_at_start[c] < to_seq) cycle = static_cast<int>(c) + 1;
    auto& want = replay_expected[r["id"]];
    for (const auto& [seq, e] : events)
      if (e.backfill && e.cycle == cycle && seq <= to_seq) want.insert(e.id);
    backfill_expected += want.size();
  }
  const auto drain_start = std::chrono::steady_clock::now();
  const bool done = eventually(drained, std::chrono::seconds(180));
  const auto drain_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - drain_start)
                            .count();

  // Figures, and the per-item checks (which name what is missing).
  const auto lines = rx.lines();
  std::map<std::string, int> ok_times;
  std::map<std::string, std::set<std::string>> by_replay;
  std::size_t bad_signatures = 0, failures_sent = 0;
  for (const auto& l : lines) {
    if (l["signature_ok"] != true) ++bad_signatures;
    if (l["status_sent"] != 200) {
      ++failures_sent;
      continue;
    }
    ok_times[l["webhook_id"]]++;
    if (l["headers"].contains("webhook-replay"))
      by_replay[l["headers"]["webhook-replay"].get<std::string>()].insert(
          l["webhook_id"].get<std::string>());
  }
  std::size_t received = 0, repeats = 0, lost = 0, replays_finished = 0, replay_lost = 0;
  for (const auto& id : expected) {
    auto it = ok_times.find(id);
    if (it == ok_times.end()) {
      ++lost;
      UNSCOPED_INFO("delivery lost: " << id);
      continue;
    }
    ++received;
  }
  for (const auto& [id, n] : ok_times) repeats += static_cast<std::size_t>(n - 1);
  std::set<std::string> listed;
  for (const auto& r : replays) {
    listed.insert(r["id"]);
    if (r["state"] == "finished")
      ++replays_finished;
    else
      UNSCOPED_INFO("replay " << r["id"] << " is " << r["state"] << ": " << r.dump());
  }
  for (const auto& [id, want] : replay_expected)
    for (const auto& e : want)
      if (!by_replay[id].count(e)) {
        ++replay_lost;
        UNSCOPED_INFO("replay " << id << " never sent " << e);
      }
  std::size_t acked_listed = 0;
  for (const auto& [id, r] : acked) acked_listed += listed.count(id);

  // Every acknowledged event is still listed by the final server.
  std::size_t found = 0;
  {
    const auto ids = listed_event_ids(s);
    for (const auto& [seq, e] : events) found += ids.count(e.id);
  }
  // The server stops cleanly; the log verifies offline and the projections equal a rebuild.
  s.process().stop();
  auto verify = run_hooklog({"verify", "--data", data});
  INFO(verify.out);
  CHECK(verify.exit_code == 0);
  const std::string final_check = check_projections(data, "after the final SIGTERM");
  const auto secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - soak_start).count();
  std::ostringstream fig;
  fig << "crash soak: seed " << seed << ", " << cycles << " SIGKILL cycles in "
      << static_cast<int>(secs) << " s; events acknowledged " << events.size() << ", found "
      << found << "; deliveries expected " << expected.size() << ", received " << received << " ("
      << lines.size() << " requests, " << failures_sent << " answered 500, " << repeats
      << " repeats); replays created " << acked.size() << " acknowledged + "
      << replays.size() - acked_listed << " unacknowledged, finished " << replays_finished << ", "
      << replays_running_at_kill << " running at the kill; backfilled events sent by replays "
      << backfill_expected - replay_lost << " of " << backfill_expected << "; drained in "
      << drain_ms << " ms; " << book.failed_requests.load()
      << " requests cut by the kills; rebuild --check passed after " << projection_checks
      << " kills (states of up to " << most_keys << " keys) and at the end (" << final_check << ")";
  std::cout << fig.str() << std::endl;
  WARN(fig.str());

  for (const auto& p : book.problems) UNSCOPED_INFO(p);
  CHECK(book.problems.empty());
  CHECK(done);
  CHECK(found == events.size());
  CHECK(lost == 0);
  CHECK(bad_signatures == 0);
  CHECK(acked_listed == acked.size());
  CHECK(replays_finished == replays.size());
  CHECK(replay_lost == 0);
  CHECK(acked.size() >= static_cast<std::size_t>(cycles) / 2);  // the replays did run
}

}  // namespace

TEST_CASE("crash soak: SIGKILL under mixed load, restart, nothing acknowledged is lost",
          "[soak][crash]") {
  run_soak(env_int("HOOKLOG_SOAK_SHORT_CYCLES", 8));
}

TEST_CASE("crash soak, long form: HOOKLOG_SOAK_CYCLES cycles", "[.soak-long]") {
  run_soak(env_int("HOOKLOG_SOAK_CYCLES", 30));
}
