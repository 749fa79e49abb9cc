#include "engine/cluster/cluster_errc.hpp"

namespace hooklog::cluster {

namespace {
class cluster_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.cluster"; }
  std::string message(int c) const override {
    return std::string(cluster_errc_name(static_cast<cluster_errc>(c)));
  }
};
}  // namespace

std::string_view cluster_errc_name(cluster_errc e) noexcept {
  switch (e) {
    case cluster_errc::success:
      return "success";
    case cluster_errc::bad_config:
      return "bad_config";
    case cluster_errc::unreachable:
      return "unreachable";
    case cluster_errc::nats_failure:
      return "nats_failure";
    case cluster_errc::stream_mismatch:
      return "stream_mismatch";
    case cluster_errc::timeout:
      return "timeout";
    case cluster_errc::stopped:
      return "stopped";
    case cluster_errc::bad_message:
      return "bad_message";
    case cluster_errc::not_materialized:
      return "not_materialized";
    case cluster_errc::aged_out:
      return "aged_out";
    case cluster_errc::bad_snapshot:
      return "bad_snapshot";
  }
  return "unknown";
}

const std::error_category& cluster_category() noexcept {
  static const cluster_category_impl c;
  return c;
}

}  // namespace hooklog::cluster
