// hooklog export [--data DIR] [--out FILE] [--from T] [--to T] [--time recorded|occurred]
//                [--type T] [--tenant T] [--source S] [--entity KIND:ID]
// Writes the matching events as NDJSON export lines (engine/backfill.hpp): raw body,
// normalized fields, hashes. Opens the log read-only (safe while the server runs).
// --out FILE appears only when the export succeeded (tools/cli_out_file.hpp).
#include <cstdio>

#include "engine/audit_bundle.hpp"
#include "engine/backfill.hpp"
#include "engine/head_publisher.hpp"
#include "tools/cli_common.hpp"
#include "tools/cli_out_file.hpp"
#include "tools/cli_public_key.hpp"

namespace hooklog::cli {

int cmd_export(int argc, char** argv) {
  auto app =
      make_app("export",
               "Writes the matching events as NDJSON export lines (raw body, normalized fields,\n"
               "hashes; times in RFC 3339). Opens the log read-only: safe while the server runs.");
  std::string data, out_path, from_s, to_s, time = "recorded", entity, head_key;
  bool proof = false;
  scan_query q;
  add_data_flag(*app, data);
  app->add_option("--out", out_path,
                  "the file to write (- or absent: stdout); it appears only when the export\n"
                  "succeeded (written beside it, then renamed), an existing one is left as it\n"
                  "was on a refusal");
  app->add_option("--from", from_s, "events at or after this time (RFC 3339 or microseconds)");
  app->add_option("--to", to_s, "events before this time (RFC 3339 or microseconds)");
  app->add_option("--time", time,
                  "which time --from/--to select on: recorded (default) or occurred");
  app->add_option("--type", q.type, "only this event type");
  app->add_option("--tenant", q.tenant, "only this tenant");
  app->add_option("--source", q.source, "only this source");
  app->add_option("--entity", entity, "only this entity: KIND or KIND:ID");
  app->add_flag("--proof", proof,
                "write an audit bundle instead (one JSON file: the events, their inclusion\n"
                "proofs against the latest signed tree head, the head, the public key)");
  std::string key_arg;
  app->add_option("--head-key-file", head_key,
                  "with --proof: the head key the server signs with (<data>/head.key)");
  app->add_option("--public-key", key_arg,
                  "with --proof: the head's public key instead of a key file (base64 of the 32\n"
                  "bytes, or a file with it or GET /v1/audit/public-key's answer); cluster nodes\n"
                  "derive their key from --secret-key and keep no head.key");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  const auto [from, to] = parse_time_range(from_s, to_s, time);
  if (time == "occurred") {
    q.occurred_from = from;
    q.occurred_to = to;
  } else {
    q.recorded_from = from;
    q.recorded_to = to;
  }
  if (!entity.empty()) split_entity(entity, q.entity_kind, q.entity_id);
  log_options lo;
  lo.dir = data_dir(data);
  lo.read_only = true;
  auto log = event_log::open(lo);
  if (!log) {
    std::fprintf(stderr, "hooklog export: %s\n", log.err().message.c_str());
    return 2;
  }
  // A new export file is private (0600) like the data directory it comes from; an existing one
  // keeps its mode. Every return or throw before commit() leaves nothing at --out.
  out_file out;
  if (const std::string why = out.open(out_path); !why.empty()) {
    std::fprintf(stderr, "hooklog export: %s\n", why.c_str());
    return kExitFailure;
  }
  if (proof) {
    auto latest = latest_head_in_log(**log);
    if (!latest || !*latest) {
      std::fprintf(stderr, "hooklog export: %s\n",
                   !latest ? latest.err().message.c_str()
                           : "no signed tree head in the log yet (POST /v1/audit/heads)");
      return kExitFailure;
    }
    public_key key{};
    std::string key_from;
    if (!key_arg.empty()) {
      if (!head_key.empty()) throw usage_error("give --head-key-file or --public-key, not both");
      auto k = public_key_arg(key_arg);
      if (!k) throw usage_error("--public-key must be base64 of a 32-byte Ed25519 key (or a file with it)");
      key = *k;
      key_from = "--public-key " + key_arg;
    } else {
      key_from = head_key.empty() ? lo.dir + "/head.key" : head_key;
      auto signer = head_signer::load(key_from, lo.dir);
      if (!signer) {
        std::fprintf(stderr, "hooklog export: %s\n", signer.err().message.c_str());
        return kExitFailure;
      }
      key = signer->public_key();
    }
    // The bundle carries this key: a head it does not verify would make a bundle that fails.
    if (!verify_head((*latest)->first, key)) {
      std::fprintf(stderr,
                   "hooklog export: the latest signed tree head (size %llu) does not verify with "
                   "the key of %s: give the key the server signs with (--head-key-file, or "
                   "--public-key for a cluster node)\n",
                   static_cast<unsigned long long>((*latest)->first.tree_size), key_from.c_str());
      return kExitFailure;
    }
    bundle_stats st;
    auto b = make_bundle(**log, q, (*latest)->first, key, &st);
    if (!b) {
      std::fprintf(stderr, "hooklog export: %s\n", b.err().message.c_str());
      return kExitFailure;
    }
    out.stream() << b->dump() << "\n";
    if (const std::string why = out.commit(); !why.empty()) {
      std::fprintf(stderr, "hooklog export: %s\n", why.c_str());
      return kExitFailure;
    }
    std::fprintf(stderr, "exported %llu events with proofs against the tree head of size %llu",
                 static_cast<unsigned long long>(st.events),
                 static_cast<unsigned long long>((*latest)->first.tree_size));
    if (st.left_out)
      std::fprintf(stderr, " (%llu newer matching events are not in it yet)",
                   static_cast<unsigned long long>(st.left_out));
    std::fprintf(stderr, "\n");
    return kExitOk;
  }
  auto n = export_events(**log, q, out.stream());
  if (!n) {
    std::fprintf(stderr, "hooklog export: %s\n", n.err().message.c_str());
    return kExitFailure;
  }
  if (const std::string why = out.commit(); !why.empty()) {
    std::fprintf(stderr, "hooklog export: %s\n", why.c_str());
    return kExitFailure;
  }
  std::fprintf(stderr, "exported %llu events\n", static_cast<unsigned long long>(*n));
  return 0;
}

}  // namespace hooklog::cli
