#include "engine/head_publisher.hpp"

#include <cstring>
#include <future>

#include "engine/logger.hpp"
#include "engine/merkle_store.hpp"
#include "engine/thread_name.hpp"
#include "engine/time_util.hpp"

namespace hooklog {

head_publisher::head_publisher(event_log& log, record_sink& writer, head_signer signer,
                               std::chrono::milliseconds interval)
    : log_(log), writer_(writer), signer_(std::move(signer)), interval_(interval) {}

head_publisher::~head_publisher() { stop(); }

namespace {

// The first tree_head record of the walk `q` describes (descending), reading at most every
// record it walks; `examined` counts them.
result<found_head> first_head(const event_log& log, scan_query q, std::uint64_t* examined) {
  found_head found;
  std::optional<error> bad;
  std::uint64_t n = 0;
  auto r = log.scan(q, [&](const record_view& v, std::string_view) {
    ++n;
    if (v.kind != record_kind::tree_head) return true;
    auto h = head_from_json(nlohmann::json::parse(v.body, nullptr, false));
    if (!h)
      bad = make_error(head_errc::bad_head, "the tree head in record " + std::to_string(v.seq) +
                                                " is malformed: " + h.err().message);
    else
      found.emplace(*h, v.seq);
    return false;
  });
  if (examined != nullptr) *examined = n;
  if (!r) return r.err();
  if (bad) return *bad;
  return found;
}

}  // namespace

result<found_head> latest_marked_head(const event_log& log, std::uint64_t* examined) {
  // Only heads are indexed under kHeadRefSeq: the first entry descending is the latest.
  scan_query q;
  q.ref_seq = kHeadRefSeq;
  q.descending = true;
  return first_head(log, q, examined);
}

result<found_head> latest_head_in_log(const event_log& log) {
  auto marked = latest_marked_head(log);
  if (!marked) {
    // The index env cannot be read there (a damaged page): the records answer, newest first. A
    // damaged derived index made `verify` call a sound log BAD and `serve` refuse to start.
    scan_query q;
    q.kind = record_kind::tree_head;
    q.descending = true;
    q.seq_order = true;
    auto walked = first_head(log, q, nullptr);
    if (!walked) return marked;
    logging::warn("storage.index",
                  "the index env could not be read; the latest signed head was found by walking "
                  "the records (delete log/index with the server stopped: it is rebuilt)",
                  {{"reason", marked.err().what()}});
    return walked;
  }
  if (*marked) return marked;
  // Heads written before kHeadRefSeq: the entity index lists them by zero-padded tree size,
  // which grows with each head; descending, the first tree_head record is the latest.
  scan_query q;
  q.entity_kind = std::string(kTreeHeadEntityKind);
  q.descending = true;
  return first_head(log, q, nullptr);
}

result<void> head_publisher::load() {
  auto found = latest_head_in_log(log_);
  if (!found) return found.err();
  std::lock_guard g(mutex_);
  if (*found) {
    latest_ = (*found)->first;
    latest_record_seq_ = (*found)->second;
  }
  return {};
}

void head_publisher::start() {
  if (interval_.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    set_thread_name("head-publisher");
    run();
  });
}

void head_publisher::stop() {
  {
    std::lock_guard g(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<tree_head> head_publisher::latest() const {
  // Cluster mode: another node of the cell may have appended a newer head (signed with the same
  // key); the log's newest head wins. One descending index step: cheap.
  auto found = latest_marked_head(log_);
  std::lock_guard g(mutex_);
  if (found && *found && (!latest_ || (*found)->first.tree_size > latest_->tree_size))
    return (*found)->first;
  return latest_;
}

result<tree_head> head_publisher::publish() {
  std::promise<result<tree_head>> p;
  auto f = p.get_future();
  publish_async([&p](result<tree_head> h) { p.set_value(std::move(h)); });
  return f.get();
}

void head_publisher::publish_async(std::function<void(result<tree_head>)> done) {
  // Serialized up to the submission: heads reach the log in the order of their tree sizes.
  std::lock_guard serial(publish_mutex_);
  auto size = merkle::tree_size(log_);
  if (!size) return done(size.err());
  auto root = merkle::tree_root(log_, *size);
  if (!root) return done(root.err());
  if (auto c = check_root(*size, *root); !c) return done(c.err());
  tree_head h;
  h.tree_size = *size;
  h.root = *root;
  h.timestamp = now_micros();
  if (auto s = signer_.sign(h); !s) return done(s.err());
  std::vector<record> rec;
  rec.push_back(head_record(h));
  writer_.submit(std::move(rec), [this, h, done = std::move(done)](record_sink::outcomes&& o) {
    if (o.empty() || !o[0]) return done(o.empty() ? make_error(errc::writer_stopped, "no outcome") : o[0].err());
    {
      std::lock_guard g(mutex_);
      if (!latest_ || latest_->tree_size < h.tree_size) {
        latest_ = h;
        latest_record_seq_ = o[0]->seq;
      }
    }
    done(h);
  });
}

result<void> head_publisher::check_root(std::uint64_t size, const hash256& stored) {
  if (checked_.size() > size) checked_ = merkle::leaf_frontier();
  if (checked_.size() == 0) {
    // After a start: the latest signed head's stored subtrees, if they give its signed root
    // (then they are the ones it was signed over), else every leaf from the first.
    const auto signed_head = latest();
    if (signed_head && signed_head->tree_size > 0 && signed_head->tree_size <= size)
      if (auto f = merkle::frontier(log_, signed_head->tree_size)) {
        merkle::leaf_frontier seeded(std::move(*f), signed_head->tree_size);
        if (seeded.root() == signed_head->root) checked_ = std::move(seeded);
      }
  }
  std::uint64_t next = checked_.size() + 1;  // the seq of the next leaf
  if (next <= size) {
    auto walked = log_.for_each(next, size, [&](const record_view& v) {
      for (; next < v.seq; ++next) checked_.push(merkle::kGapLeaf);  // a cluster gap
      hash256 leaf;
      std::memcpy(leaf.data(), v.leaf_hash, leaf.size());
      checked_.push(leaf);
      ++next;
      return true;
    });
    if (!walked) {
      checked_ = merkle::leaf_frontier();  // read again from the start next time
      return walked.err();
    }
    for (; next <= size; ++next) checked_.push(merkle::kGapLeaf);
  }
  if (checked_.root() != stored)
    return merkle::make_error(
        merkle::merkle_errc::damaged,
        "the stored Merkle tree's root of size " + std::to_string(size) + " (" +
            merkle::to_hex(stored) + ") is not the root of the records' leaf hashes (" +
            merkle::to_hex(checked_.root()) +
            "): a stored subtree hash is damaged (hooklog verify names it); no head is signed "
            "over it");
  return {};
}

void head_publisher::run() {
  std::unique_lock g(mutex_);
  while (!stopping_) {
    cv_.wait_for(g, interval_, [&] { return stopping_; });
    if (stopping_) break;
    // Cluster mode: other nodes append heads too (signed with the same derived key); the
    // latest head in the log, whoever published it, is this node's latest.
    g.unlock();
    auto found = latest_marked_head(log_);
    g.lock();
    if (found && *found && (*found)->second > latest_record_seq_) {
      latest_ = (*found)->first;
      latest_record_seq_ = (*found)->second;
    }
    if (log_.committed_seq() <= latest_record_seq_) continue;  // nothing new since the last head
    g.unlock();
    auto h = publish();
    if (!h)
      logging::warn("head.publish_failed", "could not publish a signed tree head",
                    {{"error", h.err().what()}});
    g.lock();
  }
}

}  // namespace hooklog
