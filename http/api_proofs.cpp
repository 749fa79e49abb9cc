// Verifiable-log routes (docs/AUDIT.md): signed tree heads, the head signing key, inclusion
// proofs of events and consistency proofs between tree sizes.
//
//   GET  /v1/audit/heads/latest            admin: the latest signed head (404 before the first)
//   POST /v1/audit/heads                   admin: sign and append a head now (201)
//   GET  /v1/audit/public-key              any key: the Ed25519 public key
//   GET  /v1/audit/proofs/inclusion        any key (a tenant key: its own events only):
//        ?event_id=&tree_size=               against tree_size, default the latest head's
//   GET  /v1/audit/proofs/consistency      admin: ?first=&second=
#include <charconv>

#include "engine/head_publisher.hpp"
#include "engine/leaf_entry.hpp"
#include "engine/merkle_store.hpp"
#include "http/api_internal.hpp"

namespace hooklog::http::detail {
namespace {

nlohmann::json hex_list(const std::vector<hash256>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& h : v) a.push_back(merkle::to_hex(h));
  return a;
}

// A whole-number query parameter >= min; nullopt = absent; false after answering 400.
bool count_param(call& c, std::string_view name, std::uint64_t min, std::optional<std::uint64_t>& out) {
  auto v = c.req.query_param(name);
  if (!v) return true;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || n < min) {
    c.fail(400, "bad_parameter",
           std::string(name) + " must be a whole number from " + std::to_string(min),
           {{"parameter", name}});
    return false;
  }
  out = n;
  return true;
}

bool heads_available(call& c) {
  if (c.ctx.heads) return true;
  c.fail(503, "heads_unavailable",
         "signed tree heads are not available (the server is read-only and has no head key)");
  return false;
}

// A proof error: a size beyond the tree is the caller's (400 naming the parameter).
void fail_proof(call& c, const error& e, std::string_view parameter) {
  if (e.code == make_error_code(merkle::merkle_errc::bad_range))
    return c.fail(400, "bad_parameter", e.what(), {{"parameter", parameter}});
  if (e.code == make_error_code(merkle::merkle_errc::damaged))
    return c.fail(500, "merkle_damaged", e.what());
  c.fail(500, "log_failure", e.what());
}

}  // namespace

void latest_head(const call_ptr& c) {
  if (!heads_available(*c)) return;
  auto h = c->ctx.heads->latest();
  if (!h) return c->fail(404, "not_found", "no signed tree head was published yet (POST /v1/audit/heads)");
  c->reply_json(200, head_to_json(*h));
}

void publish_head(const call_ptr& c) {
  if (!heads_available(*c)) return;
  c->ctx.heads->publish_async([c](result<tree_head> h) {
    if (!h && h.code() == make_error_code(merkle::merkle_errc::damaged))
      return c->fail(500, "merkle_damaged", h.err().what());  // nothing signed over it
    if (!h) return fail_write(*c, h.err());
    c->reply_json(201, head_to_json(*h));
  });
}

void head_public_key(const call_ptr& c) {
  if (!heads_available(*c)) return;
  const head_signer& s = c->ctx.heads->signer();
  const auto& raw = s.public_key();
  c->reply_json(200, {{"algorithm", "Ed25519"},
                      {"public_key", base64_encode(std::string_view(
                                         reinterpret_cast<const char*>(raw.data()), raw.size()))},
                      {"pem", s.public_key_pem()}});
}

void inclusion_proof(const call_ptr& c) {
  const auto id = c->req.query_param("event_id");
  if (!id || id->empty())
    return c->fail(400, "bad_parameter", "event_id is required", {{"parameter", "event_id"}});
  std::optional<std::uint64_t> size;
  if (!count_param(*c, "tree_size", 1, size)) return;
  const std::string event_id(*id);
  auto seq = seq_from_event_id(event_id);
  if (!seq) return c->not_found("event " + event_id);
  auto r = c->ctx.log.get(*seq);
  if (!r) return c->fail(500, "log_failure", r.err().what());
  if (!*r || (*r)->kind != record_kind::event_received || !c->can_see((*r)->tenant))
    return c->not_found("event " + event_id);
  nlohmann::json out = {{"event_id", event_id}, {"seq", *seq}};
  if (!size) {
    if (!heads_available(*c)) return;
    auto h = c->ctx.heads->latest();
    if (!h || h->tree_size < *seq)
      return c->fail(404, "not_found",
                     "no signed tree head covers event " + event_id +
                         " yet (an admin publishes one with POST /v1/audit/heads)");
    size = h->tree_size;
    out["head"] = head_to_json(*h);
  } else if (*size < *seq) {
    return c->fail(400, "bad_parameter",
                   "event " + event_id + " (seq " + std::to_string(*seq) +
                       ") is not in a tree of size " + std::to_string(*size),
                   {{"parameter", "tree_size"}});
  }
  auto p = merkle::prove_inclusion(c->ctx.log, *seq, *size);  // checked: never a bad path
  if (!p) return fail_proof(*c, p.err(), "tree_size");
  if (out.contains("head") && merkle::to_hex(p->root) != out["head"]["root_hash"])
    return c->fail(500, "merkle_damaged",
                   "Merkle tree damaged: the stored tree of size " + std::to_string(*size) +
                       " does not give the signed head's root hash; `hooklog verify` names the node");
  out["leaf_index"] = p->leaf_index;
  out["tree_size"] = p->tree_size;
  out["leaf_hash"] = merkle::to_hex(p->leaf);
  auto entry = leaf_entry_of(**r);  // SHA-256(0x00 || entry) is the leaf hash
  if (!entry) return c->fail(500, "log_failure", entry.err().what());
  out["entry"] = base64_encode(*entry);
  out["root_hash"] = merkle::to_hex(p->root);
  out["path"] = hex_list(p->path);
  c->reply_json(200, out);
}

void consistency_proof(const call_ptr& c) {
  std::optional<std::uint64_t> first, second;
  if (!count_param(*c, "first", 1, first) || !count_param(*c, "second", 1, second)) return;
  if (!first) return c->fail(400, "bad_parameter", "first is required", {{"parameter", "first"}});
  if (!second) return c->fail(400, "bad_parameter", "second is required", {{"parameter", "second"}});
  if (*first > *second)
    return c->fail(400, "bad_parameter", "first must not be larger than second",
                   {{"parameter", "first"}});
  auto p = merkle::prove_consistency(c->ctx.log, *first, *second);
  if (!p) return fail_proof(*c, p.err(), "second");
  auto r1 = merkle::tree_root(c->ctx.log, *first);
  auto r2 = merkle::tree_root(c->ctx.log, *second);
  if (!r1 || !r2) return c->fail(500, "log_failure", (!r1 ? r1.err() : r2.err()).what());
  c->reply_json(200, {{"first", *first},
                      {"second", *second},
                      {"first_root_hash", merkle::to_hex(*r1)},
                      {"second_root_hash", merkle::to_hex(*r2)},
                      {"path", hex_list(*p)}});
}

}  // namespace hooklog::http::detail
