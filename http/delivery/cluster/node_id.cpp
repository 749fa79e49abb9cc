#include "http/delivery/cluster/node_id.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/bytes.hpp"
#include "engine/errc.hpp"

namespace hooklog::cluster {

result<std::string> node_id_for(const std::string& data_dir, const std::string& explicit_id) {
  if (!explicit_id.empty()) return explicit_id;
  const std::string path = data_dir + "/cluster-node-id";
  if (std::ifstream in(path); in) {
    std::string id;
    std::getline(in, id);
    if (!id.empty()) return id;
  }
  unsigned char raw[6];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return make_error(errc::io_failure, "no random bytes for a node id");
  const std::string id = "n-" + bytes::to_hex(raw, sizeof raw);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << '\n';
    out.flush();
    if (!out) return make_error(errc::io_failure, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(errc::io_failure, "cannot rename " + tmp + " to " + path);
  return id;
}

result<std::unique_ptr<slot_leases>> open_node_leases(natsConnection* conn, slot_lease_options opts,
                                                      const std::string& data_dir,
                                                      const std::string& explicit_id) {
  std::string given = explicit_id;
  for (char& ch : given)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '-' || ch == '_'))
      ch = '-';
  auto id = node_id_for(data_dir, given);
  if (!id) return id.err();
  opts.node_id = *id;
  return slot_leases::open(conn, std::move(opts));
}

}  // namespace hooklog::cluster
