#include "http/refusal_log.hpp"

#include <string>

#include "engine/logger.hpp"

namespace hooklog::http {

void log_refusal(unsigned status, std::string_view body, nlohmann::json fields) {
  const auto lvl = status >= 500 ? logging::level::error : logging::level::info;
  if (!logging::enabled(lvl)) return;
  static logging::log_sampler sampler(10);
  std::uint64_t suppressed = 0;
  if (!sampler.allow(std::to_string(status), suppressed)) return;
  fields["code"] = status;
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    fields["error"] = j["error"].value("code", "");
    fields["message"] = j["error"].value("message", "");
  }
  if (suppressed) fields["suppressed"] = suppressed;
  logging::write(lvl, "http.refused", "request refused", fields);
}

}  // namespace hooklog::http
