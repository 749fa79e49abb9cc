#pragma once
// Audit bundles (docs/AUDIT.md): one JSON file an auditor checks offline, without trusting
// hooklog. Canonical form: the compact JSON dump with sorted keys and one final "\n":
//
//   {"events":[<event>...],"format":"hooklog-audit-bundle/1","head":<signed head>,
//    "public_key":"<base64 of the 32-byte Ed25519 key>"}
//   <event> = {"body","entity":{"id","kind"},"entry","event_id","occurred_at","path",
//              "recorded_at","seq","source","tenant","type"}
//
// `entry` (base64) is the record's Merkle leaf entry (engine/leaf_entry.hpp): its leaf hash is
// SHA-256(0x00 || entry); `path` (hex) its RFC 9162 inclusion proof in the head's tree; every
// other event field is read out of `entry` again by the verifier and must be equal.
// verify_bundle refuses a bundle with any byte changed, naming what failed first.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/event_log.hpp"
#include "engine/tree_head.hpp"

namespace hooklog {

inline constexpr std::string_view kBundleFormat = "hooklog-audit-bundle/1";

struct bundle_stats {
  std::uint64_t events = 0;
  std::uint64_t left_out = 0;  // matching events newer than the head (not in its tree)
};

// The bundle of the events matching `q` (events only) with seq <= head.tree_size, each proven
// against `head`. Memory grows with the selection (one JSON document).
result<nlohmann::json> make_bundle(const event_log& log, scan_query q, const tree_head& head,
                                   const std::array<std::uint8_t, 32>& public_key,
                                   bundle_stats* stats = nullptr);

struct bundle_report {
  std::uint64_t events = 0;
  tree_head head;
  std::array<std::uint8_t, 32> public_key{};
};

// Checks a bundle file's bytes: JSON, structure, the head's signature, every event's fields
// against its entry, every inclusion proof against the head's root, the canonical form. With
// `pinned_key`, the bundle's key must be that one. The error message names what failed.
result<bundle_report> verify_bundle(std::string_view bytes,
                                    const std::optional<std::array<std::uint8_t, 32>>& pinned_key = {});

}  // namespace hooklog
