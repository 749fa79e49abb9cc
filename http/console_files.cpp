#include "http/console_files.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "engine/errc.hpp"

namespace hooklog::http {

namespace {

bool servable_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 128) return false;
  for (const char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// FNV-1a, 64 bits: an ETag only has to change when the bytes do.
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char ch : bytes) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

std::string_view console_content_type(std::string_view name) {
  struct ext_type {
    const char* ext;
    const char* type;
  };
  static constexpr ext_type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& t : kTypes)
    if (ends_with(name, t.ext)) return t.type;
  return {};
}

result<console_files> console_files::load(const std::string& dir) {
  namespace fs = std::filesystem;
  console_files out;
  out.dir_ = dir;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return make_error(errc::io_failure, "console directory " + dir + ": " + ec.message());
  std::size_t total = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return make_error(errc::io_failure, "console directory " + dir + ": " + ec.message());
    const std::string name = it->path().filename().string();
    if (!servable_name(name) || console_content_type(name).empty()) continue;
    if (!it->is_regular_file(ec)) continue;
    if (out.files_.size() == kMaxFiles)
      return make_error(errc::io_failure, "console directory " + dir + " has more than " +
                                              std::to_string(kMaxFiles) + " files to serve");
    const auto size = it->file_size(ec);
    if (ec || size > kMaxFileBytes)
      return make_error(
          errc::io_failure,
          "console file " + it->path().string() +
              (ec ? ": " + ec.message() : " is over " + std::to_string(kMaxFileBytes) + " bytes"));
    std::ifstream in(it->path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
      return make_error(errc::io_failure,
                        "console file " + it->path().string() + " cannot be read");
    total += body.size();
    if (total > kMaxTotalBytes)
      return make_error(errc::io_failure, "console directory " + dir + " holds more than " +
                                              std::to_string(kMaxTotalBytes) + " bytes to serve");
    console_file f;
    f.etag = etag_of(body);
    f.content_type = std::string(console_content_type(name));
    f.body = std::move(body);
    out.files_.emplace(name, std::move(f));
  }
  if (!out.files_.count("index.html"))
    return make_error(errc::io_failure, "console directory " + dir + " has no index.html");
  return out;
}

const console_file* console_files::find(std::string_view name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace hooklog::http
