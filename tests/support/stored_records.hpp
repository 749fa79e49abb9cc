#pragma once
// Records written straight into a data directory's log before a server starts on it: what an
// older version (without a check the API makes now) could have stored.
#include <catch2/catch.hpp>

#include <string>

#include "engine/event_log.hpp"
#include "engine/log_writer.hpp"

namespace hooklog::test {

// Appends `r` to the log of `data_dir` (created when missing) through a log_writer, and closes it.
inline void store_record(const std::string& data_dir, record r) {
  log_options lo;
  lo.dir = data_dir;
  auto log = event_log::open(lo);
  REQUIRE(log);
  log_writer w(**log);
  REQUIRE(w.append(std::move(r)));
  w.stop();
}

// An endpoint_created record of `tenant` for endpoint `id` with `body` (a JSON object's text).
inline record endpoint_created_record(const std::string& tenant, const std::string& id,
                                      std::string body) {
  record r;
  r.kind = record_kind::endpoint_created;
  r.tenant = tenant;
  r.entity_kind = "endpoint";
  r.entity_id = id;
  r.body = std::move(body);
  return r;
}

}  // namespace hooklog::test
