#pragma once
// What a cluster node shows of its slot leases: the "slots" member of /healthz and the
// /metrics families
//   hooklog_cluster_slots_held            gauge: slots this node holds (fenced leases: 0)
//   hooklog_cluster_slots                 gauge: slots of the cell
//   hooklog_cluster_live_nodes            gauge: nodes whose heartbeat this node sees
//   hooklog_cluster_slot_takeovers_total  counter: slots taken from a node that stopped
//   hooklog_cluster_lease_fences_total    counter: times this node's leases fenced themselves
#include <nlohmann/json.hpp>
#include <string>

namespace hooklog::cluster {
class slot_leases;
}

namespace hooklog::http {

// {"node":ID,"held":[slots],"count":N,"of":TOTAL,"live_nodes":K}
nlohmann::json lease_json(const cluster::slot_leases& leases);
void render_lease_metrics(std::string& out, const cluster::slot_leases& leases);

}  // namespace hooklog::http
