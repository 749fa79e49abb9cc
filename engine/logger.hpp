#pragma once
// Structured operator logs: one line per event on stderr (or another FILE*).
//
// Line formats (ts is RFC 3339 UTC with exactly six fraction digits):
//   json: {"ts":"2026-11-30T12:00:00.123456Z","level":"warn","event":"delivery.failed",
//          "msg":"...", <fields>...}                       (one JSON object per line)
//   text: 2026-11-30T12:00:00.123456Z WARN  delivery.failed: <msg> key=value key="a b" ...
// Fields are a JSON object; in text (scalars first, then objects and arrays), strings print
// bare unless they contain a space, '"', '=' or a control character (then JSON-quoted), other
// values as compact JSON. Lines below the configured level are not formatted at all
// (enabled() lets callers skip building fields).
//
// log_sampler: at most `per_second` lines per key per wall-clock second; allow() returns
// false for the rest and counts them; the next allowed line of that key reports the count
// ("suppressed" field) so nothing disappears silently (write() does all of that for one line).
// Keys are bounded (status codes, outcome names): at most 1024 are tracked, beyond that
// everything is allowed.
//
// Thread safety: every function may be called from any thread; a line is written with one
// fwrite under a mutex, so lines never interleave.
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace hooklog::logging {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };
enum class format { text, json };

// "debug"|"info"|"warn"|"error" (also "warning"); nullopt otherwise.
std::optional<level> parse_level(std::string_view s);
// "text"|"json"; nullopt otherwise.
std::optional<format> parse_format(std::string_view s);
std::string_view level_name(level l);

// Process-wide settings (default: info, text, stderr).
void configure(level min_level, format f, std::FILE* out = stderr);
bool enabled(level l);

// Writes one line: `event` is a dotted name ("server.start"), `msg` a sentence for people.
void write(level l, std::string_view event, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());

inline void debug(std::string_view e, std::string_view m,
                  const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(level::debug)) write(level::debug, e, m, f);
}
inline void info(std::string_view e, std::string_view m,
                 const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(level::info)) write(level::info, e, m, f);
}
inline void warn(std::string_view e, std::string_view m,
                 const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(level::warn)) write(level::warn, e, m, f);
}
inline void error(std::string_view e, std::string_view m,
                  const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(level::error)) write(level::error, e, m, f);
}

// RFC 3339 UTC with microseconds: 2026-11-30T12:00:00.123456Z.
std::string timestamp_micros(std::int64_t micros_since_epoch);

class log_sampler {
 public:
  explicit log_sampler(std::uint32_t per_second) : per_second_(per_second) {}
  // True when a line for `key` may be written now; `suppressed` gets the number of lines of
  // this key dropped since the last allowed one.
  bool allow(std::string_view key, std::uint64_t& suppressed);
  // The same at a given wall-clock second (tests).
  bool allow_at(std::string_view key, std::int64_t second, std::uint64_t& suppressed);

  // One sampled line: when level `l` is enabled and a line for `key` may be written now,
  // writes it with the fields make_fields() returns (a callable giving nlohmann::json, called
  // only then) and "suppressed" added when lines of this key were left out since the last one.
  // Returns whether it wrote.
  template <class MakeFields>
  bool write(level l, std::string_view key, std::string_view event, std::string_view msg,
             MakeFields&& make_fields) {
    return write_at(now_second(), l, key, event, msg, std::forward<MakeFields>(make_fields));
  }
  // The same at a given wall-clock second (tests).
  template <class MakeFields>
  bool write_at(std::int64_t second, level l, std::string_view key, std::string_view event,
                std::string_view msg, MakeFields&& make_fields) {
    std::uint64_t suppressed = 0;
    if (!enabled(l) || !allow_at(key, second, suppressed)) return false;
    nlohmann::json f = make_fields();
    if (suppressed) f["suppressed"] = suppressed;
    logging::write(l, event, msg, f);
    return true;
  }

 private:
  static std::int64_t now_second();
  struct slot {
    std::int64_t second = 0;
    std::uint32_t used = 0;
    std::uint64_t dropped = 0;
  };
  std::uint32_t per_second_;
  std::mutex mu_;
  std::unordered_map<std::string, slot> slots_;
};

}  // namespace hooklog::logging
