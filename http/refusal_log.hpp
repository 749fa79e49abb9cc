#pragma once
// The one place refused requests are logged ("http.refused"): API answers with a status >= 400
// (api.cpp) and the server's own answers before any handler (server_options::on_refused:
// malformed 400, 413, 431, 503/429 at accept). Info for 4xx, error for 5xx; at most 10 lines a
// second per status code, the next line carrying "suppressed" (how many were left out).
// `fields` gets code, error and message (from the JSON error body) and suppressed added.
//
// Thread safety: any thread.
#include <nlohmann/json.hpp>
#include <string_view>

namespace hooklog::http {

void log_refusal(unsigned status, std::string_view body, nlohmann::json fields);

}  // namespace hooklog::http
