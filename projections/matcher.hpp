#pragma once
// The in-memory subscription matcher: for a normalized event (tenant, mode,
// type, body) it yields the enabled endpoints whose type patterns and payload
// filter match. It never scans all endpoints: endpoints are indexed by
// (tenant, mode), then by exact type (hash map), by type prefix (hash map per
// prefix length, probing only the lengths that exist) and a wildcard list.
// The body is only looked at for candidates with a payload filter, and then
// only the values at the filter's paths are parsed (filter.hpp, json_path.hpp).
//
// The candidates of a (tenant, mode, type), the endpoints whose patterns match before any
// payload filter, are memoised per (tenant, mode) by type: an event of a type seen before costs
// one hash look-up instead of the exact, prefix and wildcard probes. A change of that tenant's
// endpoints (upsert, remove, clear) drops its memo, so results are the same as without it; at
// most kMemoTypes types are kept per (tenant, mode) (then the memo starts over).
//
// It is derived from the subscriptions projection: rebuilt from its state at
// open and updated as endpoint records apply.
// Thread safety: none (match() updates the memo and the body view); the runner thread owns it. Views returned by
// match() are valid until the next upsert/remove/clear.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "projections/endpoint.hpp"
#include "projections/filter.hpp"
#include "projections/string_hash.hpp"

namespace hooklog::projections {

class matcher {
 public:
  matcher() = default;
  matcher(const matcher&) = delete;
  matcher& operator=(const matcher&) = delete;

  // Adds or replaces `e`; a disabled endpoint is removed instead.
  static constexpr std::size_t kMemoTypes = 4096;

  void upsert(const endpoint& e);
  void remove(std::string_view id);
  void clear();
  std::size_t size() const { return by_id_.size(); }

  // Appends the ids of matching endpoints to `out` (cleared first), each once,
  // in no particular order.
  void match(std::string_view tenant, bool test_mode, std::string_view type, std::string_view body,
             std::vector<std::string_view>& out) const;
  // Counts upsert/remove/clear calls. While it is unchanged, an id view match() returned stays
  // valid and its address names that endpoint alone (pending keys a memo by it).
  std::uint64_t changes() const { return changes_; }

 private:
  using sv_hash = string_hash;
  struct entry {
    std::string id;
    std::string tenant;
    bool test_mode = false;
    std::vector<type_pattern> patterns;
    payload_filter filter;
    mutable std::uint64_t stamp = 0;  // last match() call that collected it (dedupe)
  };
  using bucket = std::vector<const entry*>;
  using bucket_map = std::unordered_map<std::string, bucket, sv_hash, std::equal_to<>>;
  struct mode_index {
    bucket_map exact;
    bucket_map prefix;
    std::map<std::size_t, std::size_t> prefix_length_refs;  // length -> patterns using it
    std::vector<std::size_t> prefix_lengths;                // keys of the above, ascending
    bucket any;
    // type -> candidates (patterns matched, filters not yet applied), in collection order.
    mutable bucket_map memo;
    bool empty() const { return exact.empty() && prefix.empty() && any.empty(); }
  };
  struct tenant_index {
    mode_index modes[2];  // [0] live, [1] test
  };

  // The candidates of `type` in `mi` (each once), before payload filters.
  bucket collect(const mode_index& mi, std::string_view type) const;
  void index(const entry* e);
  void unindex(const entry* e);

  std::unordered_map<std::string, std::unique_ptr<entry>, sv_hash, std::equal_to<>> by_id_;
  std::unordered_map<std::string, tenant_index, sv_hash, std::equal_to<>> tenants_;
  mutable std::uint64_t stamp_ = 0;
  std::uint64_t changes_ = 0;
  mutable body_view view_{{}};  // the current event's body, reset by each match()
};

}  // namespace hooklog::projections
