#pragma once
// Helpers shared by the engine tests: making records, opening test logs, damaging records.
#include <lmdb.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "engine/record.hpp"

namespace hooklog::test {

inline record make_event(std::string tenant, std::string type, std::string entity_id,
                         std::int64_t occurred, std::string body = "{\"x\":1}") {
  record r;
  r.kind = record_kind::event_received;
  r.tenant = std::move(tenant);
  r.source = "standard";
  r.type = std::move(type);
  r.entity_kind = "order";
  r.entity_id = std::move(entity_id);
  r.occurred_at = occurred;
  r.body = std::move(body);
  return r;
}

inline std::unique_ptr<event_log> open_log(const std::string& dir, bool sync = false,
                                           std::size_t initial = 1u << 20,
                                           std::size_t max = 1ull << 34) {
  log_options o;
  o.dir = dir;
  o.sync = sync;
  o.initial_map_size = initial;
  o.max_map_size = max;
  auto l = event_log::open(o);
  if (!l) throw std::runtime_error(l.err().message);
  return std::move(*l);
}

// The seqs one scan hands to its callback, in order; `stop` filled as scan() fills it. Throws
// when the scan fails.
inline std::vector<std::uint64_t> scan_seqs(const event_log& log, const scan_query& q,
                                            scan_stop* stop = nullptr) {
  std::vector<std::uint64_t> out;
  auto n = log.scan(
      q,
      [&](const record_view& v, std::string_view) {
        out.push_back(v.seq);
        return true;
      },
      stop);
  if (!n) throw std::runtime_error(n.err().message);
  if (*n != out.size()) throw std::runtime_error("scan counted another number of matches");
  return out;
}

inline std::uint64_t append_one(event_log& log, record r) {
  std::vector<record> v{std::move(r)};
  auto out = log.append(v);
  if (!out[0]) throw std::runtime_error(out[0].err().message);
  return out[0]->seq;
}

// Changes the meta of the index env of the data directory `data_dir` (not open), as an earlier
// build or a crash would have left it: `edit` gets a write transaction and the meta database.
inline void edit_index_meta(const std::string& data_dir,
                            const std::function<void(lmdb::txn&, const lmdb::dbi&)>& edit) {
  auto e = lmdb::env::open(data_dir + "/log/index", 0, 64u << 20, 16);
  if (!e) throw std::runtime_error(e.err().message);
  auto t = lmdb::txn::begin(*e, false);
  if (!t) throw std::runtime_error(t.err().message);
  auto meta = lmdb::dbi::open(*t, "meta", 0);
  if (!meta) throw std::runtime_error(meta.err().message);
  edit(*t, *meta);
  if (auto c = t->commit(); !c) throw std::runtime_error(c.err().message);
}

// Rewrites the stored bytes of record `seq` through `mutate`, behind the log's back, as bit rot
// or tampering would (one write transaction of the log env). Throws when the record is missing.
inline void rewrite_record(event_log& log, std::uint64_t seq, const std::function<void(std::string&)>& mutate) {
  auto t = lmdb::txn::begin(log.raw_env(), false);
  if (!t) throw std::runtime_error(t.err().message);
  const std::string key = bytes::be64(seq);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  if (mdb_get(t->handle(), log.records_dbi(), &k, &v) != 0) throw std::runtime_error("no record " + std::to_string(seq));
  std::string b(static_cast<const char*>(v.mv_data), v.mv_size);
  mutate(b);
  MDB_val nv{b.size(), b.data()};
  if (mdb_put(t->handle(), log.records_dbi(), &k, &nv, 0) != 0) throw std::runtime_error("mdb_put failed");
  if (auto c = t->commit(); !c) throw std::runtime_error(c.err().message);
}

// Flips one byte near the end of record `seq` (its checksum then fails), as bit rot would.
inline void damage_record(event_log& log, std::uint64_t seq) {
  rewrite_record(log, seq, [](std::string& b) { b[b.size() - 3] ^= 0x01; });
}

}  // namespace hooklog::test
