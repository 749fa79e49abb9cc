// Read-only views of a data directory (safe while the server runs):
//   hooklog tail [--data DIR] [--type T] [--tenant T] [--source S] [--entity KIND[:ID]]
//                [--kind K] [--from-seq N | --lines N] [--json] [--no-follow]
//   hooklog timeline KIND ID [--data DIR] [--json]
//   hooklog stats [--data DIR] [--json]
#include <csignal>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/backfill.hpp"
#include "engine/event_log.hpp"
#include "engine/time_util.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {
namespace {

std::unique_ptr<event_log> open_ro(const args& a, const char* cmd) {
  log_options lo;
  lo.dir = data_dir(a);
  lo.read_only = true;
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog %s: %s\n", cmd, log.err().message.c_str());
    return nullptr;
  }
  return std::move(*log);
}

void print_line(const record_view& v, bool json) {
  if (json && v.kind == record_kind::event_received) {
    std::printf("%s\n", export_line(v).c_str());
    return;
  }
  std::string status;
  if (!v.status_to.empty()) status = " " + std::string(v.status_from.empty() ? "-" : v.status_from) + "->" + std::string(v.status_to);
  std::printf("%llu %s %-16s %s %s%s%s%s%s\n", static_cast<unsigned long long>(v.seq),
              format_rfc3339(v.recorded_at).c_str(), std::string(kind_name(v.kind)).c_str(),
              std::string(v.tenant).c_str(), std::string(v.type).c_str(), v.entity_kind.empty() ? "" : " ",
              std::string(v.entity_kind).c_str(), v.entity_kind.empty() ? "" : (":" + std::string(v.entity_id)).c_str(),
              status.c_str());
}

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

int cmd_tail(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help", "json", "no-follow"}, err);
  if (!a || a->has("help")) {
    std::fprintf(a ? stdout : stderr,
                 "%s%susage: hooklog tail [--data DIR] [--type T] [--tenant T] [--source S] "
                 "[--entity KIND[:ID]] [--kind K] [--lines N | --from-seq N] [--json] [--no-follow]\n",
                 err.c_str(), err.empty() ? "" : "\n");
    return a ? 0 : 2;
  }
  auto log = open_ro(*a, "tail");
  if (!log) return 2;
  scan_query q;
  q.type = a->get("type");
  q.tenant = a->get("tenant");
  q.source = a->get("source");
  if (a->has("kind")) {
    auto k = kind_from_name(a->get("kind"));
    if (!k) {
      std::fprintf(stderr, "hooklog tail: unknown record kind %s\n", a->get("kind").c_str());
      return 2;
    }
    q.kind = *k;
  } else if (!q.type.empty() || !q.tenant.empty()) {
    q.kind = record_kind::event_received;
  }
  if (a->has("entity")) {
    const std::string e = a->get("entity");
    const auto colon = e.find(':');
    q.entity_kind = e.substr(0, colon);
    if (colon != std::string::npos) q.entity_id = e.substr(colon + 1);
  }
  std::uint64_t head = (*log).head().seq;
  std::uint64_t next = a->has("from-seq") ? std::stoull(a->get("from-seq"))
                                          : head + 1 - std::min<std::uint64_t>(head, std::stoull(a->get("lines", "10")));
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  const bool json = a->has("json");
  while (!g_stop) {
    // Another process appends: a fresh read transaction per round sees its commits.
    std::uint64_t last = next - 1;
    scan_query w = q;
    w.from_seq = next;
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
    if (a->has("no-follow")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return 0;
}

int cmd_timeline(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help", "json"}, err);
  if (!a || a->has("help") || a->positional.size() != 2) {
    std::fprintf(a && a->has("help") ? stdout : stderr, "%s%susage: hooklog timeline KIND ID [--data DIR] [--json]\n",
                 err.c_str(), err.empty() ? "" : "\n");
    return a && a->has("help") ? 0 : 2;
  }
  auto log = open_ro(*a, "timeline");
  if (!log) return 2;
  scan_query q;
  q.kind = record_kind::event_received;
  q.entity_kind = a->positional[0];
  q.entity_id = a->positional[1];
  const bool json = a->has("json");
  auto n = log->scan(q, [&](const record_view& v, std::string_view) {
    if (json) {
      std::printf("%s\n", nlohmann::json{{"seq", v.seq}, {"id", event_id_for(v.seq)}, {"type", v.type},
                                         {"occurred_at", format_rfc3339(v.occurred_at)},
                                         {"recorded_at", format_rfc3339(v.recorded_at)},
                                         {"from", v.status_from}, {"to", v.status_to}}
                               .dump()
                               .c_str());
    } else {
      std::printf("%s %-28s %s%s%s\n", format_rfc3339(v.occurred_at).c_str(), std::string(v.type).c_str(),
                  v.status_to.empty() ? "" : std::string(v.status_from.empty() ? "-" : v.status_from).c_str(),
                  v.status_to.empty() ? "" : " -> ", std::string(v.status_to).c_str());
    }
    return true;
  });
  if (!n) {
    std::fprintf(stderr, "hooklog timeline: %s\n", n.err().message.c_str());
    return 1;
  }
  if (*n == 0) {
    std::fprintf(stderr, "hooklog timeline: no events for %s %s\n", q.entity_kind.c_str(), q.entity_id.c_str());
    return 1;
  }
  return 0;
}

int cmd_stats(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help", "json"}, err);
  if (!a || a->has("help")) {
    std::fprintf(a ? stdout : stderr, "%s%susage: hooklog stats [--data DIR] [--json]\n", err.c_str(),
                 err.empty() ? "" : "\n");
    return a ? 0 : 2;
  }
  auto log = open_ro(*a, "stats");
  if (!log) return 2;
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
                      {"used_bytes", log->used_bytes()}, {"kinds", kinds},
                      {"event_types", types},            {"tenants", tenants},
                      {"events_without_delivery", no_delivery}};
  if (a->has("json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("records %llu (head %llu), %s .. %s, %zu bytes used\n", static_cast<unsigned long long>(records),
              static_cast<unsigned long long>(log->head().seq), j["first_recorded_at"].dump().c_str(),
              j["last_recorded_at"].dump().c_str(), log->used_bytes());
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
