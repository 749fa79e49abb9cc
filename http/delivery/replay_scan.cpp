// The scan of a replay (scan_replay_chunk) and the API answer of a replay (to_json); the job
// that runs them is replay_manager.cpp.
#include <algorithm>
#include <charconv>

#include "engine/time_util.hpp"
#include "http/delivery/replay_manager.hpp"
#include "projections/attempt.hpp"
#include "projections/filter.hpp"

namespace hooklog::http {
namespace {

bool types_match(const std::vector<projections::type_pattern>& ps, std::string_view type) {
  if (ps.empty()) return true;
  for (const auto& p : ps)
    if (p.matches(type)) return true;
  return false;
}

}  // namespace

result<replay_chunk> scan_replay_chunk(const event_log& log, const replay_spec& spec,
                                       const projections::endpoint& ep, std::uint64_t from_seq,
                                       std::size_t max_schedule, std::size_t max_examine) {
  replay_chunk out;
  out.scanned_to = from_seq ? from_seq - 1 : 0;
  // A replay sends its endpoint's tenant's events; an endpoint with no tenant (one created with
  // "" before that was refused) has none: no event is stored without one. An empty tenant is
  // "any" to a scan, and sent every tenant's events.
  if (from_seq > spec.to_seq || spec.tenant.empty()) {
    out.scanned_to = spec.to_seq;
    out.done = true;
    return out;
  }
  std::vector<projections::type_pattern> types;
  for (const auto& t : spec.types) {
    auto p = projections::parse_type_pattern(t, "types");
    if (!p) return p.err();
    types.push_back(std::move(*p));
  }
  scan_query q;
  q.kind = record_kind::event_received;
  q.from_seq = std::max<std::uint64_t>(from_seq, std::max<std::uint64_t>(spec.event_seq, 1));
  q.to_seq = spec.event_seq ? std::min(spec.to_seq, spec.event_seq) : spec.to_seq;
  if (q.from_seq > q.to_seq) {  // the event is not in the log (past the head when requested)
    out.scanned_to = spec.to_seq;
    out.done = true;
    return out;
  }
  q.tenant = spec.tenant;
  if (spec.occurred) {
    q.occurred_from = spec.from;
    q.occurred_to = spec.to;
  } else {
    q.recorded_from = spec.from;
    q.recorded_to = spec.to;
  }
  // Only seq-ordered drivers: one entity, one exact type, else the tenant index.
  if (!spec.entity_kind.empty() && !spec.entity_id.empty()) {
    q.entity_kind = spec.entity_kind;
    q.entity_id = spec.entity_id;
  } else if (spec.types.size() == 1 && spec.types[0].find('*') == std::string::npos) {
    q.type = spec.types[0];
  }
  // The bound counts every record of the walk: an occurred-time range is filtered inside the scan,
  // so records outside it would never reach the callback (one step would walk the whole range).
  q.examine_limit = max_examine;
  scan_stop bound;
  const bool test_mode = ep.test_mode();
  std::vector<std::uint64_t> candidates;
  bool stopped = false;
  std::uint64_t last = out.scanned_to;
  auto n = log.scan(q, [&](const record_view& v, std::string_view) {
    ++out.examined;
    last = v.seq;
    const bool keep =
        ((v.flags & record_flags::kTestMode) != 0) == test_mode &&
        (spec.entity_kind.empty() || v.entity_kind == spec.entity_kind) && types_match(types, v.type) &&
        types_match(ep.events, v.type) && (ep.filter.empty() || ep.filter.matches_body(v.body));
    if (keep) candidates.push_back(v.seq);
    if (candidates.size() >= max_schedule || out.examined >= max_examine) {
      stopped = true;
      return false;
    }
    return true;
  }, &bound);
  if (!n) return n.err();
  if (!stopped && bound.bounded) {
    // The position of the last record examined: a seq-ordered index key, its seq in the last
    // 8 bytes (16 hex digits).
    const std::string& r = bound.resume;
    std::uint64_t seq = 0;
    if (r.size() < 16 ||
        std::from_chars(r.data() + r.size() - 16, r.data() + r.size(), seq, 16).ec != std::errc())
      return make_error(errc::invalid_record, "replay scan: an unexpected resume position");
    stopped = true;
    last = std::max(last, seq);
  }
  out.scanned_to = stopped ? last : spec.to_seq;
  out.done = !stopped || out.scanned_to >= spec.to_seq;
  if (spec.mode == "all") {
    out.scheduled = std::move(candidates);
    return out;
  }
  // missing / failed: look at this endpoint's attempts for each candidate.
  for (std::uint64_t seq : candidates) {
    scan_query aq;
    aq.kind = record_kind::delivery_attempt;
    aq.ref_seq = seq;
    aq.entity_kind = "endpoint";
    aq.entity_id = ep.id;
    bool any = false, succeeded = false, last_failed = false;
    auto a = log.scan(aq, [&](const record_view& v, std::string_view) {
      auto at = projections::attempt_from_json(v.body);
      if (!at) return true;
      any = true;
      if (at->success) succeeded = true;
      last_failed = !at->success;
      return true;
    });
    if (!a) return a.err();
    const bool keep = spec.mode == "missing" ? !succeeded : (any && last_failed);
    if (keep) out.scheduled.push_back(seq);
  }
  return out;
}

nlohmann::json to_json(const replay_info& r) {
  nlohmann::json j = {{"id", r.id},
                      {"state", r.state},
                      {"endpoint_id", r.spec.endpoint_id},
                      {"tenant", r.spec.tenant},
                      {"request", replay_spec_to_json(r.spec)},
                      {"created_at", format_rfc3339(r.created_at)},
                      {"finished_at", r.finished_at ? nlohmann::json(format_rfc3339(r.finished_at))
                                                    : nlohmann::json()},
                      {"scanned_to", r.scanned_to},
                      {"scanned", r.scanned},
                      {"scheduled", r.scheduled},
                      {"delivered", r.delivered},
                      {"failed", r.failed}};
  if (!r.error.empty()) j["error"] = r.error;
  const std::uint64_t seqs_left = r.spec.to_seq > r.scanned_to ? r.spec.to_seq - r.scanned_to : 0;
  const std::uint64_t outstanding = r.state == "cancelled" ? 0 : r.outstanding;
  // Events still to schedule: the share kept so far applied to the seqs left.
  double kept_share = r.scanned_to > 0 ? static_cast<double>(r.scheduled) / static_cast<double>(r.scanned_to) : 1.0;
  const std::uint64_t to_schedule =
      r.state == "running" ? static_cast<std::uint64_t>(static_cast<double>(seqs_left) * std::min(1.0, kept_share)) : 0;
  const double rate = static_cast<double>(r.spec.rate_limit > 0 ? r.spec.rate_limit : 1000);
  j["left"] = {{"seqs_to_scan", r.state == "running" ? seqs_left : 0},
               {"events_to_schedule", to_schedule},
               {"deliveries_outstanding", outstanding},
               {"seconds", static_cast<std::int64_t>(static_cast<double>(to_schedule) / rate + 0.5)}};
  return j;
}

}  // namespace hooklog::http
