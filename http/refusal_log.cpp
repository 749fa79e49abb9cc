#include "http/refusal_log.hpp"

#include <string>
#include <utility>

#include "engine/logger.hpp"

namespace hooklog::http {

void log_refusal(unsigned status, std::string_view body, nlohmann::json fields) {
  const auto lvl = status >= 500 ? logging::level::error : logging::level::info;
  static logging::log_sampler sampler(10);
  sampler.write(lvl, std::to_string(status), "http.refused", "request refused", [&] {
    fields["code"] = status;
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      fields["error"] = j["error"].value("code", "");
      fields["message"] = j["error"].value("message", "");
    }
    return std::move(fields);
  });
}

}  // namespace hooklog::http
