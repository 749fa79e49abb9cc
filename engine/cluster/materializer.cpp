#include "engine/cluster/materializer.hpp"

#include "engine/logger.hpp"
#include "engine/record_codec.hpp"
#include "engine/thread_name.hpp"

namespace hooklog::cluster {

namespace {

struct msg_ptr {
  natsMsg* p = nullptr;
  ~msg_ptr() {
    if (p) natsMsg_Destroy(p);
  }
};

}  // namespace

result<void> check_not_aged_out(const stream_state& st, std::uint64_t applied,
                                std::string_view cell) {
  // Messages after `applied` were in the stream and are gone (all of them when it is empty).
  if (st.last_seq <= applied || st.first_seq <= applied + 1) return {};
  return make_error(cluster_errc::aged_out,
                    "stream " + stream_name(cell) + " starts at seq " +
                        std::to_string(st.first_seq) +
                        " (older messages aged out) but this node's log ends at " +
                        std::to_string(applied) +
                        ": it cannot catch up from the stream; start it with --bootstrap-from "
                        "http://PEER:PORT to copy a caught-up node's log first");
}

result<void> check_same_stream(const jetstream& js, std::string_view cell, const stream_state& st,
                               const event_log& log) {
  const std::uint64_t applied = log.applied_seq();
  if (applied == 0) return {};
  const std::string name = stream_name(cell);
  auto not_ours = [&](const std::string& why) {
    return make_error(cluster_errc::stream_mismatch,
                      "stream " + name +
                          " is not the stream this node's log was materialized "
                          "from (" +
                          why + "; this log is at seq " + std::to_string(applied) +
                          "): was it deleted and created again, or restored from an older backup? "
                          "This node stops materializing; see docs/CLUSTER.md, \"The stream "
                          "replaced\"");
  };
  if (st.last_seq < applied) return not_ours("its last seq is " + std::to_string(st.last_seq));
  auto gap = log.gap_original(applied);
  if (!gap) return gap.err();
  if (*gap) return {};  // a gap holds no record to compare
  auto mine = log.get(applied);
  if (!mine) return mine.err();
  if (!*mine) return {};
  msg_ptr m;
  jsErrCode jerr{};
  natsStatus s = js_GetMsg(&m.p, js.handle(), name.c_str(), applied, nullptr, &jerr);
  if (s == NATS_NOT_FOUND) return {};  // aged out: check_not_aged_out's business
  if (s != NATS_OK)
    return nats_error(s, "cannot read message " + std::to_string(applied) + " of stream " + name,
                      s == NATS_TIMEOUT ? cluster_errc::timeout : cluster_errc::nats_failure);
  const std::string_view data(natsMsg_GetData(m.p),
                              static_cast<std::size_t>(natsMsg_GetDataLength(m.p)));
  auto theirs = decode(data, 0);
  const record& r = **mine;
  if (!theirs || theirs->kind != r.kind || theirs->tenant != r.tenant ||
      theirs->source != r.source || theirs->type != r.type ||
      theirs->entity_kind != r.entity_kind || theirs->entity_id != r.entity_id ||
      theirs->idempotency_key != r.idempotency_key || theirs->body != r.body ||
      theirs->recorded_at > r.recorded_at)
    return not_ours("its message " + std::to_string(applied) +
                    " is not the record this node holds at that seq");
  return {};
}

result<std::unique_ptr<materializer>> materializer::start(const connection& conn, event_log& log,
                                                          materializer_options opts) {
  std::unique_ptr<materializer> m(new materializer(conn, log, std::move(opts)));
  auto js = jetstream::open(conn);
  if (!js) return js.err();
  m->js_ = std::move(*js);
  auto st = get_stream_state(*m->js_, m->opts_.cell);
  if (!st) return st.err();
  m->start_target_ = st->last_seq;
  m->stream_last_.store(st->last_seq);
  if (auto a = check_not_aged_out(*st, log.applied_seq(), m->opts_.cell); !a) return a.err();
  if (log.applied_seq() > st->last_seq)
    return make_error(cluster_errc::stream_mismatch,
                      "this node's log is at seq " + std::to_string(log.applied_seq()) +
                          ", beyond the last message " + std::to_string(st->last_seq) +
                          " of stream " + stream_name(m->opts_.cell) +
                          ": the data directory belongs to another cell or stream");
  // Only a mismatch stops the start; a message that cannot be read now (a leader change, a user
  // without $JS.API.STREAM.MSG.GET) is checked again by the thread, as after any start.
  if (auto same = check_same_stream(*m->js_, m->opts_.cell, *st, log);
      !same && same.code() == make_error_code(cluster_errc::stream_mismatch))
    return same.err();
  if (auto s = m->subscribe(); !s) return s.err();
  m->thread_ = std::thread([p = m.get()] {
    set_thread_name("materializer");
    p->run();
  });
  return m;
}

materializer::materializer(const connection& conn, event_log& log, materializer_options opts)
    : conn_(conn), log_(log), opts_(std::move(opts)) {}

materializer::~materializer() {
  stop();
}

void materializer::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  unsubscribe();
}

std::uint64_t materializer::lag() const {
  const std::uint64_t last = stream_last_seq(), at = materialized_seq();
  return last > at ? last - at : 0;
}

bool materializer::wait_materialized(std::uint64_t seq, std::chrono::milliseconds timeout) const {
  return log_.wait_applied(seq, timeout) >= seq;
}

std::optional<error> materializer::last_error() const {
  std::lock_guard g(mu_);
  return error_;
}

void materializer::set_listener(std::function<void(std::uint64_t)> fn) {
  std::lock_guard g(mu_);
  listener_ = std::move(fn);
}

void materializer::set_error(std::optional<error> e) {
  std::lock_guard g(mu_);
  error_ = std::move(e);
}

result<void> materializer::subscribe() {
  unsubscribe();
  const std::string subject = stream_subject(opts_.cell);
  const std::string stream = stream_name(opts_.cell);
  const std::uint64_t from = log_.applied_seq() + 1;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = from;
  jsErrCode jerr{};
  natsSubscription* sub = nullptr;
  if (auto s = js_SubscribeSync(&sub, js_->handle(), subject.c_str(), nullptr, &so, &jerr);
      s != NATS_OK)
    return nats_error(s,
                      "cannot subscribe to stream " + stream + " from seq " + std::to_string(from));
  // The default pending limits (65536 messages, 64 MiB) would drop messages of a fast stream.
  natsSubscription_SetPendingLimits(sub, -1, -1);
  sub_ = sub;
  return {};
}

void materializer::unsubscribe() {
  if (!sub_) return;
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
}

void materializer::raise_stream_last(std::uint64_t seq) {
  std::uint64_t cur = stream_last_.load();
  while (seq > cur && !stream_last_.compare_exchange_weak(cur, seq)) {
  }
}

std::optional<std::uint64_t> materializer::fetch_stream_last_seq() {
  auto st = get_stream_state(*js_, opts_.cell);
  if (!st) return std::nullopt;
  raise_stream_last(st->last_seq);
  return st->last_seq;
}

void materializer::run() {
  std::vector<record> batch;
  auto last_progress = std::chrono::steady_clock::now();
  auto last_state = last_progress - std::chrono::seconds(10);
  while (!stopping_.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_state > std::chrono::seconds(1)) {
      last_state = now;
      auto st = get_stream_state(*js_, opts_.cell);
      if (st) raise_stream_last(st->last_seq);
      // Applied through here from this stream? A replaced one would be materialized on top.
      if (auto same = st ? check_same_stream(*js_, opts_.cell, *st, log_) : result<void>{};
          !same && same.code() == make_error_code(cluster_errc::stream_mismatch)) {
        set_error(same.err());
        logging::error("cluster.materializer", "the stream was replaced; materializing stops",
                       {{"reason", same.err().what()}});
        stopping_.store(true);
        break;
      }
    }
    if (!sub_ ||
        (stream_last_seq() > log_.applied_seq() && now - last_progress > opts_.stall_resubscribe)) {
      // No subscription, or the stream is ahead and nothing came: start again where we are.
      if (auto s = subscribe(); !s) {
        set_error(s.err());
        logging::warn("cluster.materializer", "cannot subscribe; retrying",
                      {{"reason", s.err().what()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      last_progress = now;
    }
    batch.clear();
    std::uint64_t expect = log_.applied_seq() + 1;
    std::uint64_t pending_after = 0;
    for (;;) {
      msg_ptr m;
      const int64_t wait = batch.empty() ? 200 : 0;
      natsStatus s = natsSubscription_NextMsg(&m.p, sub_, wait);
      if (s == NATS_TIMEOUT) break;
      if (s != NATS_OK) {
        if (s == NATS_SLOW_CONSUMER) continue;
        set_error(nats_error(s, "cannot read stream " + stream_name(opts_.cell)));
        unsubscribe();
        break;
      }
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m.p) != NATS_OK) continue;  // a status message
      const std::uint64_t seq = meta->Sequence.Stream;
      pending_after = meta->NumPending;
      jsMsgMetaData_Destroy(meta);
      if (seq < expect) continue;  // delivered again after a consumer reset
      if (seq > expect) {
        set_error(make_error(cluster_errc::bad_message,
                             "stream " + stream_name(opts_.cell) + " delivered seq " +
                                 std::to_string(seq) + " after " + std::to_string(expect - 1) +
                                 ": messages are missing from the stream (aged out?); this node "
                                 "cannot materialize past " +
                                 std::to_string(expect - 1)));
        logging::error("cluster.materializer", "the stream skipped messages; materializing stops",
                       {{"expected", expect}, {"got", seq}});
        stopping_.store(true);
        break;
      }
      const std::string_view data(natsMsg_GetData(m.p),
                                  static_cast<std::size_t>(natsMsg_GetDataLength(m.p)));
      auto v = decode(data, 0);
      record r;
      if (v && v->seq == 0) {
        r = v->to_record();
      } else {
        r.kind = kUnreadableMessage;
        logging::error("cluster.materializer", "a stream message is not a record; its seq is a gap",
                       {{"seq", seq}, {"reason", v ? std::string("seq is set") : v.err().what()}});
      }
      r.seq = seq;
      batch.push_back(std::move(r));
      ++expect;
      if (batch.size() >= opts_.max_batch) break;
    }
    if (batch.empty()) continue;
    for (;;) {
      auto out = log_.append_replicated(batch);
      if (log_.applied_seq() >= batch.back().seq) break;  // applied (unreadable ones as gaps)
      set_error(out.front().err());
      logging::error("cluster.materializer", "a materialized group failed; retrying",
                     {{"from_seq", batch.front().seq}, {"reason", out.front().err().what()}});
      if (stopping_.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    last_progress = std::chrono::steady_clock::now();
    const std::uint64_t applied = log_.applied_seq();
    raise_stream_last(applied + pending_after);
    std::function<void(std::uint64_t)> fn;
    {
      std::lock_guard g(mu_);
      fn = listener_;
      error_.reset();  // applied again: healthy
    }
    if (fn) fn(applied);
  }
}

}  // namespace hooklog::cluster
