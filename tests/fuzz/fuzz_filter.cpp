// Fuzz target: payload filters. The input up to the first '\n' is the filter (JSON, the
// endpoint's "filter"), the rest is the event body. Oracles:
//  - parse never throws; a parsed filter round-trips through to_json();
//  - matches_body(body) (the text scanner) agrees with matches(doc) on a body that is valid
//    JSON. On other bodies it only must not crash: the scan is lenient by design, the log
//    holds only bodies that were valid JSON when ingested (json_path.hpp). Bodies with a
//    repeated object key are skipped too: the scan takes the first, a DOM the last, a known
//    and accepted difference (json_path.cpp).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "projections/filter.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {
bool has_repeated_key(std::string_view body) {
  using json = nlohmann::json;
  std::vector<std::set<std::string>> open;
  bool repeated = false;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) open.emplace_back();
    else if (ev == json::parse_event_t::object_end && !open.empty()) open.pop_back();
    else if (ev == json::parse_event_t::key && !open.empty() &&
             !open.back().insert(parsed.get<std::string>()).second)
      repeated = true;
    return true;
  };
  const json parsed = json::parse(body, cb, false);  // only the callback matters
  (void)parsed;
  return repeated;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos) return 0;
  const std::string_view filter_text = in.substr(0, nl);
  const std::string_view body = in.substr(nl + 1);

  auto fj = nlohmann::json::parse(filter_text, nullptr, false);
  if (fj.is_discarded()) return 0;
  auto f = hooklog::projections::payload_filter::parse(fj);
  if (!f) return 0;

  auto again = hooklog::projections::payload_filter::parse(f->to_json());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->to_json() == f->to_json());

  const bool by_scan = f->matches_body(body);
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_discarded() && !has_repeated_key(body)) FUZZ_CHECK(by_scan == f->matches(doc));
  return 0;
}
