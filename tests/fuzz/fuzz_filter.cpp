// Fuzz target: payload filters. The input up to the first '\n' is the filter (JSON, the
// endpoint's "filter"), the rest is the event body. Oracles:
//  - parse never throws; a parsed filter round-trips through to_json();
//  - matches_body(body) (the text scanner) agrees with matches(doc) on the parsed body, and
//    a body that is not JSON matches no non-empty filter (filter.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "projections/filter.hpp"
#include "tests/fuzz/fuzz_check.hpp"

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
  if (doc.is_discarded()) {
    FUZZ_CHECK(!by_scan || f->empty());
  } else {
    FUZZ_CHECK(by_scan == f->matches(doc));
  }
  return 0;
}
