#include "http/delivery/delivery_errc.hpp"

namespace hooklog::http {

namespace {
class delivery_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.delivery"; }
  std::string message(int c) const override { return std::string(delivery_errc_name(static_cast<delivery_errc>(c))); }
};
}  // namespace

std::string_view delivery_errc_name(delivery_errc e) noexcept {
  switch (e) {
    case delivery_errc::success: return "success";
    case delivery_errc::bad_url: return "bad_url";
    case delivery_errc::ssrf: return "ssrf";
    case delivery_errc::dns: return "dns";
    case delivery_errc::refused: return "refused";
    case delivery_errc::timeout: return "timeout";
    case delivery_errc::tls: return "tls";
    case delivery_errc::protocol: return "protocol";
    case delivery_errc::redirect: return "redirect";
    case delivery_errc::status: return "status";
    case delivery_errc::shutdown: return "shutdown";
    case delivery_errc::invalid_request: return "invalid_request";
  }
  return "unknown";
}

const std::error_category& delivery_category() noexcept {
  static const delivery_category_impl c;
  return c;
}

}  // namespace hooklog::http
