#pragma once
// The one JSON error shape of the HTTP API:
//   {"error":{"code":"payload_too_large","message":"...","details":{...}}}
// `code` is a stable snake_case identifier clients may switch on; `message` is for humans.
#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "http/delivery/message.hpp"

namespace hooklog::http {

http_response json_error(unsigned status, std::string_view code, std::string_view message);
// `details` must be a JSON object (anything else is wrapped as {"value": details}).
http_response json_error(unsigned status, std::string_view code, std::string_view message,
                         const nlohmann::json& details);

}  // namespace hooklog::http
