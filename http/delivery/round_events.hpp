#pragma once
// The events a scheduling round sends, read from the log once per round: the dispatcher picks
// an endpoint's due items, then reads their events together (read()), and an event that several
// endpoints send in the same round is read once for all of them.
//
// read(seqs): seqs ascending. Runs of nearby seqs (each at most kMaxGap after the previous) are
// read with one event_log::for_each (one read transaction, one cursor walk, the records between
// them decoded too), a lone seq with event_log::get. Every record is decoded and its checksum
// checked as before (event_log.hpp: a damaged record is never sent); a run whose walk fails is
// read again seq by seq, so each event gets the outcome get() gives it alone (its own error, or
// "not found" beyond the head).
// find(seq): what read() found (nullptr when read() was not asked for it, or it was erased:
// the dispatcher moves the fields out when no other endpoint needs them, then erases the event).
// clear() at the start of each round: an event is never reused across rounds.
//
// Thread safety: one thread (the dispatcher's).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/event_log.hpp"
#include "engine/result.hpp"

namespace hooklog::http {

class round_events {
 public:
  static constexpr std::uint64_t kMaxGap = 8;

  struct event {
    bool found = false;  // false: beyond the head (or not readable: `failure`)
    std::optional<error> failure;
    std::string tenant, type, body;
  };

  explicit round_events(const event_log& log) : log_(log) {}

  void read(const std::vector<std::uint64_t>& seqs);
  event* find(std::uint64_t seq);
  void erase(std::uint64_t seq) { events_.erase(seq); }  // its fields were moved out
  void clear() { events_.clear(); }

 private:
  void read_one(std::uint64_t seq);
  void read_run(const std::uint64_t* first, const std::uint64_t* last);

  const event_log& log_;
  std::unordered_map<std::uint64_t, event> events_;
};

}  // namespace hooklog::http
