// Read-only views of a data directory (safe while the server runs):
//   hooklog tail [--data DIR] [--type T] [--tenant T] [--source S] [--entity KIND[:ID]]
//                [--kind K] [--from-seq N | --lines N] [--json] [--no-follow]
//   hooklog timeline KIND ID [--data DIR] [--json]
//   hooklog stats [--data DIR] [--json]
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/backfill.hpp"
#include "engine/event_log.hpp"
#include "engine/time_util.hpp"
#include "projections/timelines.hpp"
#include "tools/cli_common.hpp"
#include "tools/cli_records.hpp"

namespace hooklog::cli {
namespace {

std::unique_ptr<event_log> open_ro(const std::string& data, const char* cmd) {
  log_options lo;
  lo.dir = data_dir(data);
  lo.read_only = true;
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog %s: %s\n", cmd, log.err().message.c_str());
    return nullptr;
  }
  return std::move(*log);
}

void print_line(const record_view& v, bool json) {
  std::printf("%s\n", (json ? record_json_line(v) : record_text_line(v)).c_str());
}

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

int cmd_tail(int argc, char** argv) {
  auto app =
      make_app("tail",
               "Prints the log's last records, then follows it (read-only: safe while the server\n"
               "runs). --json prints every record kind as one JSON object per line (events as\n"
               "export lines). --type or --tenant alone select events.");
  std::string data, kind, entity, from_seq, lines = "10";
  scan_query q;
  bool json = false, no_follow = false;
  add_data_flag(*app, data);
  app->add_option("--type", q.type, "only this event type");
  app->add_option("--tenant", q.tenant, "only this tenant");
  app->add_option("--source", q.source, "only this source");
  app->add_option("--entity", entity, "only this entity: KIND or KIND:ID");
  app->add_option("--kind", kind, "only this record kind (event_received, delivery_attempt, ...)");
  auto* n_opt =
      app->add_option("--lines", lines, "start with the last N records (10)")->type_name("N");
  app->add_option("--from-seq", from_seq, "start at this sequence number")
      ->type_name("SEQ")
      ->excludes(n_opt);
  app->add_flag("--json", json, "one JSON object per line");
  app->add_flag("--no-follow", no_follow, "stop at the end of the log");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  const std::uint64_t n_lines = to_uint("lines", lines);
  const std::uint64_t first_seq = from_seq.empty() ? 0 : to_uint("from-seq", from_seq, 1);
  if (!kind.empty()) {
    auto k = kind_from_name(kind);
    if (!k) throw usage_error("--kind: unknown record kind \"" + kind + "\"");
    q.kind = *k;
  } else if (!q.type.empty() || !q.tenant.empty()) {
    q.kind = record_kind::event_received;
  }
  if (!entity.empty()) split_entity(entity, q.entity_kind, q.entity_id);
  auto log = open_ro(data, "tail");
  if (!log) return kExitUsage;
  std::uint64_t head = (*log).head().seq;
  std::uint64_t next = first_seq ? first_seq : head + 1 - std::min<std::uint64_t>(head, n_lines);
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  bool first_round = true;
  while (!g_stop) {
    // Another process appends: a fresh read transaction per round sees its commits.
    std::uint64_t last = next - 1;
    scan_query w = q;
    w.from_seq = next;
    // After the first round, read what came since in seq order: a short walk, and the log's
    // records are all there even if a server rebuilt the index env this process opened.
    w.seq_order = !first_round;
    first_round = false;
    auto n = log->scan(w, [&](const record_view& v, std::string_view) {
      print_line(v, json);
      last = std::max(last, v.seq);
      return true;
    });
    if (!n) {
      std::fprintf(stderr, "hooklog tail: %s\n", n.err().message.c_str());
      return 1;
    }
    std::fflush(stdout);
    // Move past everything that exists now, matched or not.
    std::uint64_t end = last;
    auto c = log->for_each(std::max(next, last + 1), UINT64_MAX, [&](const record_view& v) {
      end = v.seq;
      return true;
    });
    if (c) next = end + 1;
    if (no_follow) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return 0;
}

int cmd_timeline(int argc, char** argv) {
  auto app =
      make_app("timeline",
               "An entity's status transitions as GET /v1/entities/KIND/ID/timeline answers\n"
               "them: in occurred order, the current status (the latest by occurred time), a\n"
               "derived from-status when the event states none, and out-of-order marks (recorded\n"
               "after a transition that occurred later). Read-only: safe while the server runs.");
  std::string data, kind, id, tenant;
  bool json = false;
  add_data_flag(*app, data);
  app->add_option("KIND", kind, "the entity kind (order, invoice, ...)")->required();
  app->add_option("ID", id, "the entity id")->required();
  app->add_option("--tenant", tenant,
                  "the entity's tenant (default: the tenant of its first event)");
  app->add_flag("--json", json, "the API's JSON answer");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  auto log = open_ro(data, "timeline");
  if (!log) return kExitUsage;
  scan_query q;
  q.kind = record_kind::event_received;
  q.entity_kind = kind;
  q.entity_id = id;
  q.tenant = tenant;
  std::vector<projections::transition> steps;
  std::int64_t latest = INT64_MIN;  // the latest occurred time so far, in log order
  bool found = false;
  auto n = log->scan(q, [&](const record_view& v, std::string_view) {
    if (tenant.empty()) tenant = std::string(v.tenant);  // as the API: the first event's tenant
    if (v.tenant != tenant) return true;
    found = true;
    if (v.status_to.empty()) return true;
    projections::transition t;
    t.from = v.status_from;
    t.to = v.status_to;
    t.from_stated = !v.status_from.empty();
    t.occurred_at = v.occurred_at;
    t.recorded_at = v.recorded_at;
    t.seq = v.seq;
    t.out_of_order = v.occurred_at < latest;
    steps.push_back(std::move(t));
    latest = std::max(latest, v.occurred_at);
    return true;
  });
  if (!n) {
    std::fprintf(stderr, "hooklog timeline: %s\n", n.err().message.c_str());
    return kExitFailure;
  }
  if (!found) {
    std::fprintf(stderr, "hooklog timeline: no events for %s %s\n", kind.c_str(), id.c_str());
    return kExitFailure;
  }
  std::stable_sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) {
    return a.occurred_at != b.occurred_at ? a.occurred_at < b.occurred_at : a.seq < b.seq;
  });
  projections::derive_from(steps);  // as the timelines projection does
  nlohmann::json tr = nlohmann::json::array();
  for (const auto& x : steps) tr.push_back(projections::to_json(x));
  // An entity whose events change no status: no current status (the API answers 404 for it).
  const std::string current = steps.empty() ? "" : steps.back().to;
  nlohmann::json j = {
      {"kind", kind},
      {"id", id},
      {"tenant", tenant},
      {"current_status", current.empty() ? nlohmann::json() : nlohmann::json(current)},
      {"transitions", std::move(tr)},
      {"next", nlohmann::json()}};  // the route's page shape: the CLI prints every transition
  if (json) {
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::printf("%s %s (tenant %s): %s%s\n", kind.c_str(), id.c_str(), tenant.c_str(),
              current.empty() ? "no status transitions" : "current status ", current.c_str());
  for (const auto& x : steps)
    std::printf("%s %s -> %s  %s%s\n", format_rfc3339(x.occurred_at).c_str(),
                x.from.empty() ? "-" : x.from.c_str(), x.to.c_str(), event_id_for(x.seq).c_str(),
                x.out_of_order ? "  (out of order: recorded after a later one)" : "");
  return kExitOk;
}

int cmd_stats(int argc, char** argv) {
  auto app =
      make_app("stats", "Counts of records, events by type and tenant, the head (read-only).");
  std::string data;
  bool json = false;
  add_data_flag(*app, data);
  app->add_flag("--json", json, "one JSON object");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  auto log = open_ro(data, "stats");
  if (!log) return kExitUsage;
  std::map<std::string, std::uint64_t> kinds, types, tenants;
  std::uint64_t records = 0, no_delivery = 0;
  std::int64_t first = 0, last = 0;
  auto n = log->for_each(1, UINT64_MAX, [&](const record_view& v) {
    ++records;
    if (!first) first = v.recorded_at;
    last = v.recorded_at;
    ++kinds[std::string(kind_name(v.kind))];
    if (v.kind == record_kind::event_received) {
      ++types[std::string(v.source) + " " + std::string(v.type)];
      ++tenants[std::string(v.tenant)];
      if (v.flags & record_flags::kNoDelivery) ++no_delivery;
    }
    return true;
  });
  if (!n) {
    std::fprintf(stderr, "hooklog stats: %s\n", n.err().message.c_str());
    return 1;
  }
  nlohmann::json j = {{"records", records},          {"head_seq", log->head().seq},
                      {"first_recorded_at", first ? nlohmann::json(format_rfc3339(first)) : nlohmann::json()},
                      {"last_recorded_at", last ? nlohmann::json(format_rfc3339(last)) : nlohmann::json()},
                      {"used_bytes", log->used_bytes()}, {"index_used_bytes", log->index_used_bytes()},
                      {"kinds", kinds},
                      {"event_types", types},            {"tenants", tenants},
                      {"events_without_delivery", no_delivery}};
  if (json) {
    // A log written before text was checked may hold a type or tenant that is not UTF-8.
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("records %llu (head %llu), %s .. %s, %zu bytes used (log/index: %zu more)\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(log->head().seq),
              j["first_recorded_at"].dump().c_str(), j["last_recorded_at"].dump().c_str(), log->used_bytes(),
              log->index_used_bytes());
  std::printf("\nby kind:\n");
  for (const auto& [k, c] : kinds) std::printf("  %-20s %llu\n", k.c_str(), static_cast<unsigned long long>(c));
  std::printf("\nevents by source and type:\n");
  for (const auto& [k, c] : types) std::printf("  %-44s %llu\n", k.c_str(), static_cast<unsigned long long>(c));
  std::printf("\nevents by tenant:\n");
  for (const auto& [k, c] : tenants) std::printf("  %-30s %llu\n", k.c_str(), static_cast<unsigned long long>(c));
  std::printf("\nimported without delivery: %llu\n", static_cast<unsigned long long>(no_delivery));
  return 0;
}

}  // namespace hooklog::cli
