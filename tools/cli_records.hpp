#pragma once
// How `hooklog tail` shows a log record of any kind: one JSON line (--json) or
// one text line. Secrets never appear (endpoint bodies are shown as the API
// shows endpoints; a rotation shows only until when the old secret is valid).
#include <string>

#include <nlohmann/json.hpp>

#include "engine/record.hpp"

namespace hooklog::cli {

// An event: its export line (engine/backfill.hpp), so `tail --json` output can be
// imported. Any other kind: {"seq","kind","recorded_at","tenant","entity", ...kind
// fields}; times in RFC 3339 with microseconds.
std::string record_json_line(const record_view& v);
// "SEQ TIME KIND TENANT TYPE ENTITY ..." plus, for an attempt, its outcome, HTTP
// status, attempt number and latency; for an event, its status change.
std::string record_text_line(const record_view& v);

}  // namespace hooklog::cli
