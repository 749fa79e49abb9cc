#pragma once
// In-process delivery fixture: a log in a temp dir, its writer, the projection runner and a
// dispatcher, plus helpers to append endpoint/event records and to read what a receiver logged.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"
#include "hooklog_build_paths.hpp"
#include "http/delivery/dispatcher.hpp"
#include "projections/runner.hpp"
#include "support/process.hpp"

namespace hooklog::test {

struct delivery_fixture {
  temp_dir dir;
  std::unique_ptr<event_log> log;
  std::unique_ptr<log_writer> writer;
  std::unique_ptr<projections::projection_runner> runner;
  std::unique_ptr<http::dispatcher> disp;
  http::dispatcher_options dopts;

  explicit delivery_fixture(http::dispatcher_options o = {}) : dopts(std::move(o)) {
    if (!dopts.allow_private_targets) dopts.allow_private_targets = true;
    open();
  }
  ~delivery_fixture() { close(); }

  void open() {
    log_options lo;
    lo.dir = dir.path().string();
    lo.sync = false;
    lo.initial_map_size = 8u << 20;
    auto l = event_log::open(lo);
    REQUIRE(l);
    log = std::move(*l);
    writer = std::make_unique<log_writer>(*log);
    projections::runner_options ro;
    ro.state_dir = dir.path().string() + "/state";
    auto r = projections::projection_runner::open(*log, ro);
    REQUIRE(r);
    runner = std::move(*r);
    runner->start();
    disp = std::make_unique<http::dispatcher>(*log, *writer, *runner, dopts);
    disp->start();
  }
  void close() {
    if (disp) disp->stop();
    disp.reset();
    if (writer) writer->stop();
    if (runner) runner->stop();
    runner.reset();
    writer.reset();
    log.reset();
  }

  std::uint64_t append(record r) {
    auto out = writer->append(std::move(r));
    REQUIRE(out);
    return out->seq;
  }

  // endpoint JSON gets id and url; returns the seq.
  std::uint64_t add_endpoint(const std::string& id, nlohmann::json body) {
    body["id"] = id;
    return change_endpoint(record_kind::endpoint_created, id, body);
  }

  // An endpoint record of `kind` (created, updated, enabled, ...) for endpoint `id` of tenant t1.
  std::uint64_t change_endpoint(record_kind kind, const std::string& id,
                                const nlohmann::json& body) {
    record r;
    r.kind = kind;
    r.tenant = "t1";
    r.entity_kind = "endpoint";
    r.entity_id = id;
    r.body = body.dump();
    return append(std::move(r));
  }

  std::uint64_t add_event(const std::string& entity, const std::string& body,
                          const std::string& type = "order.updated") {
    record r;
    r.kind = record_kind::event_received;
    r.tenant = "t1";
    r.source = "standard";
    r.type = type;
    r.entity_kind = "order";
    r.entity_id = entity;
    r.body = body;
    return append(std::move(r));
  }

  // Every delivery_attempt body (parsed) for an endpoint, in log order.
  std::vector<nlohmann::json> attempts(const std::string& endpoint_id) {
    std::vector<nlohmann::json> out;
    auto n = log->for_each(1, UINT64_MAX, [&](const record_view& v) {
      if (v.kind == record_kind::delivery_attempt && v.entity_id == endpoint_id)
        out.push_back(nlohmann::json::parse(v.body));
      return true;
    });
    REQUIRE(n);
    return out;
  }
  std::vector<record> records_of(record_kind k) {
    std::vector<record> out;
    auto n = log->for_each(1, UINT64_MAX, [&](const record_view& v) {
      if (v.kind == k) out.push_back(v.to_record());
      return true;
    });
    REQUIRE(n);
    return out;
  }
};

// A hooklog-receiver child with an NDJSON log.
struct receiver_proc {
  std::string out;
  std::unique_ptr<child_process> child;
  listen_address addr;

  receiver_proc(const temp_dir& d, const std::string& name, std::vector<std::string> args) {
    out = (d / (name + ".ndjson")).string();
    args.insert(args.end(), {"--out", out});
    if (std::find(args.begin(), args.end(), "--listen") == args.end())
      args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    child = std::make_unique<child_process>(HOOKLOG_RECEIVER, args);
    auto a = child->wait_listening();
    REQUIRE(a);
    addr = *a;
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(addr.port) + path;
  }
  std::vector<nlohmann::json> lines() const { return read_ndjson(out); }
};

// Waits until pred() or the timeout; returns pred().
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace hooklog::test
