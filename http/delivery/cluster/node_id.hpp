#pragma once
// The id a cluster node holds slot leases under: `<data dir>/cluster-node-id`, made once
// ("n-" + 12 random hex digits) and read on every later start, so a restarted node takes its
// own slots back at once (by CAS) instead of waiting for its old heartbeat to expire. A node
// whose data directory was wiped gets a new id; its old id's slots are taken over as a dead
// node's. An explicit id (`--node-id`) is used as given when not empty.
#include <string>

#include <memory>

#include "engine/result.hpp"
#include "http/delivery/cluster/slot_leases.hpp"

namespace hooklog::cluster {

result<std::string> node_id_for(const std::string& data_dir, const std::string& explicit_id = "");

// The slot leases of a serving node: its id from node_id_for (an explicit id has every character
// other than letters, digits, '-' and '_' replaced by '-', "host:4000" -> "host-4000").
result<std::unique_ptr<slot_leases>> open_node_leases(natsConnection* conn, slot_lease_options opts,
                                                      const std::string& data_dir,
                                                      const std::string& explicit_id);

}  // namespace hooklog::cluster
