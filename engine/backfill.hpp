#pragma once
// Backfill: importing files of historical events into the log, and exporting a
// range of the log as NDJSON that imports back into the same events.
//
// Import input: NDJSON (one event per line, blank lines skipped) or a JSON array of
// events (the first non-blank byte is '['; each element's line is where it starts).
// The mode is the caller's, never a line's: with a source (`--source`) every line is a
// native event of it, whatever its bytes (an input whose first line is an export line is
// refused whole: it is an export given with --source); without a source every line must be
// an export line.
// A native line is normalized with its source (occurred time from the payload) and
// stored with its exact bytes; its idempotency key is the one HTTP ingest gives it (the
// source's dedup: the payload's event id or body_hash_key), else body_hash_key, so
// importing the same file twice stores nothing the second time, and a body imported and
// then posted again over HTTP is a duplicate.
// An export line (`{"_export":1,...}`, see export_line) is restored as exported, every
// field, flags and recorded_at included (the log keeps recorded_at monotonic), after the
// checks the normalizer makes of an event (its source is loaded, type, tenant, event id,
// idempotency key, entity and statuses without control characters and within max_field_bytes, no reserved entity kind, known
// flags, a JSON object body within max_body_bytes) and a recorded_at at most 5 minutes
// ahead of this clock. A restored record without an idempotency key gets
// "export-leaf:" + the line's leaf_hash (else body_hash_key), so importing an export twice
// stores nothing the second time. Importing a whole export into an empty data directory
// reproduces the same records, hashes included, for records that had a key and, without
// `deliver`, carried kNoDelivery already (as an import's or a deliver=false batch's do).
// Unless `deliver`, every record (native or restored) carries record_flags::kNoDelivery (a
// backfill never floods endpoints; a replay sends what is wanted).
//
// Thread safety: an importer is used by one thread; its writer callbacks update
// counters that progress() reads atomically. Memory: NDJSON is read line by line and
// at most max_batches_in_flight batches are queued; a JSON array is read whole.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"
#include "engine/source.hpp"

namespace hooklog {

struct import_options {
  std::string source;     // the source of every line; empty = the input is an export
  std::string tenant;     // the tenant of every line, whatever the payload names; empty = the payload's
  std::string type_hint;  // like ?type= on ingest
  bool deliver = false;   // false: kNoDelivery on every record
  normalize_limits limits;
  std::size_t batch_records = 4096;
  std::size_t max_batches_in_flight = 4;
  std::size_t max_refusals_kept = 1000;
};

struct import_refusal {
  std::string input;  // file name ("-" for stdin)
  std::size_t line = 0;
  std::string message;
};

struct import_counts {
  std::uint64_t read = 0, stored = 0, duplicate = 0, refused = 0, bytes = 0;
};

class importer {
 public:
  // `sources`: the loaded sources (a restored record's source must be one of them).
  importer(log_writer& writer, const source_registry* sources, import_options opts);
  ~importer();
  importer(const importer&) = delete;
  importer& operator=(const importer&) = delete;

  // Reads `in` to its end; `tick` (optional) is called every few thousand events.
  void add(std::istream& in, const std::string& name, const std::function<void()>& tick = {});
  // Waits until every submitted batch is committed.
  void finish();
  import_counts counts() const;
  // The refusals so far (the first max_refusals_kept), in input order per batch.
  std::vector<import_refusal> refusals() const;

 private:
  void line(std::string_view text, const std::string& name, std::size_t line_no);
  void flush();
  void refuse(const std::string& name, std::size_t line_no, std::string message);

  log_writer& writer_;
  const source_registry* sources_;
  import_options opts_;
  std::vector<record> batch_;
  std::vector<std::pair<const std::string*, std::size_t>> batch_lines_;
  std::vector<std::string> names_;  // stable storage for input names
  std::atomic<std::uint64_t> read_{0}, stored_{0}, duplicate_{0}, refused_{0}, bytes_{0};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t in_flight_ = 0;
  bool input_started_ = false, input_refused_ = false;  // of the input add() reads
  std::vector<import_refusal> refusals_;
};

// One export line (no trailing newline): {"_export":1,"seq","id","source","type",
// "tenant","occurred_at" (µs),"recorded_at" (µs),"entity":{kind,id}|null,
// "status":{from,to}|null,"native_id","idempotency_key","flags","mode","hash" (chain,
// hex),"leaf_hash" (hex),"body" (the original bytes as a JSON string)}.
std::string export_line(const record_view& v);
// The record an export line describes (kind event_received; seq and hashes are the log's).
result<record> record_from_export_line(std::string_view line);
// Writes every event matching `q` (kind is forced to event_received) as export lines,
// in the order of the scan; memory stays bounded. Returns the number written.
result<std::uint64_t> export_events(const event_log& log, scan_query q, std::ostream& out,
                                    const std::function<void(std::uint64_t)>& tick = {});

}  // namespace hooklog
