#pragma once
// Shared by the api_*.cpp route files; not part of the public interface.
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/api.hpp"
#include "http/delivery/replay_manager.hpp"
#include "http/json_error.hpp"

namespace hooklog::http::detail {

// One request in flight: what the handler needs, and the one way to answer it.
struct call : std::enable_shared_from_this<call> {
  call(api_context& c, http_request&& r, responder s) : ctx(c), req(std::move(r)), res(std::move(s)) {}
  api_context& ctx;
  http_request req;
  responder res;
  principal who;
  std::vector<std::string> params;  // the {placeholders} of the route, decoded
  static const std::string kUnmatched;  // the route of a request no route matched
  const std::string* route = &kUnmatched;  // the route pattern, for metrics (route_names())
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void reply(http_response r);
  // reply() from another thread (a write's completion): `self` (the caller's last reference,
  // usually) goes with the answer to the session's I/O thread, which drops it after taking the
  // answer, so that the call, the request and `hold` are freed in the thread that allocated
  // them (responder::operator() with a release).
  static void reply_from_elsewhere(std::shared_ptr<call>&& self, http_response r);
  std::shared_ptr<void> hold;  // freed with the call (e.g. what a write's completion needs)
  // Counts and times the answer (metrics) and logs refusals (4xx/5xx, sampled): reply() does
  // it; a route that answers through `res` directly (streams, /metrics) calls it itself.
  void observe(unsigned status, std::string_view body = {});
  void reply_json(unsigned status, const nlohmann::json& body);
  void fail(unsigned status, std::string_view code, std::string_view message,
            const nlohmann::json& details = nlohmann::json::object());
  void not_found(std::string_view what);
  // A tenant key sees only its tenant: the tenant a query is limited to.
  std::string scope_tenant(std::string_view requested) const;
  // True when `tenant` is visible to the caller.
  bool can_see(std::string_view tenant) const { return who.admin || who.tenant == tenant; }
  // Waits (briefly) until projections include this caller's last management write.
  void await_projections();
};
using call_ptr = std::shared_ptr<call>;

// call::observe for an answer given without a call (api::check_head: a refusal from the head).
void observe_answer(api_context& ctx, const std::string& route, const http_request& req,
                    unsigned status, std::string_view body,
                    std::chrono::steady_clock::time_point started);

// Parses the body as a JSON object: the one parse of every API request body that is JSON
// (ingest payloads go through the normalizer, which applies the same bound). The text is checked
// against options.limits first (check_json_bounds): over max_body_bytes answers 413
// payload_too_large, nesting deeper than max_depth 400 too_deep (details: line, column, limit),
// invalid JSON or not an object 400 bad_json, a non-JSON Content-Type 415; then nullopt.
// empty_is_object: an empty body is {} (routes whose body is optional).
// Refuses (422 `code`, naming it) a member of `body` not in `allowed`: a misspelled option was
// ignored and its default taken without a word. False when it answered.
bool only_members(call& c, const nlohmann::json& body,
                  std::initializer_list<std::string_view> allowed, std::string_view code);
// The optional {"reason": "..."} body of disable, enable, delete and cancel: "" when none or
// null; nullopt when it answered (bad JSON, another member, a reason that is not a string of at
// most 1024 bytes: 422 `code`).
std::optional<std::string> reason_of(call& c, std::string_view code);

// The time the log recorded `seq` at: what a read, a restart and every node of a cell show for
// the record a management write just stored (an answer built from the clock differed by a few
// µs to ms). The clock's now when the record cannot be read.
std::int64_t recorded_at_of(const api_context& ctx, std::uint64_t seq);

// A tenant name given in a management body (a key's, an endpoint's): nullopt when it is good,
// else why not ("must be a non-empty string of at most 256 bytes", "must not hold control
// characters (...)"), to follow "tenant: ".
std::optional<std::string> tenant_name_problem(std::string_view tenant);
std::optional<nlohmann::json> json_body(call& c, bool empty_is_object = false);
// The request's Content-Type in lower case (media types are case-insensitive, RFC 9110 8.3.1);
// nullopt when it has none.
std::optional<std::string> content_type_lower(const call& c);
// ?limit= within [1, max_page], default 100; nullopt after answering 400.
std::optional<std::size_t> page_limit(call& c);
// ?order=asc (the default) or desc (newest first): true for desc; nullopt after answering 400.
std::optional<bool> descending_param(call& c);
// A time parameter: RFC 3339, or integer microseconds; nullopt = absent. Answers 400 on junk.
bool time_param(call& c, std::string_view name, std::optional<std::int64_t>& out);
// ?min_seq=N (read-your-writes, docs/CLUSTER.md): runs `then` once this node's log has applied
// seq N; at once (on this thread) when it has or when the parameter is absent, the usual case.
// In cluster mode the request waits up to kMinSeqWait in ctx.min_seq (min_seq_waiter.hpp, off
// the I/O thread: `then` runs on the waiter's thread). Past the wait, or at once on a single
// node (where every seq a write answered is applied before the answer, so a higher one is no
// seq yet): 503 min_seq_not_reached with Retry-After: 1 and details {parameter, applied_seq};
// junk: 400 bad_parameter.
inline constexpr std::chrono::milliseconds kMinSeqWait{5000};
void after_min_seq(const call_ptr& c, std::function<void()> then);
// What a failed write means to its client: 503 storage_full with Retry-After when the storage
// is full (errc::storage_full, or map_full at --max-map-size; nothing stored); 503
// cluster_unavailable with Retry-After in cluster mode (the stream did not complete it in time:
// it may have been stored); 503 log_unavailable when the log cannot take writes (stopped,
// read-only); 500 log_failure otherwise.
struct write_failure {
  unsigned status = 500;
  const char* code = "log_failure";
  std::string message;
  int retry_after_seconds = 0;  // 0: no Retry-After
};
write_failure describe_write_failure(const error& e);
// Answers describe_write_failure(e).
void fail_write(call& c, const error& e);
bool storage_full(const error& e);
inline constexpr int kStorageFullRetryAfterSeconds = 30;

nlohmann::json event_json(const record_view& v, bool include_body);
nlohmann::json entity_json(std::string_view kind, std::string_view id);

// Route handlers.
void ingest_one(const call_ptr& c);
void ingest_batch(const call_ptr& c);
void list_event_types(const call_ptr& c);
void list_events(const call_ptr& c);
void get_event(const call_ptr& c);
void get_timeline(const call_ptr& c);
void list_attempts(const call_ptr& c);
void audit_verify(const call_ptr& c);
void audit_head(const call_ptr& c);
void latest_head(const call_ptr& c);         // api_proofs.cpp
void publish_head(const call_ptr& c);
void head_public_key(const call_ptr& c);
void inclusion_proof(const call_ptr& c);
void consistency_proof(const call_ptr& c);
// GET /v1/admin/snapshot (api_snapshot.cpp): a consistent copy of the log, streamed.
void admin_snapshot(const call_ptr& c);
void create_endpoint(const call_ptr& c);
void list_endpoints(const call_ptr& c);
void get_endpoint(const call_ptr& c);
void get_endpoint_secret(const call_ptr& c);
void update_endpoint(const call_ptr& c);
void delete_endpoint(const call_ptr& c);
void rotate_secret(const call_ptr& c);
void disable_endpoint(const call_ptr& c);
void enable_endpoint(const call_ptr& c);
void create_key(const call_ptr& c);
void list_keys(const call_ptr& c);
void revoke_key(const call_ptr& c);
void whoami(const call_ptr& c);
void serve_console_index(const call_ptr& c);
void serve_console_file(const call_ptr& c);
void healthz(const call_ptr& c);
void readyz(const call_ptr& c);
void metrics_text(const call_ptr& c);
void create_replay(const call_ptr& c);
void list_replays(const call_ptr& c);
void get_replay(const call_ptr& c);
void cancel_replay(const call_ptr& c);
// Creates a replay for spec (endpoint visibility checked, tenant set from the endpoint);
// `then` answers once the request record is durable. Used by POST /v1/replays and by
// POST /v1/endpoints with "replay_from".
// With an Idempotency-Key (POST /v1/replays), a repeat answers the original replay (202) and a
// reused key with another body 422 idempotency_key_reused (http/idempotency.hpp).
void start_replay(const call_ptr& c, replay_spec spec, std::function<void(const replay_info&)> then,
                  const nlohmann::json* idempotent_body = nullptr);

}  // namespace hooklog::http::detail
