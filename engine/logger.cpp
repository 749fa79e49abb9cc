#include "engine/logger.hpp"

#include <atomic>
#include <chrono>
#include <ctime>

namespace hooklog::logging {

namespace {

struct sink {
  std::mutex mu;
  std::FILE* out = stderr;
  format fmt = format::text;
};

sink& the_sink() {
  static sink s;
  return s;
}

std::atomic<int> g_min{static_cast<int>(level::info)};

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_text_value(std::string& out, const nlohmann::json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    const bool quote = s.empty() || s.find_first_of(" \"=\n\r\t\\") != std::string::npos;
    out += quote ? v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : s;
  } else {
    out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace

std::optional<level> parse_level(std::string_view s) {
  if (s == "debug") return level::debug;
  if (s == "info") return level::info;
  if (s == "warn" || s == "warning") return level::warn;
  if (s == "error") return level::error;
  return std::nullopt;
}

std::optional<format> parse_format(std::string_view s) {
  if (s == "text") return format::text;
  if (s == "json") return format::json;
  return std::nullopt;
}

std::string_view level_name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

void configure(level min_level, format f, std::FILE* out) {
  auto& s = the_sink();
  std::lock_guard g(s.mu);
  s.out = out ? out : stderr;
  s.fmt = f;
  g_min.store(static_cast<int>(min_level));
}

bool enabled(level l) {
  return static_cast<int>(l) >= g_min.load(std::memory_order_relaxed);
}

std::string timestamp_micros(std::int64_t us) {
  std::int64_t secs = us / 1'000'000, frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

void write(level l, std::string_view event, std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(l)) return;
  auto& s = the_sink();
  format fmt;
  {
    std::lock_guard g(s.mu);
    fmt = s.fmt;
  }
  const std::string ts = timestamp_micros(now_us());
  std::string line;
  if (fmt == format::json) {
    nlohmann::ordered_json j;
    j["ts"] = ts;
    j["level"] = level_name(l);
    j["event"] = event;
    j["msg"] = msg;
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it)
        if (it.key() != "ts" && it.key() != "level" && it.key() != "event" && it.key() != "msg")
          j[it.key()] = it.value();
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    std::string name(level_name(l));
    for (auto& c : name) c = static_cast<char>(c - 'a' + 'A');
    name.resize(5, ' ');
    line = ts + " " + name + " " + std::string(event) + ": " + std::string(msg);
    // Scalars first, then objects and arrays (a configuration reads best at the end).
    if (fields.is_object())
      for (const bool structured : {false, true})
        for (auto it = fields.begin(); it != fields.end(); ++it) {
          if (it.value().is_structured() != structured) continue;
          line += ' ';
          line += it.key();
          line += '=';
          append_text_value(line, it.value());
        }
  }
  // One line, one write: no interleaving; control characters are escaped in both formats
  // (JSON escapes them; text values with a newline are JSON-quoted; msg is cleaned here).
  for (auto& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  line += '\n';
  std::lock_guard g(s.mu);
  std::fwrite(line.data(), 1, line.size(), s.out);
  std::fflush(s.out);
}

std::int64_t log_sampler::now_second() { return now_us() / 1'000'000; }

bool log_sampler::allow(std::string_view key, std::uint64_t& suppressed) {
  return allow_at(key, now_second(), suppressed);
}

bool log_sampler::allow_at(std::string_view key, std::int64_t second, std::uint64_t& suppressed) {
  suppressed = 0;
  std::lock_guard g(mu_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    if (slots_.size() >= 1024) return true;
    it = slots_.emplace(std::string(key), slot{}).first;
  }
  slot& s = it->second;
  if (s.second != second) {
    s.second = second;
    s.used = 0;
  }
  if (s.used >= per_second_) {
    ++s.dropped;
    return false;
  }
  ++s.used;
  suppressed = s.dropped;
  s.dropped = 0;
  return true;
}

}  // namespace hooklog::logging
