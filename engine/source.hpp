#pragma once
// Sources: how hooklog reads each platform's native webhook payload.
//
// A source is a JSON file under data/sources/ (format: docs/SOURCES.md). It declares where
// a payload carries its event type, event id, occurred time, tenant, test mode, entity and
// status change, and lists the source's catalog of event types. No platform lives in C++.
//
// source_registry::normalize turns (source, body, URL hint, headers) into a normalized_event
// or a typed error that says what and where; it never changes or keeps the body.
// A registry is immutable after load_dir: normalize may be called from any number of threads.
//
// A refusal's error::field names what is at fault: a JSON pointer into the body ("/folio"),
// kFieldTypeHint for the URL's ?type=, kFieldIdempotencyKey for the Idempotency-Key header;
// empty when nothing the client sent in this request is (e.g. the forced tenant).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "engine/record.hpp"
#include "engine/result.hpp"

namespace hooklog {

enum class source_errc {
  success = 0,
  bad_json,         // the body is not JSON; the message gives line and column
  body_too_large,   // the body is longer than normalize_limits::max_body_bytes
  too_deep,         // arrays/objects nest deeper than normalize_limits::max_depth
  missing_field,    // a required field (or the event type) is absent or null
  wrong_type,       // a field has the wrong JSON type, a bad time, or is too long
  unknown_source,   // no source of that name is loaded
  bad_source_file,  // a source file is malformed; the message names the file and the field
  not_an_object,    // the body is valid JSON but not an object
  duplicate_key,    // a member on the path of a field the source reads appears twice
  bad_value,        // a tenant or type holds a control character (U+0000 to U+001F, U+007F)
};

inline constexpr std::string_view kFieldTypeHint = "?type";
inline constexpr std::string_view kFieldIdempotencyKey = "Idempotency-Key";

const std::error_category& source_category() noexcept;
inline std::error_code make_error_code(source_errc e) noexcept {
  return {static_cast<int>(e), source_category()};
}
inline error make_error(source_errc e, std::string message, std::string field = {}) {
  return error{make_error_code(e), std::move(message), std::move(field)};
}

// How a source de-duplicates events that come without an Idempotency-Key header (the
// source file's "dedup", docs/SOURCES.md). The key lives in the log's idempotency index,
// per tenant and source, so a repeat is found across restarts and rebuilds.
enum class dedup_mode : std::uint8_t {
  event_id,   // the payload's event id; a payload without one is not de-duplicated
  body_hash,  // body_hash_key(type, body): the same bytes with the same type are one event
  none,       // never: only an Idempotency-Key header de-duplicates
};

// The idempotency key derived from an event's content: "sha256:" + hex SHA-256 of the type, a
// 0 byte, then the body byte for byte. The one derivation: HTTP ingest (dedup body_hash) and
// hooklog import (events that have no other key) both use it, so an imported body posted again
// is a duplicate. With the index's tenant and source it identifies (tenant, source, type, body).
std::string body_hash_key(std::string_view type, std::string_view body);

// The offset of the first control character (U+0000 to U+001F, U+007F) in s, or npos.
std::size_t find_control_char(std::string_view s);

// What makes s unfit as the text of a key (a type, a tenant, an idempotency key), or nullopt:
// "the control character U+0009 at byte 3; control characters are not allowed" or "the byte 0xFF
// at byte 1, which is not UTF-8; text must be UTF-8". Text read from a JSON body is UTF-8 already
// (the scanner checks it); a URL's ?type= and a header are not.
std::optional<std::string> find_text_fault(std::string_view s);

struct normalize_limits {
  std::size_t max_body_bytes = 1u << 20;
  int max_depth = 64;
  // Longest accepted value for a string field (type, tenant, ids, statuses, idempotency key):
  // these become LMDB index keys, whose size is bounded.
  std::size_t max_field_bytes = 256;
};

struct ingest_input {
  std::string_view source;           // e.g. "jelp"
  std::string_view body;             // raw bytes, kept byte for byte by the caller
  std::string_view type_hint;        // ?type= from the URL, may be empty
  std::string_view idempotency_key;  // Idempotency-Key header, may be empty
  std::string_view tenant;           // forced tenant (from a tenant API key), may be empty
};

struct normalized_event {
  std::string source, type, tenant, native_id, idempotency_key, entity_kind, entity_id, status_from,
      status_to;
  std::int64_t occurred_at = 0;  // µs since epoch UTC, when occurred_given
  bool occurred_given = false;   // the payload has a time (0 is one: 1970-01-01T00:00:00Z)
  bool test_mode = false;        // live vs test
  bool cataloged = true;         // false when the type is not in the source's catalog
};

struct catalog_entry {
  std::string type, source, description;
};

namespace detail {
struct source_def;
}

class source_registry {
 public:
  // Loads every data/sources/*.json; an error names the file and the field (JSON pointer into
  // the source file). Fails when the directory holds no source file.
  static result<source_registry> load_dir(const std::string& dir);
  // Loads one source file (used by load_dir and by tests); the source name is the file's stem.
  static result<source_registry> load_files(const std::vector<std::string>& files);

  bool has(std::string_view source) const;
  std::vector<std::string> names() const;  // sorted
  std::vector<catalog_entry> catalog()
      const;  // all sources, in a stable order (by source, then file order)

  // Tenant: the forced tenant, else the payload's per the source file, else "default".
  // Idempotency key: the header, else per the source's dedup_mode (the payload's event id, or
  // body_hash_key), else empty. Refused: a tenant or type with a control character
  // (bad_value), a duplicated member on the path of a field the source reads (duplicate_key).
  result<normalized_event> normalize(const ingest_input& in,
                                     const normalize_limits& lim = {}) const;

  // Fills a log record (record.hpp) from a normalized event and the body: kind event_received,
  // flags kTestMode/kUncataloged, fields copied, body copied byte for byte. seq, recorded_at,
  // ref_seq and the hashes are left for the log.
  static record to_record(const normalized_event& ev, std::string_view body);

 private:
  std::vector<std::shared_ptr<const detail::source_def>> sources_;  // sorted by name
  const detail::source_def* find(std::string_view name) const;
};

}  // namespace hooklog

template <>
struct std::is_error_code_enum<hooklog::source_errc> : std::true_type {};
