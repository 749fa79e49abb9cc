#include "engine/backfill.hpp"

#include <cctype>
#include <istream>
#include <iterator>
#include <optional>
#include <ostream>

#include <nlohmann/json.hpp>

#include "engine/bytes.hpp"
#include "engine/json_text.hpp"
#include "engine/source_time.hpp"
#include "engine/time_util.hpp"

namespace hooklog {
namespace {

constexpr std::string_view kExportPrefix = "{\"_export\":1";
constexpr std::string_view kExportLeafKeyPrefix = "export-leaf:";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// How far ahead of this machine's clock a restored recorded_at may be (clocks of two machines
// differ): further, and every later record of the log would be pinned to that time.
constexpr std::int64_t kMaxRestoredSkewMicros = 5 * 60 * 1'000'000LL;

// What makes a restored record unfit for the log, or nullopt: checked as strictly as the
// normalizer checks an event (its source is loaded, type and tenant are text without control
// characters, index keys within the field limit, no reserved entity kind, known flags only, the
// body a JSON object within the body and nesting limits) and its recorded_at not in the future.
std::optional<std::string> restored_fault(const record& r, const source_registry* sources,
                                          const normalize_limits& lim, std::int64_t now) {
  if (sources == nullptr || !sources->has(r.source))
    return "no source named \"" + r.source + "\" is loaded";
  if (r.tenant.empty()) return std::string("the tenant is empty");
  // Every field the normalizer checks for control characters (type, tenant, event id, entity,
  // statuses, idempotency key) and keeps within max_field_bytes.
  const std::pair<const char*, const std::string*> keys[] = {
      {"the type", &r.type},
      {"the tenant", &r.tenant},
      {"native_id", &r.native_id},
      {"idempotency_key", &r.idempotency_key},
      {"the entity kind", &r.entity_kind},
      {"the entity id", &r.entity_id},
      {"the previous status", &r.status_from},
      {"the status", &r.status_to}};
  for (const auto& [what, v] : keys) {
    if (auto f = find_text_fault(*v)) return std::string(what) + " holds " + *f;
    if (v->size() > lim.max_field_bytes)
      return std::string(what) + " is " + std::to_string(v->size()) + " bytes long, more than " +
             std::to_string(lim.max_field_bytes);
  }
  if (is_reserved_entity_kind(r.entity_kind))
    return "the entity kind \"" + r.entity_kind +
           "\" is reserved for hooklog's own records (endpoint, replay, key, tree_head)";
  constexpr std::uint16_t known =
      record_flags::kTestMode | record_flags::kUncataloged | record_flags::kNoDelivery;
  if (r.flags & ~known) return "flags " + std::to_string(r.flags) + " name unknown bits";
  if (r.body.size() > lim.max_body_bytes)
    return "the body is " + std::to_string(r.body.size()) + " bytes long, more than " +
           std::to_string(lim.max_body_bytes);
  // Nested as deep as ingest allows (check_json_bounds gives the position of the level past it).
  if (auto b = check_json_bounds(r.body, lim.max_body_bytes, lim.max_depth); !b)
    return "the body: " + b.err().message;
  // parse_json_text, not nlohmann::json::accept: that one took a NUL byte for the end of the
  // text, so `{"a":1}\0 anything` was stored (and hashed, and delivered) as JSON.
  const auto at = r.body.find_first_not_of(" \t\r\n");
  if (at == std::string::npos || r.body[at] != '{')
    return std::string("the body is not a JSON object");
  if (auto parsed = parse_json_text(r.body); !parsed)
    return "the body is not a JSON object: " + parsed.err().message;
  // Integer microseconds (older exports) are not range-checked by the RFC 3339 parser.
  if (!timestamp_in_range(r.occurred_at) || !timestamp_in_range(r.recorded_at))
    return std::string("occurred_at or recorded_at is outside years 1..9999");
  if (r.recorded_at > now + kMaxRestoredSkewMicros)
    return "recorded_at " + format_rfc3339(r.recorded_at) + " is in the future";
  return std::nullopt;
}

}  // namespace

importer::importer(log_writer& writer, const source_registry* sources, import_options opts)
    : writer_(writer), sources_(sources), opts_(std::move(opts)) {
  names_.reserve(1024);
}

importer::~importer() { finish(); }

void importer::refuse(const std::string& name, std::size_t line_no, std::string message) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard g(mutex_);
  if (refusals_.size() < opts_.max_refusals_kept) refusals_.push_back({name, line_no, std::move(message)});
}

void importer::line(std::string_view text, const std::string& name, std::size_t line_no) {
  text = trim(text);
  if (text.empty() || input_refused_) return;
  read_.fetch_add(1, std::memory_order_relaxed);
  const bool first = !input_started_;
  input_started_ = true;
  if (opts_.source.empty()) {  // an export: every line is an export line
    if (!text.starts_with(kExportPrefix))
      return refuse(name, line_no, "not an export line (events of a source are imported with --source)");
    auto r = record_from_export_line(text);
    if (!r) return refuse(name, line_no, r.err().message);
    if (auto f = restored_fault(*r, sources_, opts_.limits, now_micros()))
      return refuse(name, line_no, "export line: " + *f);
    if (!opts_.deliver) r->flags |= record_flags::kNoDelivery;
    batch_.push_back(std::move(*r));
  } else {
    // Every line is an event of the source, whatever it starts with; an input that is an
    // export (its first line is one) is refused whole rather than stored as payloads.
    if (first && text.starts_with(kExportPrefix)) {
      input_refused_ = true;
      return refuse(name, line_no,
                    "the input is a hooklog export (its first line is an export line): import "
                    "exports without --source");
    }
    if (!sources_)
      return refuse(name, line_no, "no sources are loaded to read an event of " + opts_.source);
    ingest_input in;
    in.source = opts_.source;
    in.body = text;
    in.type_hint = opts_.type_hint;
    in.tenant = opts_.tenant;
    auto ev = sources_->normalize(in, opts_.limits);
    if (!ev) return refuse(name, line_no, ev.err().message);
    record r = source_registry::to_record(*ev, text);
    // Per the source's dedup, like HTTP ingest; an import is idempotent whatever the source
    // says, so an event left without a key gets the content key ingest would derive.
    if (r.idempotency_key.empty()) r.idempotency_key = body_hash_key(r.type, text);
    if (!opts_.deliver) r.flags |= record_flags::kNoDelivery;
    batch_.push_back(std::move(r));
  }
  batch_lines_.emplace_back(&name, line_no);
  if (batch_.size() >= opts_.batch_records) flush();
}

void importer::flush() {
  if (batch_.empty()) return;
  {
    std::unique_lock g(mutex_);
    cv_.wait(g, [&] { return in_flight_ < opts_.max_batches_in_flight; });
    ++in_flight_;
  }
  auto lines = std::make_shared<std::vector<std::pair<const std::string*, std::size_t>>>(std::move(batch_lines_));
  batch_lines_.clear();
  std::vector<record> b;
  b.swap(batch_);
  batch_.reserve(opts_.batch_records);
  writer_.submit(std::move(b), [this, lines](log_writer::outcomes&& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!out[i]) {
        refuse(*(*lines)[i].first, (*lines)[i].second, out[i].err().what());
        continue;
      }
      (out[i]->duplicate ? duplicate_ : stored_).fetch_add(1, std::memory_order_relaxed);
    }
    {
      std::lock_guard g(mutex_);
      --in_flight_;
    }
    cv_.notify_all();
  });
}

void importer::add(std::istream& in, const std::string& name, const std::function<void()>& tick) {
  names_.push_back(name);
  input_started_ = input_refused_ = false;
  const std::string& nm = names_.back();  // reserve() keeps references stable (1024 inputs)
  // Peek the first non-blank byte: '[' = a JSON array.
  char first = 0;
  while (in && std::isspace(static_cast<unsigned char>(in.peek()))) in.get();
  first = static_cast<char>(in.peek());
  std::size_t since_tick = 0;
  auto maybe_tick = [&] {
    if (tick && ++since_tick >= 4096) {
      since_tick = 0;
      tick();
    }
  };
  if (first == '[') {
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes_.fetch_add(all.size(), std::memory_order_relaxed);
    // Split the top-level elements by hand: their bytes are kept exactly. An element that is
    // not an object or array (a string, number, true, false, null) is refused with its line, once
    // per element; so is anything after the array's closing bracket.
    int depth = 0;
    bool in_str = false, esc = false, in_scalar = false, closed = false;
    std::size_t line_no = 1, start = std::string::npos, start_line = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const char ch = all[i];
      if (ch == '\n') ++line_no;
      if (in_str) {
        if (esc) esc = false;
        else if (ch == '\\') esc = true;
        else if (ch == '"') in_str = false;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(ch))) continue;
      if (closed) {
        refuse(nm, line_no, "text after the JSON array's closing bracket");
        break;
      }
      if (ch == '[' || ch == '{') {
        ++depth;
        if (depth == 2 && start == std::string::npos) {
          start = i;
          start_line = line_no;
        }
      } else if (ch == ']' || ch == '}') {
        --depth;
        in_scalar = false;
        if (depth == 1 && start != std::string::npos) {
          line(std::string_view(all).substr(start, i + 1 - start), nm, start_line);
          start = std::string::npos;
          maybe_tick();
        }
        if (depth == 0) closed = true;
      } else if (depth == 1) {
        if (ch == ',') {
          in_scalar = false;
        } else if (!in_scalar) {
          refuse(nm, line_no, "an array element is not a JSON object");
          in_scalar = true;
        }
      }
      if (ch == '"') in_str = true;
    }
    if (depth != 0) refuse(nm, line_no, "the JSON array is not closed");
  } else {
    std::string text;
    std::size_t line_no = 0;
    while (std::getline(in, text)) {
      ++line_no;
      bytes_.fetch_add(text.size() + 1, std::memory_order_relaxed);
      line(text, nm, line_no);
      maybe_tick();
    }
  }
  flush();
  if (tick) tick();
}

void importer::finish() {
  flush();
  std::unique_lock g(mutex_);
  cv_.wait(g, [&] { return in_flight_ == 0; });
}

import_counts importer::counts() const {
  return {read_.load(), stored_.load(), duplicate_.load(), refused_.load(), bytes_.load()};
}

std::vector<import_refusal> importer::refusals() const {
  std::lock_guard g(mutex_);
  return refusals_;
}

std::string export_line(const record_view& v) {
  nlohmann::ordered_json j;
  j["_export"] = 1;
  j["seq"] = v.seq;
  j["id"] = event_id_for(v.seq);
  j["source"] = v.source;
  j["type"] = v.type;
  j["tenant"] = v.tenant;
  j["occurred_at"] = format_rfc3339(v.occurred_at);
  j["recorded_at"] = format_rfc3339(v.recorded_at);
  if (v.entity_kind.empty()) j["entity"] = nullptr;
  else j["entity"] = {{"kind", v.entity_kind}, {"id", v.entity_id}};
  if (v.status_from.empty() && v.status_to.empty()) j["status"] = nullptr;
  else j["status"] = {{"from", v.status_from}, {"to", v.status_to}};
  j["native_id"] = v.native_id;
  j["idempotency_key"] = v.idempotency_key;
  j["flags"] = v.flags;
  j["mode"] = (v.flags & record_flags::kTestMode) ? "test" : "live";
  j["hash"] = bytes::to_hex(v.chain_hash, 32);
  j["leaf_hash"] = bytes::to_hex(v.leaf_hash, 32);
  j["body"] = v.body;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

result<record> record_from_export_line(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  auto bad = [](std::string m) { return make_error(errc::invalid_record, "export line: " + std::move(m)); };
  if (!j.is_object()) return bad("not valid JSON");
  try {
    record r;
    r.kind = record_kind::event_received;
    r.source = j.at("source").get<std::string>();
    r.type = j.at("type").get<std::string>();
    r.tenant = j.at("tenant").get<std::string>();
    // RFC 3339 since issue 13; integer microseconds in older exports.
    const auto time = [&](const char* k, bool required) -> std::int64_t {
      const auto it = j.find(k);
      if (it == j.end()) {
        if (required) throw std::runtime_error(std::string(k) + " is missing");
        return 0;
      }
      // An unsigned value past 2^63 would wrap (2^64-1 read as -1 µs): refused by name.
      if (it->is_number_unsigned() &&
          it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        throw std::runtime_error(std::string(k) + " " + it->dump() + " is past the year 9999");
      if (it->is_number_integer()) return it->get<std::int64_t>();
      if (it->is_string())
        if (auto t = parse_rfc3339(it->get<std::string>())) return *t;
      throw std::runtime_error(std::string(k) + " is neither an RFC 3339 time nor microseconds");
    };
    r.occurred_at = time("occurred_at", true);
    r.occurred_given = true;  // required: an exported 1970-01-01T00:00:00Z is kept as it was
    r.recorded_at = time("recorded_at", false);
    if (const auto& e = j.at("entity"); !e.is_null()) {
      r.entity_kind = e.at("kind").get<std::string>();
      r.entity_id = e.at("id").get<std::string>();
    }
    if (const auto& s = j.at("status"); !s.is_null()) {
      r.status_from = s.at("from").get<std::string>();
      r.status_to = s.at("to").get<std::string>();
    }
    r.native_id = j.value("native_id", std::string());
    r.idempotency_key = j.value("idempotency_key", std::string());
    // An integer of 16 bits; json::value() truncated 65537 to 1, and took true or 4.9 for 1, 4.
    if (const auto f = j.find("flags"); f != j.end()) {
      if (!f->is_number_unsigned() || f->get<std::uint64_t>() > 0xFFFF)
        throw std::runtime_error("flags " + f->dump() + " is not an integer of 16 bits");
      r.flags = f->get<std::uint16_t>();
    }
    r.body = j.at("body").get<std::string>();
    if (r.idempotency_key.empty()) {
      // A record without a key is keyed by its exported leaf hash (unique per record of the
      // exporting log, the same on every import of the line): importing an export again
      // stores nothing, and two keyless events with the same body stay two. A line without
      // a leaf hash gets the content key a native line would.
      const std::string leaf = j.value("leaf_hash", std::string());
      const bool hex = leaf.size() == 64 && leaf.find_first_not_of("0123456789abcdef") == std::string::npos;
      r.idempotency_key = hex ? std::string(kExportLeafKeyPrefix) + leaf : body_hash_key(r.type, r.body);
    }
    if (r.source.empty() || r.type.empty()) return bad("source and type must not be empty");
    return r;
  } catch (const std::exception& e) {
    return bad(std::string("a field is missing or has the wrong type: ") + e.what());
  }
}

result<std::uint64_t> export_events(const event_log& log, scan_query q, std::ostream& out,
                                    const std::function<void(std::uint64_t)>& tick) {
  q.kind = record_kind::event_received;
  std::uint64_t n = 0;
  std::string err;
  auto r = log.scan(q, [&](const record_view& v, std::string_view) {
    try {
      out << export_line(v) << '\n';
    } catch (const std::exception& e) {
      err = "record " + std::to_string(v.seq) + ": " + e.what();
      return false;
    }
    ++n;
    if (tick && n % 10000 == 0) tick(n);
    return static_cast<bool>(out);
  });
  if (!r) return r.err();
  if (!err.empty()) return make_error(errc::invalid_record, err);
  if (!out) return make_error(errc::io_failure, "the export could not be written");
  return n;
}

}  // namespace hooklog
