#pragma once
// Page cursors of the log's list routes (GET /v1/events, /v1/audit/attempts and their NDJSON
// streams): the scan position a page ended at (event_log::scan's position: hex of an index or
// records key), sealed so that a cursor tells its holder nothing.
//
// Why sealed: a page bounded by --scan-limit ends at the last record it *examined*, which the
// caller's filters may have skipped, and the indexes a walk follows (entity, type, ref_seq) hold
// every tenant's keys. In the clear, that position handed a tenant key another tenant's entity
// id, endpoint id or seq, and told it whether an entity of another tenant exists.
//
// Form: lowercase hex of nonce (12) | AES-256-GCM ciphertext | tag (16), under a key derived
// from the master key (secret_box::derive("hooklog-cursor/v1")), so every node of a cell opens
// the others' cursors (they share --secret-key). The plaintext is the position's length (u16,
// big-endian), its bytes, and zeros up to a multiple of 32 bytes: the cursor's length says the
// position's only to within 32 bytes. The associated data is the caller's scope (scope_of): a
// cursor opens only for the key scope it was given to, a tenant's cursor not for another tenant.
//
// What a cursor still says: that the page stopped at the scan bound (a `next` beside fewer than
// `limit` items), so that more than --scan-limit records were walked; docs/AUDIT.md says so.
//
// Thread safety: free functions over an immutable secret_box.
#include <optional>
#include <string>
#include <string_view>

#include "engine/secret_box.hpp"
#include "http/key_store.hpp"

namespace hooklog::http {

// The associated data a caller's cursors are bound to: "*" for admin keys, else
// "tenant:" + the key's tenant (ingest-only keys read no lists).
std::string cursor_scope(const principal& who);

// The cursor for `position_hex` (a scan position; empty gives empty: no cursor).
std::string seal_cursor(const secret_box& master, std::string_view scope,
                        std::string_view position_hex);

// The position a cursor from seal_cursor holds (hex, as scan_query::after takes it); nullopt
// when it is not one this server gave to this scope (not hex, too short, another scope or key,
// any changed byte). Empty opens as empty.
std::optional<std::string> open_cursor(const secret_box& master, std::string_view scope,
                                       std::string_view cursor);

}  // namespace hooklog::http
