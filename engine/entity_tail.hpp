#pragma once
// The ix_entity keys of the newest records, held in memory until they are written to the index
// env in one sorted run (log_index; layout: docs/FORMAT.md, "The log's index").
//
// Why: ix_entity's keys are ordered by entity, so a group of records about N entities puts a key
// into N leaves of the tree, and each commit copies every leaf it touches: a page per record
// when the entities differ, whatever the group's size. Held here across groups and written a
// bucket (appended) or a bounded number of keys at a time (log_index::finish()), a busy
// entity's keys share one leaf per write instead of one per group.
//
// The index env's meta `entity_through` says up to which seq ix_entity holds every entity key;
// this tail holds the keys of the seqs after it that the writer has committed (ascending seqs
// per entity). log_index changes it and ix_entity together for readers: its lock is held
// unique across the index commit and the tail's change, and shared across a reader's copy
// (keys()) and the start of its index transaction; the reader keeps the copied seqs past the
// `entity_through` that transaction sees (log_index::entity_keys_after()).
//
// Nothing here is durable: after a crash the keys are taken again from the log's records
// (log_index::open_write()).
//
// Thread safety: none of its own. The owner (log_index) serializes add() and clear() against
// keys(); size(), last_seq() and append_all() are the writer's, on the thread that changes it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hooklog {

class index_key_list;

class entity_tail {
 public:
  // Takes a group's ix_entity keys (bucket, 4 bytes | kind \0 id \0 | seq, 8 bytes BE), each
  // key's seq past every seq held for its entity.
  void add(const std::vector<std::string_view>& bucketed_keys);
  // Forgets every key (they were written).
  void clear();
  // How many keys it holds, and the largest seq among them (0 when empty). Writer's thread.
  std::size_t size() const { return size_; }
  std::uint64_t last_seq() const { return last_seq_; }
  // Appends every key held, in the bucketed form add() took, to `out` (unsorted). Writer's thread.
  void append_all(index_key_list& out, unsigned bucket_bits) const;

  // Appends to `out` the keys held (kind \0 id \0 | seq BE: ix_entity's keys without their
  // bucket) whose seqs are in [from_seq, to_seq]: with `exact`, those of the entity `prefix`
  // (kind \0 id \0); otherwise those of every entity that starts with `prefix` (kind \0). In
  // key order (out.sorted() checks, and sorts only if an id holds a \0); one buffer, not a
  // string per key.
  void keys(std::string_view prefix, bool exact, std::uint64_t from_seq, std::uint64_t to_seq,
            index_key_list& out) const;

 private:
  std::map<std::string, std::vector<std::uint64_t>, std::less<>> seqs_;  // entity -> seqs
  std::size_t size_ = 0;
  std::uint64_t last_seq_ = 0;
};

}  // namespace hooklog
