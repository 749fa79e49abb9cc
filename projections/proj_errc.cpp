#include "projections/proj_errc.hpp"

namespace hooklog::projections {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.projections"; }
  std::string message(int c) const override {
    switch (static_cast<proj_errc>(c)) {
      case proj_errc::success: return "success";
      case proj_errc::invalid_endpoint: return "invalid endpoint";
      case proj_errc::invalid_body: return "invalid record body";
      case proj_errc::unknown_projection: return "unknown projection";
      case proj_errc::state_failure: return "projection state failure";
      case proj_errc::stopped: return "projection runner stopped";
      case proj_errc::read_again:
        return "projection state moved: read again";
    }
    return "unknown projections error";
  }
};

}  // namespace

const std::error_category& projections_category() noexcept {
  static const category c;
  return c;
}

std::string_view error_field(const error& e) {
  std::string_view m = e.message;
  auto pos = m.find(": ");
  if (pos == std::string_view::npos) return {};
  return m.substr(0, pos);
}

}  // namespace hooklog::projections
