#pragma once
// A thin, checked RAII layer over the NATS C client (libnats 3.4): the connection to a list of
// servers (with reconnect settings), its JetStream context, and the stream of a cell. Every
// failure is a result<T> with cluster_errc and a message naming the URLs or the stream, e.g.
// "cannot reach NATS at nats://127.0.0.1:4222: no server available for connection".
//
// Ownership: `connection` owns the natsConnection and closes/destroys it in its destructor;
// `jetstream` owns a jsCtx and must be destroyed before the connection it came from. The raw
// handles are exposed for the few calls this layer does not wrap (KV buckets, subscriptions);
// the caller never destroys them.
//
// Thread safety: as the C client (a connection and a JetStream context may be used from any
// thread concurrently).
#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cluster/cluster_errc.hpp"

namespace hooklog::cluster {

// "what: <status text>[: <library detail>]" with the C client's last error of this thread.
error nats_error(natsStatus s, const std::string& what,
                 cluster_errc code = cluster_errc::nats_failure);

// Parses "nats://host:port[,nats://host:port...]" (spaces around commas allowed). Each entry must
// be nats:// or tls:// with a host; an empty list is refused (cluster_errc::bad_config).
result<std::vector<std::string>> parse_urls(std::string_view list);

struct connect_options {
  std::vector<std::string> urls;
  std::string name;                                 // the client name the servers show
  std::chrono::milliseconds connect_timeout{2000};  // per server, at connect
  std::chrono::milliseconds reconnect_wait{250};    // between rounds over the list
  int max_reconnect = -1;                           // -1: try forever once connected
  int reconnect_buffer_bytes = 32 << 20;            // published while disconnected, resent later
};

class connection {
 public:
  // Connects to the first server of `opts.urls` that answers (in the order given). When none
  // does: cluster_errc::unreachable, "cannot reach NATS at <urls>: <why>".
  static result<std::unique_ptr<connection>> connect(const connect_options& opts);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  natsConnection* handle() const { return nc_; }
  const std::string& urls_text() const { return urls_text_; }
  // The URL of the server currently connected to ("" while disconnected).
  std::string connected_url() const;
  bool connected() const;

 private:
  connection() = default;
  natsConnection* nc_ = nullptr;
  std::string urls_text_;
};

class jetstream {
 public:
  // A JetStream context on `conn`. `opts` (may be null) carries the async-publish settings
  // (ack handlers, max pending); its closures must outlive this object.
  static result<std::unique_ptr<jetstream>> open(const connection& conn, jsOptions* opts = nullptr);
  ~jetstream();
  jetstream(const jetstream&) = delete;
  jetstream& operator=(const jetstream&) = delete;
  jsCtx* handle() const { return js_; }

 private:
  jetstream() = default;
  jsCtx* js_ = nullptr;
};

// The stream of a cell: `HOOKLOG_<CELL>` (upper case) on subject `hooklog.<cell>.records`, file
// storage, limits retention with no maximum but `max_age` (0 = keep everything), a
// deduplication window, deletes and purges denied (an audit log).
struct stream_settings {
  std::string cell;
  int replicas = 3;
  std::chrono::seconds max_age{0};
  std::chrono::seconds duplicate_window{120};
};

// A cell name: 1-64 of [A-Za-z0-9_-] (it becomes a stream name and a subject token).
result<void> check_cell_name(std::string_view cell);
std::string stream_name(std::string_view cell);
std::string stream_subject(std::string_view cell);

struct stream_state {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;  // 0: empty
  std::uint64_t messages = 0;
};

// cluster_errc::timeout from these two: JetStream did not answer (a leader election, e.g. of a
// stream another node just created); worth retrying. Creates the stream when missing; when it
// exists, checks its subjects, storage, replicas,
// retention, maximum age and duplicate window against `s` and refuses a difference with
// cluster_errc::stream_mismatch naming the setting, both values and the flag that sets it.
result<stream_state> ensure_stream(const jetstream& js, const stream_settings& s);
// The stream's current state (cluster_errc::nats_failure when it does not exist).
result<stream_state> get_stream_state(const jetstream& js, std::string_view cell);

}  // namespace hooklog::cluster
