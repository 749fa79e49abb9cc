#pragma once
// Publishes signed tree heads of the log (engine/tree_head.hpp): on demand (publish()) and
// every `interval` when the log grew since the last head (not counting that head's own
// record). Each head covers the whole tree as committed when it is made and is appended to
// the log as a tree_head record; latest() is the newest head published, found again in the log
// at load() after a restart (latest_head_in_log, once) and on each call (latest_marked_head:
// one index step, for heads other cluster nodes appended).
//
// A head is signed only over a root the records' own leaf hashes give: the tree's stored
// subtree hashes are derived data, and one damaged node made the server sign a wrong root (a
// later consistency check then showed a rewritten log). The publisher carries the perfect
// subtrees computed from the leaves across heads (merkle::leaf_frontier): each head reads the
// leaves added since the last one; the first after a start takes the stored subtrees of the
// latest signed head when they fold to its signed root, else every leaf. A mismatch is
// merkle_errc::damaged and nothing is signed (`hooklog verify` names the node).
//
// Thread safety: every member may be called from any thread; publish() calls are serialized.
// The writer must outlive the publisher; stop() before the writer stops.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/event_log.hpp"
#include "engine/merkle_tree.hpp"
#include "engine/record_sink.hpp"
#include "engine/tree_head.hpp"

namespace hooklog {

using found_head = std::optional<std::pair<tree_head, std::uint64_t>>;

// The latest head published in the log (its last tree_head record) and that record's seq;
// nullopt when none was. Heads carry ref_seq kHeadRefSeq (engine/tree_head.hpp), which no
// other record can: one descending step in the ref index finds the latest, however many
// records share the heads' entity kind (events could, before ingest refused it).
// `examined` (optional) gets how many records the lookup read.
result<found_head> latest_marked_head(const event_log& log, std::uint64_t* examined = nullptr);
// The same, else (a log whose heads all predate kHeadRefSeq) the last tree_head record by the
// entity index: that walk reads every record indexed under the entity kind "tree_head" after
// the latest head, so it is for one-off readers (load(), `hooklog export --proof`).
result<found_head> latest_head_in_log(const event_log& log);

class head_publisher {
 public:
  // interval 0: no periodic heads (publish() only).
  head_publisher(event_log& log, record_sink& writer, head_signer signer,
                 std::chrono::milliseconds interval);
  ~head_publisher();
  head_publisher(const head_publisher&) = delete;
  head_publisher& operator=(const head_publisher&) = delete;

  // Finds the latest published head in the log (the last tree_head record).
  result<void> load();
  void start();
  void stop();

  // Signs a head over the committed tree, appends it to the log (durable), returns it.
  result<tree_head> publish();
  // The same without blocking: `done` runs on the writer's thread (or its completion thread)
  // once the head's record is durable (or failed), or inline when the head cannot be made.
  void publish_async(std::function<void(result<tree_head>)> done);
  std::optional<tree_head> latest() const;
  const head_signer& signer() const { return signer_; }

 private:
  void run();
  // Under publish_mutex_: brings checked_ to `size` leaves and compares its root with `stored`.
  result<void> check_root(std::uint64_t size, const hash256& stored);

  event_log& log_;
  record_sink& writer_;
  head_signer signer_;
  std::chrono::milliseconds interval_;
  std::mutex publish_mutex_;
  merkle::leaf_frontier checked_;  // under publish_mutex_: the tree from the records' leaves
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<tree_head> latest_;
  std::uint64_t latest_record_seq_ = 0;  // seq of the latest head's own record
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hooklog
