#pragma once
// Error codes of cluster mode (engine/cluster): the NATS connection, the JetStream stream of a
// cell, publishing and materializing. The message says what failed and where (the URLs, the
// stream, the setting).
#include <string>
#include <string_view>
#include <system_error>

#include "engine/result.hpp"

namespace hooklog::cluster {

enum class cluster_errc {
  success = 0,
  bad_config,        // a cluster setting is invalid (URL list, cell name, replicas, ages)
  unreachable,       // no NATS server of the list answers
  nats_failure,      // a NATS or JetStream call failed; the message names it and the status text
  stream_mismatch,   // the cell's stream exists with other settings (the message names the setting)
  timeout,           // JetStream did not answer (publish ack, stream info) in time
  stopped,           // the publisher or materializer was stopped before the work completed
  bad_message,       // a stream message does not decode as a record (docs/FORMAT.md, cluster)
  not_materialized,  // the stream acknowledged the record, this node did not apply it in time
  aged_out,          // the stream no longer holds the seqs after this node's log
  bad_snapshot,      // a peer's log snapshot is cut off, of another cell, short or does not verify
};

const std::error_category& cluster_category() noexcept;
inline std::error_code make_error_code(cluster_errc e) noexcept {
  return {static_cast<int>(e), cluster_category()};
}
inline error make_error(cluster_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}
std::string_view cluster_errc_name(cluster_errc e) noexcept;

}  // namespace hooklog::cluster

template <>
struct std::is_error_code_enum<hooklog::cluster::cluster_errc> : std::true_type {};
