// Fuzz target: the source normalizer. The first byte picks the source (by index into the
// sorted names of data/sources/*.json), the rest is the body. Oracles: normalize never
// crashes or throws; an accepted event's keyed text holds no control character; a normalized
// event fits a log record (encode + decode round-trip).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/record_codec.hpp"
#include "engine/source.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "hooklog_build_paths.hpp"

namespace {
const hooklog::source_registry& registry() {
  static const hooklog::source_registry reg = [] {
    auto r = hooklog::source_registry::load_dir(HOOKLOG_DATA_DIR "/sources");
    if (!r) {
      std::fprintf(stderr, "cannot load sources: %s\n", r.err().what().c_str());
      std::abort();
    }
    return std::move(*r);
  }();
  return reg;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto& reg = registry();
  static const auto names = reg.names();
  const std::string& source = names[data[0] % names.size()];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  hooklog::ingest_input in;
  in.source = source;
  in.body = body;
  // Bit 7 of the selector: also pass a ?type= hint (exercises the hint path).
  if (data[0] & 0x80) in.type_hint = "fuzz.hint";
  auto ev = reg.normalize(in);
  if (!ev) return 0;

  FUZZ_CHECK(ev->source == source);
  // What hooklog keys and prints as text holds no control character (the refusals of
  // normalizer.cpp's control_char).
  for (const std::string* t : {&ev->type, &ev->tenant, &ev->native_id, &ev->entity_kind,
                               &ev->entity_id, &ev->status_from, &ev->status_to})
    FUZZ_CHECK(hooklog::find_control_char(*t) == std::string_view::npos);
  const auto rec = hooklog::source_registry::to_record(*ev, body);
  FUZZ_CHECK(rec.body == body);
  std::string bytes;
  FUZZ_CHECK(hooklog::encode(rec, bytes).ok());
  hooklog::write_checksum(bytes);
  auto v = hooklog::decode(bytes);
  FUZZ_CHECK(v.ok());
  FUZZ_CHECK(v->body == body && v->type == ev->type && v->tenant == ev->tenant);
  return 0;
}
