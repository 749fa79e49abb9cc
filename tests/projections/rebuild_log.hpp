#pragma once
// The log of the rebuild tests (every record kind, thousands of events over 5 tenants and 20
// endpoints, with retries, dead letters, replays, disabled and deleted endpoints, late arrivals)
// and the due-order check, shared by rebuild_test.cpp and bulk_rebuild_test.cpp.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <tuple>

#include "engine/tree_head.hpp"
#include "proj_test_util.hpp"
#include "projections/retry_policy.hpp"
#include "projections/state_store.hpp"

namespace hooklog::test {

inline constexpr std::int64_t kT0 = 1'707'500'000'000'000;

// The due order as the dispatcher reads it (due_items, next_due) holds exactly the queued,
// unparked items of the per-endpoint index (items_for), ordered by (due, event seq, endpoint),
// with the same attempt and replay id: what one key per item gave before layout 2.
inline void check_due_order(fixture& f) {
  auto t = f.read();
  const auto& q = f.runner->queue();
  auto d = q.due_items(t, INT64_MAX, SIZE_MAX);
  REQUIRE(d);
  std::vector<projections::pending_item> expect;
  for (std::size_t i = 0; i < 20; ++i) {
    auto items = q.items_for(t, "ep-" + std::to_string(i), 0, SIZE_MAX);
    REQUIRE(items);
    for (auto& it : *items)
      if (!it.parked) expect.push_back(std::move(it));
  }
  std::sort(expect.begin(), expect.end(), [](const auto& a, const auto& b) {
    return std::tie(a.due_us, a.event_seq, a.endpoint_id) <
           std::tie(b.due_us, b.event_seq, b.endpoint_id);
  });
  REQUIRE(d->size() == expect.size());
  for (std::size_t i = 0; i < expect.size(); ++i) {
    INFO("due item " << i);
    CHECK((*d)[i].due_us == expect[i].due_us);
    CHECK((*d)[i].event_seq == expect[i].event_seq);
    CHECK((*d)[i].endpoint_id == expect[i].endpoint_id);
    CHECK((*d)[i].attempt == expect[i].attempt);
    CHECK((*d)[i].replay_id == expect[i].replay_id);
  }
  auto next = q.next_due(t);
  REQUIRE(next);
  CHECK(*next == (expect.empty() ? std::nullopt : std::optional<std::int64_t>(expect[0].due_us)));
}

// Appends a log with every record kind, thousands of events over 5 tenants and
// 20 endpoints, in many small commits. When `follow` is set the runner thread is
// running and attempts are written for items read from the pending queue (like
// the dispatcher); otherwise attempts target pseudo-random (endpoint, event) pairs.
inline std::uint64_t build_log(fixture& f, bool follow, int rounds = 400) {
  std::mt19937_64 rng(2024);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> tenants = {"jelp-co", "oms-eu", "lynxo-1", "cs-live", "eudr-int"};
  const std::vector<std::string> types = {"order_new", "order_update:assign_driver", "order_update:complete_order",
                                          "job.created", "job.pickup.updated", "package.status.shipped",
                                          "dds.status_changed", "statusUpdated", "folio_update"};
  const std::vector<std::string> statuses = {"PENDING", "TRANSIT", "COMPLETED", "CANCELLED", "DRAFT", "SUBMITTED"};
  const std::vector<json> patterns = {
      {"*"}, {"order_new"}, {"order_update:*"}, {"job.*", "order_new"}, {"dds.*", "statusUpdated"},
      {"package.*"}};
  const std::vector<json> retries = {
      json(nullptr),
      projections::to_json(projections::retry_policy{projections::retry_strategy::fixed, 1000, 60'000, 3}),
      projections::to_json(projections::retry_policy{projections::retry_strategy::exponential, 500, 8000, 4}),
      projections::to_json(projections::retry_policy{projections::retry_strategy::random, 200, 5000, 2})};

  std::vector<record> batch;
  std::vector<std::uint64_t> events;
  std::vector<bool> alive(20, false);
  std::uint64_t last = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    auto seqs = f.append_all(std::move(batch));
    batch.clear();
    last = seqs.back();
  };
  auto ep_id = [](std::size_t i) { return "ep-" + std::to_string(i); };
  auto ep_tenant = [&](std::size_t i) { return tenants[i % 5]; };
  auto create = [&](std::size_t i) {
    json extra = {{"retry", retries[i % retries.size()]}};
    if (i % 7 == 3) extra["filter"] = {{"all", {{{"path", "/status"}, {"op", "neq"}, {"value", "CANCELLED"}}}}};
    if (i % 9 == 4) extra["mode"] = "test";
    batch.push_back(create_endpoint(ep_tenant(i), ep_id(i), patterns[i % patterns.size()], extra));
    alive[i] = true;
  };
  for (std::size_t i = 0; i < 20; ++i) create(i);
  flush();

  std::mt19937_64 jitter(99);
  for (int round = 0; round < rounds; ++round) {
    // A small commit of events.
    std::size_t n = 1 + pick(20);
    for (std::size_t k = 0; k < n; ++k) {
      const auto& tenant = tenants[pick(tenants.size())];
      const auto& type = types[pick(types.size())];
      std::string entity = "E" + std::to_string(pick(60));
      std::int64_t occurred = kT0 + round * 60'000'000LL + static_cast<std::int64_t>(k) * 1000;
      if (pick(10) == 0) occurred -= 30 * 60'000'000LL;  // late arrival
      std::uint16_t flags = 0;
      if (pick(15) == 0) flags |= record_flags::kTestMode;
      if (pick(25) == 0) flags |= record_flags::kNoDelivery;
      const auto& to = statuses[pick(statuses.size())];
      std::string from = pick(3) == 0 ? statuses[pick(statuses.size())] : "";
      batch.push_back(event(tenant, type, {{"status", to}, {"n", round}}, pick(8) == 0 ? "" : "order", entity,
                            from, to, occurred, flags));
    }
    flush();
    for (std::uint64_t s = last - n + 1; s <= last; ++s) events.push_back(s);

    // Endpoint lifecycle, replays and keys now and then.
    if (round % 7 == 3) {
      std::size_t i = pick(20);
      switch (pick(6)) {
        case 0:
          if (alive[i])
            batch.push_back(endpoint_record(record_kind::endpoint_updated, ep_tenant(i), ep_id(i),
                                            {{"id", ep_id(i)}, {"url", "https://u.example/" + std::to_string(round)},
                                             {"events", patterns[pick(patterns.size())]}}));
          break;
        case 1:
          batch.push_back(endpoint_record(record_kind::endpoint_disabled, ep_tenant(i), ep_id(i),
                                          {{"reason", "consecutive failures"}}));
          break;
        case 2: batch.push_back(endpoint_record(record_kind::endpoint_enabled, ep_tenant(i), ep_id(i), json::object())); break;
        case 3:
          batch.push_back(endpoint_record(record_kind::secret_rotated, ep_tenant(i), ep_id(i),
                                          {{"secret", "whsec_cm90" + std::to_string(round)},
                                           {"previous_valid_until", kT0 * 2}}));
          break;
        case 4:
          if (alive[i]) {
            batch.push_back(endpoint_record(record_kind::endpoint_deleted, ep_tenant(i), ep_id(i), {{"reason", "test"}}));
            alive[i] = false;
          } else {
            create(i);
          }
          break;
        default: {
          std::string rid = "rp_" + std::to_string(round);
          auto rr = [&](record_kind k, json body) {
            record r;
            r.kind = k;
            r.tenant = ep_tenant(i);
            r.entity_kind = "replay";
            r.entity_id = rid;
            r.body = body.dump();
            batch.push_back(std::move(r));
          };
          rr(record_kind::replay_requested, {{"replay_id", rid}, {"endpoint_id", ep_id(i)}});
          json sched = json::array();
          for (int k = 0; k < 12; ++k) sched.push_back(events[pick(events.size())]);
          rr(record_kind::replay_progressed, {{"replay_id", rid}, {"endpoint_id", ep_id(i)}, {"scheduled", sched},
                                              {"scanned_to", last}});
          rr(pick(2) ? record_kind::replay_finished : record_kind::replay_cancelled, {{"replay_id", rid}});
          break;
        }
      }
      if (round % 21 == 3) {
        record k;
        k.kind = pick(2) ? record_kind::key_issued : record_kind::key_revoked;
        k.tenant = tenants[pick(5)];
        k.entity_kind = "key";
        k.entity_id = "key_" + std::to_string(round);
        k.body = json{{"scope", "tenant"}}.dump();
        batch.push_back(std::move(k));
      }
      if (round % 37 == 5) {  // a published signed tree head (issue 15): no projection uses it
        tree_head h;
        h.tree_size = static_cast<std::uint64_t>(round);
        batch.push_back(head_record(h));
      }
      flush();
    }

    // Delivery attempts like the dispatcher's.
    if (round % 3 == 1) {
      std::vector<projections::pending_item> work;
      if (follow) {
        REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(30)));
        auto t = f.read();
        auto d = f.runner->queue().due_items(t, INT64_MAX, 25);
        REQUIRE(d);
        work = *d;
        if (round % 30 == 1) check_due_order(f);
      } else {
        for (int k = 0; k < 10; ++k) {
          projections::pending_item it;
          it.endpoint_id = ep_id(pick(20));
          it.event_seq = events[pick(events.size())];
          it.attempt = 1 + static_cast<std::uint32_t>(pick(3));
          work.push_back(it);
        }
      }
      for (const auto& it : work) {
        bool ok = pick(3) == 0;
        projections::retry_policy p{projections::retry_strategy::fixed, 1000, 60'000, 3};
        auto next = ok ? std::nullopt : projections::next_attempt_at(p, it.attempt, kT0 + round, jitter);
        batch.push_back(attempt(tenants[pick(5)], it.endpoint_id, it.event_seq, it.attempt, ok, next, !ok && !next,
                                static_cast<std::int64_t>(pick(3'000'000)), it.replay_id));
      }
      flush();
    }
  }
  // A replay still in progress at the end, so its markers are part of the state.
  for (std::size_t i = 0; i < 20; ++i) {
    if (!alive[i]) continue;
    json sched = json::array();
    for (int k = 0; k < 12; ++k) sched.push_back(events[pick(events.size())]);
    record r;
    r.kind = record_kind::replay_progressed;
    r.tenant = ep_tenant(i);
    r.entity_kind = "replay";
    r.entity_id = "rp_final";
    r.body = json{{"replay_id", "rp_final"}, {"endpoint_id", ep_id(i)}, {"scheduled", sched}, {"scanned_to", last}}.dump();
    // A second replay of the same events relies on the items the first queued (pending_relied).
    record r2 = r;
    r2.entity_id = "rp_final2";
    r2.body = json{{"replay_id", "rp_final2"}, {"endpoint_id", ep_id(i)}, {"scheduled", sched}, {"scanned_to", last}}.dump();
    batch.push_back(std::move(r));
    batch.push_back(std::move(r2));
    break;
  }
  flush();
  return last;
}

// A database of a state directory, read without a runner (which would reset it).
inline std::map<std::string, std::string> raw_db(const std::string& state_dir,
                                                 const std::string& db) {
  auto s = projections::state_store::open({.dir = state_dir});
  REQUIRE(s);
  auto t = (*s)->begin_write();
  REQUIRE(t);
  auto d = (*s)->open_db(*t, db);
  REQUIRE(d);
  std::map<std::string, std::string> out;
  auto c = lmdb::cursor::open(*t, *d);
  REQUIRE(c);
  for (auto kv = c->first(); kv && *kv; kv = c->next())
    out.emplace(std::string((*kv)->first), std::string((*kv)->second));
  *c = lmdb::cursor();
  t->abort();
  return out;
}
inline std::map<std::string, std::string> raw_checkpoints(const std::string& state_dir) {
  return raw_db(state_dir, "checkpoints");
}

// The incremental state of build_log's log: the runner follows it with bulk loads off.
struct reference {
  fixture f{/*batch=*/97};
  std::uint64_t last = 0;
  std::vector<std::string> dbs;
  projections::state_dump state;
  explicit reference(int rounds) {
    f.ropts.bulk_rebuild = false;
    f.open_runner();
    f.runner->start();
    last = build_log(f, /*follow=*/true, rounds);
    REQUIRE(f.runner->wait_applied(last, std::chrono::seconds(60)));
    f.runner->stop();
    REQUIRE_FALSE(f.runner->last_error());
    dbs = all_state_dbs(*f.runner);
    state = dump_state(*f.runner, dbs);
    f.ropts.bulk_rebuild = true;
  }
};

// Runs `work` on a runner over ref's log, with its state in `state`, in a forked child that then
// dies by SIGKILL without any destructor. Nothing of the parent's LMDB handles is used: ref's
// runner and log are closed first and the log is open again when this returns. The child's
// options are the defaults with batches of 97 records, then `configure`; `work` returns false on
// a failed precondition (the child exits instead, and the check of its death fails).
inline void run_and_kill(reference& ref, const std::string& state,
                         const std::function<void(projections::runner_options&)>& configure,
                         const std::function<bool(projections::projection_runner&)>& work) {
  auto& f = ref.f;
  f.runner.reset();
  f.log.reset();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto l = event_log::open({.dir = (f.dir / "log").string(), .sync = false});
    if (!l) _exit(3);
    projections::runner_options o;
    o.state_dir = state;
    o.batch_records = 97;
    configure(o);
    auto r = projections::projection_runner::open(**l, o);
    if (!r) _exit(4);
    if (!work(**r)) _exit(5);
    ::kill(::getpid(), SIGKILL);
    _exit(6);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  auto l = event_log::open({.dir = (f.dir / "log").string(), .sync = false});
  REQUIRE(l);
  f.log = std::move(*l);
}

}  // namespace hooklog::test
