#pragma once
// The work_ownership of a cluster node: an endpoint is owned while this node holds the lease of
// its slot (slot_leases::slot_of(endpoint id)); fenced leases own nothing.
#include "http/delivery/cluster/slot_leases.hpp"
#include "http/delivery/work_ownership.hpp"

namespace hooklog::http {

class slot_ownership final : public work_ownership {
 public:
  explicit slot_ownership(cluster::slot_leases& leases) : leases_(leases) {}
  bool owns(std::string_view endpoint_id) const override {
    return leases_.holds(leases_.slot_of(endpoint_id));
  }
  void on_change(std::function<void()> fn) override { leases_.on_change(std::move(fn)); }

 private:
  cluster::slot_leases& leases_;
};

}  // namespace hooklog::http
