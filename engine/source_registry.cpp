// source_registry: loading source files, the catalog, the error category, to_record.
// The per-event path (normalize) is in normalizer.cpp.
#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_Init: cheaper than EVP (see record_codec.cpp)
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/json_text.hpp"
#include "engine/source.hpp"
#include "engine/source_def.hpp"
#include "engine/utf8.hpp"

namespace hooklog {
namespace {

class source_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hooklog.source"; }
  std::string message(int ev) const override {
    switch (static_cast<source_errc>(ev)) {
      case source_errc::success:
        return "success";
      case source_errc::bad_json:
        return "invalid JSON";
      case source_errc::body_too_large:
        return "body too large";
      case source_errc::too_deep:
        return "JSON nested too deeply";
      case source_errc::missing_field:
        return "missing required field";
      case source_errc::wrong_type:
        return "field of the wrong type";
      case source_errc::unknown_source:
        return "unknown source";
      case source_errc::bad_source_file:
        return "malformed source file";
      case source_errc::not_an_object:
        return "body is not a JSON object";
      case source_errc::duplicate_key:
        return "duplicate key on the path of a field the source reads";
      case source_errc::bad_value:
        return "control character in a tenant or type";
    }
    return "unknown source error";
  }
};

}  // namespace

const std::error_category& source_category() noexcept {
  static const source_category_impl kCategory;
  return kCategory;
}

result<source_registry> source_registry::load_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file(ec)) {
      files.push_back(it->path().string());
    }
  }
  if (ec) {
    return make_error(source_errc::bad_source_file,
                      dir + ": cannot read the source directory: " + ec.message());
  }
  if (files.empty()) {
    return make_error(source_errc::bad_source_file, dir + ": no source file (*.json)");
  }
  std::sort(files.begin(), files.end());
  return load_files(files);
}

result<source_registry> source_registry::load_files(const std::vector<std::string>& files) {
  source_registry reg;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(source_errc::bad_source_file, file + ": cannot open");
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    auto doc = parse_json_text(text);
    if (!doc) return make_error(source_errc::bad_source_file, file + ": " + doc.err().message);
    const std::string name = std::filesystem::path(file).stem().string();
    auto def = detail::compile_source(doc.value(), file, name);
    if (!def) return def.err();
    if (reg.find(name) != nullptr) {
      return make_error(source_errc::bad_source_file,
                        file + ": /source: \"" + name + "\" is defined twice");
    }
    reg.sources_.push_back(std::make_shared<const detail::source_def>(std::move(def.value())));
    std::sort(reg.sources_.begin(), reg.sources_.end(),
              [](const auto& a, const auto& b) { return a->name < b->name; });
  }
  return reg;
}

const detail::source_def* source_registry::find(std::string_view name) const {
  const auto it = std::lower_bound(sources_.begin(), sources_.end(), name,
                                   [](const auto& s, std::string_view n) { return s->name < n; });
  return it != sources_.end() && (*it)->name == name ? it->get() : nullptr;
}

bool source_registry::has(std::string_view source) const {
  return find(source) != nullptr;
}

std::vector<std::string> source_registry::names() const {
  std::vector<std::string> out;
  out.reserve(sources_.size());
  for (const auto& s : sources_) out.push_back(s->name);
  return out;
}

std::vector<catalog_entry> source_registry::catalog() const {
  std::vector<catalog_entry> out;
  for (const auto& s : sources_) out.insert(out.end(), s->events.begin(), s->events.end());
  return out;
}

std::string body_hash_key(std::string_view type, std::string_view body) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, type.data(), type.size());
  const unsigned char zero = 0;
  SHA256_Update(&ctx, &zero, 1);
  SHA256_Update(&ctx, body.data(), body.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr std::string_view kPrefix = "sha256:";
  std::string key(kPrefix.size() + 2 * sizeof digest, '\0');  // one allocation, no temporaries
  kPrefix.copy(key.data(), kPrefix.size());
  for (std::size_t k = 0; k < sizeof digest; ++k) {
    key[kPrefix.size() + 2 * k] = kHex[digest[k] >> 4];
    key[kPrefix.size() + 2 * k + 1] = kHex[digest[k] & 0xF];
  }
  return key;
}

std::size_t find_control_char(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return i;
  }
  return std::string_view::npos;
}

std::optional<std::string> find_text_fault(std::string_view s) {
  char text[48];
  if (const std::size_t at = find_control_char(s); at != std::string_view::npos) {
    std::snprintf(text, sizeof text, "U+%04X at byte %zu", static_cast<unsigned char>(s[at]), at);
    return std::string("the control character ") + text + "; control characters are not allowed";
  }
  if (const std::size_t at = utf8::find_invalid(s); at != std::string_view::npos) {
    std::snprintf(text, sizeof text, "0x%02X at byte %zu", static_cast<unsigned char>(s[at]), at);
    return std::string("the byte ") + text + ", which is not UTF-8; text must be UTF-8";
  }
  return std::nullopt;
}

record source_registry::to_record(const normalized_event& ev, std::string_view body) {
  record r;
  r.kind = record_kind::event_received;
  if (ev.test_mode) r.flags |= record_flags::kTestMode;
  if (!ev.cataloged) r.flags |= record_flags::kUncataloged;
  r.occurred_at = ev.occurred_at;
  r.occurred_given = ev.occurred_given;
  r.tenant = ev.tenant;
  r.source = ev.source;
  r.type = ev.type;
  r.entity_kind = ev.entity_kind;
  r.entity_id = ev.entity_id;
  r.idempotency_key = ev.idempotency_key;
  r.native_id = ev.native_id;
  r.status_from = ev.status_from;
  r.status_to = ev.status_to;
  r.body.assign(body.data(), body.size());
  return r;
}

}  // namespace hooklog
