#include "http/json_error.hpp"

#include <nlohmann/json.hpp>

namespace hooklog::http {

http_response json_error(unsigned status, std::string_view code, std::string_view message) {
  return json_error(status, code, message, nlohmann::json::object());
}

http_response json_error(unsigned status, std::string_view code, std::string_view message,
                         const nlohmann::json& details) {
  nlohmann::json body = {
      {"error",
       {{"code", code},
        {"message", message},
        {"details", details.is_object() ? details : nlohmann::json{{"value", details}}}}}};
  // replace: never throw on invalid UTF-8 in a message that quotes client input.
  return http_response::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace hooklog::http
