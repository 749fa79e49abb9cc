#include "http/delivery/cluster/lease_report.hpp"

#include "http/delivery/cluster/slot_leases.hpp"
#include "http/delivery/metrics.hpp"

namespace hooklog::http {

nlohmann::json lease_json(const cluster::slot_leases& leases) {
  const auto held = leases.held();
  const auto st = leases.stats();
  return {{"node", leases.options().node_id},
          {"held", held},
          {"count", held.size()},
          {"of", leases.options().slots},
          {"live_nodes", st.live_nodes}};
}

void render_lease_metrics(std::string& out, const cluster::slot_leases& leases) {
  const auto st = leases.stats();
  metric_single(out, "hooklog_cluster_slots_held", "gauge", "delivery slots this node holds",
                static_cast<double>(st.held));
  metric_single(out, "hooklog_cluster_slots", "gauge", "delivery slots of the cell",
                static_cast<double>(leases.options().slots));
  metric_single(out, "hooklog_cluster_live_nodes", "gauge",
                "nodes of the cell whose heartbeat this node sees",
                static_cast<double>(st.live_nodes));
  metric_single(out, "hooklog_cluster_slot_takeovers_total", "counter",
                "delivery slots this node took over from a node that stopped heart-beating",
                static_cast<double>(st.taken_over));
  metric_single(out, "hooklog_cluster_lease_fences_total", "counter",
                "times this node's leases fenced themselves (a heartbeat acknowledged too late)",
                static_cast<double>(st.fenced));
}

}  // namespace hooklog::http
