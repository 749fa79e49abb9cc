#pragma once
// Helpers shared by the projection tests: a log + runner fixture, record
// builders, and a full dump of the state databases for byte comparisons.
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/event_log.hpp"
#include "engine/record.hpp"
#include "projections/attempt.hpp"
#include "projections/key_codec.hpp"
#include "projections/runner.hpp"
#include "projections/state_compare.hpp"
#include "support/temp_dir.hpp"

namespace hooklog::test {

using nlohmann::json;

inline record endpoint_record(record_kind kind, const std::string& tenant, const std::string& id,
                              json body) {
  record r;
  r.kind = kind;
  r.tenant = tenant;
  r.entity_kind = "endpoint";
  r.entity_id = id;
  r.body = body.dump();
  return r;
}

inline record create_endpoint(const std::string& tenant, const std::string& id, json events,
                              json extra = json::object()) {
  json b = {{"id", id}, {"url", "https://example.com/hook/" + id}, {"events", std::move(events)},
            {"secret", "whsec_dGVzdHNlY3JldA=="}};
  for (auto it = extra.begin(); it != extra.end(); ++it) b[it.key()] = *it;
  return endpoint_record(record_kind::endpoint_created, tenant, id, b);
}

inline record event(const std::string& tenant, const std::string& type, json body = json::object(),
                    std::string entity_kind = "", std::string entity_id = "",
                    std::string from = "", std::string to = "", std::int64_t occurred = 0,
                    std::uint16_t flags = 0) {
  record r;
  r.kind = record_kind::event_received;
  r.tenant = tenant;
  r.source = "test";
  r.type = type;
  r.entity_kind = std::move(entity_kind);
  r.entity_id = std::move(entity_id);
  r.status_from = std::move(from);
  r.status_to = std::move(to);
  r.occurred_at = occurred;
  r.flags = flags;
  r.body = body.dump();
  return r;
}

inline record attempt(const std::string& tenant, const std::string& ep, std::uint64_t event_seq,
                      std::uint32_t n, bool ok, std::optional<std::int64_t> next, bool dead = false,
                      std::int64_t latency_us = 20'000, std::string replay = "") {
  projections::delivery_attempt a;
  a.endpoint_id = ep;
  a.event_seq = event_seq;
  a.attempt = n;
  a.success = ok;
  a.status = ok ? 200 : 500;
  a.latency_us = latency_us;
  a.error = ok ? "" : "HTTP 500";
  a.next_attempt_at = next;
  a.dead_letter = dead;
  a.replay_id = std::move(replay);
  return projections::make_attempt_record(a, tenant, "order_new");
}

struct fixture {
  temp_dir dir;
  std::unique_ptr<event_log> log;
  std::unique_ptr<projections::projection_runner> runner;
  projections::runner_options ropts;

  explicit fixture(std::size_t batch = 20'000) {
    auto l = event_log::open({.dir = (dir / "log").string(), .sync = false});
    if (!l) throw std::runtime_error(l.err().what());
    log = std::move(*l);
    ropts.state_dir = (dir / "state").string();
    ropts.batch_records = batch;
    open_runner();
  }
  void open_runner() {
    runner.reset();
    auto r = projections::projection_runner::open(*log, ropts);
    if (!r) throw std::runtime_error(r.err().what());
    runner = std::move(*r);
  }
  std::uint64_t append(record r) {
    std::vector<record> v{std::move(r)};
    auto out = log->append(v);
    if (!out[0]) throw std::runtime_error(out[0].err().what());
    return out[0]->seq;
  }
  std::vector<std::uint64_t> append_all(std::vector<record> v) {
    auto out = log->append(v);
    std::vector<std::uint64_t> seqs;
    for (auto& o : out) {
      if (!o) throw std::runtime_error(o.err().what());
      seqs.push_back(o->seq);
    }
    return seqs;
  }
  void sync() {
    auto r = runner->catch_up();
    if (!r) throw std::runtime_error(r.err().what());
  }
  lmdb::txn read() {
    auto t = runner->store().begin_read();
    if (!t) throw std::runtime_error(t.err().what());
    return std::move(*t);
  }
};

// Every key and value of every named database (projections/state_compare.hpp).
using projections::state_dump;
inline state_dump dump_state(projections::projection_runner& r,
                             const std::vector<std::string>& dbs) {
  auto d = projections::dump_databases(r, dbs);
  if (!d) throw std::runtime_error(d.err().what());
  return std::move(*d);
}

// Leaves the state as an older build of projection `name` would have: its layout key in
// "checkpoints" set to `layout` (0: no key, as layout 1 had), and database `db` emptied and
// refilled by `fill`, in one transaction. The caller reopens the runner, which rebuilds it.
inline void write_older_layout(fixture& f, const std::string& name, std::uint64_t layout,
                               const std::string& db,
                               const std::function<void(lmdb::txn&, lmdb::dbi&)>& fill) {
  auto t = f.runner->store().begin_write();
  auto cp = f.runner->store().db("checkpoints");
  auto d = f.runner->store().db(db);
  if (!t || !cp || !d) throw std::runtime_error("write_older_layout: cannot open " + db);
  const std::string key = name + ".layout";
  std::string v;
  projections::keys::put_u64_be(v, layout);
  const bool set = layout == 0 ? static_cast<bool>(cp->del(*t, key))
                                : static_cast<bool>(cp->put(*t, key, v));
  if (!set || !d->drop(*t))
    throw std::runtime_error("write_older_layout: cannot write");
  fill(*t, *d);
  if (!t->commit()) throw std::runtime_error("write_older_layout: commit failed");
}

// Every state database of the runner, the checkpoints included.
inline std::vector<std::string> all_state_dbs(const projections::projection_runner& r) {
  return projections::state_db_names(r);
}

}  // namespace hooklog::test
