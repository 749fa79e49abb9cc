#include "engine/audit_bundle.hpp"

#include <unordered_set>

#include "engine/leaf_entry.hpp"
#include "engine/merkle_store.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/time_util.hpp"

namespace hooklog {
namespace {

error bad(std::string message) { return make_error(head_errc::bad_head, std::move(message)); }

// The event's bundle JSON from its record, entry and proof path.
nlohmann::json event_json_of(const record& r, const std::string& entry,
                             const std::vector<hash256>& path) {
  nlohmann::json p = nlohmann::json::array();
  for (const auto& h : path) p.push_back(merkle::to_hex(h));
  return {{"event_id", event_id_for(r.seq)},
          {"seq", r.seq},
          {"tenant", r.tenant},
          {"source", r.source},
          {"type", r.type},
          {"entity", {{"kind", r.entity_kind}, {"id", r.entity_id}}},
          {"occurred_at", format_rfc3339(r.occurred_at)},
          {"recorded_at", format_rfc3339(r.recorded_at)},
          {"body", r.body},
          {"entry", base64_encode(entry)},
          {"path", p}};
}

// Equal with the same kinds: nlohmann's == takes 2 and 2.0 (or 0 and -0) for the same number,
// but a bundle is refused for any edit, and a float could stand for another integer past 2^53.
// (Not by comparing dump()s: a decoded entry's body may hold bytes that are not UTF-8.)
bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
  // An integer is one however nlohmann holds it (a value built from an int64, one parsed as
  // unsigned); a float only equals a float.
  if (a.is_number_integer() && b.is_number_integer()) return a == b;
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y)
      if (x.key() != y.key() || !same_json(x.value(), y.value())) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_json(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

std::string first_difference(const nlohmann::json& want, const nlohmann::json& got) {
  for (auto it = want.begin(); it != want.end(); ++it)
    if (!got.contains(it.key()) || !same_json(got[it.key()], it.value())) return it.key();
  for (auto it = got.begin(); it != got.end(); ++it)
    if (!want.contains(it.key())) return it.key();
  return "";
}

}  // namespace

result<nlohmann::json> make_bundle(const event_log& log, scan_query q, const tree_head& head,
                                   const std::array<std::uint8_t, 32>& public_key,
                                   bundle_stats* stats) {
  q.kind = record_kind::event_received;
  bundle_stats st;
  std::vector<record> selected;
  auto n = log.scan(q, [&](const record_view& v, std::string_view) {
    if (v.seq > head.tree_size) {
      ++st.left_out;
      return true;
    }
    selected.push_back(v.to_record());
    return true;
  });
  if (!n) return n.err();
  nlohmann::json events = nlohmann::json::array();
  for (const record& r : selected) {
    auto p = merkle::prove_inclusion(log, r.seq, head.tree_size);
    if (!p) return p.err();
    if (p->root != head.root)
      return bad("the log's tree of size " + std::to_string(head.tree_size) +
                 " does not have the head's root hash: the log differs from what was signed");
    auto entry = leaf_entry_of(r);
    if (!entry) return entry.err();
    events.push_back(event_json_of(r, *entry, p->path));
    ++st.events;
  }
  if (stats) *stats = st;
  return nlohmann::json{{"format", kBundleFormat},
                        {"head", head_to_json(head)},
                        {"public_key", base64_encode(std::string_view(
                                           reinterpret_cast<const char*>(public_key.data()), 32))},
                        {"events", std::move(events)}};
}

result<bundle_report> verify_bundle(std::string_view bytes,
                                    const std::optional<std::array<std::uint8_t, 32>>& pinned_key) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    return bad("the bundle is not valid JSON (byte " + std::to_string(e.byte) + ")");
  }
  if (!j.is_object()) return bad("the bundle is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "format" && it.key() != "head" && it.key() != "public_key" && it.key() != "events")
      return bad("the bundle has an unknown field \"" + it.key() + "\"");
  if (!j.contains("format") || j["format"] != kBundleFormat)
    return bad("format: not \"" + std::string(kBundleFormat) + "\"");
  bundle_report rep;
  // The key and the head's signature.
  std::optional<std::string> key;
  if (j.contains("public_key") && j["public_key"].is_string())
    key = base64_decode_canonical(j["public_key"].get<std::string>());
  if (!key || key->size() != 32) return bad("public_key: not base64 of a 32-byte Ed25519 key");
  std::copy(key->begin(), key->end(), rep.public_key.begin());
  if (pinned_key && *pinned_key != rep.public_key)
    return bad("public_key: not the key given with --public-key");
  if (!j.contains("head")) return bad("head: missing");
  auto head = head_from_json(j["head"]);
  if (!head) return bad(head.err().message);
  if (!same_json(head_to_json(*head), j["head"])) {
    std::string field = first_difference(head_to_json(*head), j["head"]);
    // "timestamp" is written from "timestamp_us": when they disagree, the one the signature
    // does not cover is the one edited.
    if (field == "timestamp" && !verify_head(*head, rep.public_key)) field = "timestamp_us";
    return bad("head: field \"" + field + "\" is not what the signed values give");
  }
  if (!verify_head(*head, rep.public_key))
    return bad("head: the signature does not verify with the public key (tree size " +
               std::to_string(head->tree_size) + ")");
  rep.head = *head;
  // Each event: its fields from its entry, its proof to the head's root.
  if (!j.contains("events") || !j["events"].is_array()) return bad("events: not an array");
  std::size_t i = 0;
  std::unordered_set<std::uint64_t> seen;  // each event once: a copy would count twice
  for (const auto& ev : j["events"]) {
    const std::string where = "event " + std::to_string(i) +
                              (ev.is_object() && ev.contains("event_id") && ev["event_id"].is_string()
                                   ? " (" + ev["event_id"].get<std::string>() + ")"
                                   : std::string());
    if (!ev.is_object() || !ev.contains("entry") || !ev["entry"].is_string() ||
        !ev.contains("path") || !ev["path"].is_array())
      return bad(where + ": needs an entry and a path");
    auto entry = base64_decode_canonical(ev["entry"].get<std::string>());
    if (!entry) return bad(where + ": entry is not base64");
    auto rec = record_from_leaf_entry(*entry);
    if (!rec) return bad(where + ": entry is not a record: " + rec.err().message);
    if (rec->kind != record_kind::event_received) return bad(where + ": entry is not an event");
    std::vector<hash256> path;
    for (const auto& h : ev["path"]) {
      hash256 x;
      if (!h.is_string() || !merkle::from_hex(h.get<std::string>(), x))
        return bad(where + ": path holds something that is not a 64-digit hex hash");
      path.push_back(x);
    }
    const nlohmann::json want = event_json_of(*rec, *entry, path);
    if (!same_json(want, ev))
      return bad(where + ": field \"" + first_difference(want, ev) + "\" does not match the entry");
    if (!seen.insert(rec->seq).second)
      return bad(where + ": seq " + std::to_string(rec->seq) + " is in the bundle twice");
    if (rec->seq == 0 || rec->seq > head->tree_size)
      return bad(where + ": seq " + std::to_string(rec->seq) + " is not in the head's tree of size " +
                 std::to_string(head->tree_size));
    if (!merkle::verify_inclusion(merkle::leaf_hash(*entry), rec->seq - 1, head->tree_size, path,
                                  head->root))
      return bad(where + ": the inclusion proof does not lead to the head's root hash");
    ++i;
  }
  rep.events = i;
  if (j.dump() + "\n" != bytes)
    return bad("the bundle is not in its canonical form (compact JSON, sorted keys, one final "
               "newline): it was edited");
  return rep;
}

}  // namespace hooklog
