#include "engine/cluster/jetstream_publisher.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "engine/logger.hpp"
#include "engine/record_codec.hpp"
#include "engine/thread_name.hpp"
#include "engine/time_util.hpp"

namespace hooklog::cluster {

namespace {

constexpr const char* kTokenHeader = "Hooklog-Token";
constexpr const char* kNodeHeader = "Hooklog-Node";

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 15]);
  }
  return out;
}

void add_micros_bucket(writer_stats& st, std::uint64_t us) {
  std::size_t b = 0;
  while (b < kCommitBoundsUs.size() && us > kCommitBoundsUs[b]) ++b;
  ++st.commit_buckets[b];
  st.commit_micros_total += us;
}

}  // namespace

std::chrono::milliseconds resend_window(std::chrono::milliseconds duplicate_window,
                                        std::chrono::milliseconds give_up_after) {
  const auto covered = duplicate_window - std::chrono::milliseconds(1000);
  return std::max(std::chrono::milliseconds(0), std::min(give_up_after, covered));
}

std::string idempotent_msg_id(std::string_view tenant, std::string_view source,
                              std::string_view key) {
  std::string in;
  in.reserve(tenant.size() + source.size() + key.size() + 2);
  in.append(tenant).push_back('\0');
  in.append(source).push_back('\0');
  in.append(key);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  return "i-" + hex(md, 16);
}

result<std::unique_ptr<jetstream_publisher>> jetstream_publisher::open(const connection& conn,
                                                                       event_log& log,
                                                                       materializer& mat,
                                                                       publisher_options opts) {
  std::unique_ptr<jetstream_publisher> p(new jetstream_publisher(conn, log, mat, std::move(opts)));
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = static_cast<int64_t>(p->opts_.max_in_flight) * 2 + 64;
  jo.PublishAsync.AckHandler = &jetstream_publisher::on_ack;
  jo.PublishAsync.AckHandlerClosure = p.get();
  jo.Wait = p->opts_.ack_timeout.count();
  auto js = jetstream::open(conn, &jo);
  if (!js) return js.err();
  p->js_ = std::move(*js);
  mat.set_listener([raw = p.get()](std::uint64_t) { raw->complete_cv_.notify_all(); });
  p->publisher_ = std::thread([raw = p.get()] {
    set_thread_name("js-publish");
    raw->publish_loop();
  });
  p->completer_ = std::thread([raw = p.get()] {
    set_thread_name("js-complete");
    raw->complete_loop();
  });
  return p;
}

jetstream_publisher::jetstream_publisher(const connection& conn, event_log& log, materializer& mat,
                                         publisher_options opts)
    : conn_(conn),
      log_(log),
      mat_(mat),
      opts_(std::move(opts)),
      subject_(stream_subject(opts_.cell)) {
  unsigned char rnd[8];
  if (RAND_bytes(rnd, sizeof rnd) != 1) {
    const auto t = static_cast<std::uint64_t>(now_micros());
    for (int i = 0; i < 8; ++i) rnd[i] = static_cast<unsigned char>(t >> (i * 8));
  }
  node_token_ = hex(rnd, sizeof rnd);
}

jetstream_publisher::~jetstream_publisher() {
  stop();
  mat_.set_listener(nullptr);
}

void jetstream_publisher::stop() {
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  publish_cv_.notify_all();
  complete_cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  if (completer_.joinable()) completer_.join();
  if (js_) {
    // Acknowledgements of attempts given up on may still come: let them arrive (bounded) while
    // this object is alive, then close the context so no handler runs after this.
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 2000;
    js_PublishAsyncComplete(js_->handle(), &po);
    js_.reset();
  }
}

std::size_t jetstream_publisher::in_flight() const {
  std::lock_guard g(mu_);
  return in_flight_.size() + acked_.size();
}

writer_stats jetstream_publisher::stats() const {
  std::lock_guard g(mu_);
  return stats_;
}

void jetstream_publisher::submit(std::vector<record> records, callback done) {
  {
    std::unique_lock g(mu_);
    if (!stopping_) {
      queue_.emplace_back(std::move(records), std::move(done));
      g.unlock();
      publish_cv_.notify_one();
      return;
    }
  }
  outcomes out(records.size(),
               make_error(errc::writer_stopped, "the cluster publisher is stopped"));
  done(std::move(out));
}

void jetstream_publisher::on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                                 void* closure) {
  // The NATS client's thread (created by the first async publish, so named after
  // "js-publish" until now): named once for what it does here.
  static thread_local const bool named = (set_thread_name("js-acks"), true);
  (void)named;
  static_cast<jetstream_publisher*>(closure)->handle_ack(msg, pa, pae);
  natsMsg_Destroy(msg);
}

void jetstream_publisher::handle_ack(natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae) {
  const char* tok = nullptr;
  if (natsMsgHeader_Get(msg, kTokenHeader, &tok) != NATS_OK || !tok) return;
  const std::uint64_t token = std::strtoull(tok, nullptr, 10);
  std::unique_lock g(mu_);
  auto it = in_flight_.find(token);
  if (it == in_flight_.end()) return;  // answered by an earlier attempt
  if (pa && !pa->Duplicate && pa->Sequence <= it->second.floor) {
    // The stream's sequence went back: the message is in a stream this log was not built from.
    resolve(it->second.sub, it->second.index,
            make_error(cluster_errc::stream_mismatch,
                       "stream " + stream_name(opts_.cell) + " stored the record at seq " +
                           std::to_string(pa->Sequence) + ", but this node had materialized seq " +
                           std::to_string(it->second.floor) +
                           " from it before sending: the stream was replaced (deleted and "
                           "created again, or restored); see docs/CLUSTER.md"));
    in_flight_.erase(it);
    g.unlock();
    complete_cv_.notify_one();
    publish_cv_.notify_one();
    return;
  }
  if (pa) {
    entry e = std::move(it->second);
    in_flight_.erase(it);
    e.seq = pa->Sequence;
    // Records without a key have a unique id: a duplicate is our own earlier attempt. A keyed
    // record sent again may meet its own first attempt too: told apart once materialized.
    e.duplicate = pa->Duplicate && e.has_key;
    e.own_retry_duplicate = e.duplicate && e.attempts > 1;
    e.acked_at = std::chrono::steady_clock::now();
    acked_.emplace(e.seq, std::move(e));
    g.unlock();
    complete_cv_.notify_one();
    publish_cv_.notify_one();  // room in flight
    return;
  }
  // No answer or a refusal (no leader yet, no responders): sent again soon, same message id.
  it->second.sent_at =
      std::chrono::steady_clock::now() - opts_.ack_timeout + std::chrono::milliseconds(250);
  if (pae && pae->ErrText)
    logging::debug(
        "cluster.publish", "a publish was refused; it is sent again",
        {{"error", std::string(pae->ErrText)}, {"status", natsStatus_GetText(pae->Err)}});
}

jetstream_publisher::outgoing jetstream_publisher::prepare(const entry& e) {
  outgoing o;
  o.token = e.token;
  o.msg_id = e.msg_id;
  if (natsMsg_Create(&o.msg, subject_.c_str(), nullptr, e.data.data(),
                     static_cast<int>(e.data.size())) != NATS_OK) {
    o.msg = nullptr;
    return o;
  }
  const std::string tok = std::to_string(e.token);
  natsMsgHeader_Set(o.msg, kTokenHeader, tok.c_str());
  natsMsgHeader_Set(o.msg, kNodeHeader, opts_.node_id.c_str());
  return o;
}

void jetstream_publisher::publish(std::vector<outgoing>& out, std::unique_lock<std::mutex>& g) {
  if (out.empty()) return;
  std::vector<std::pair<std::uint64_t, natsStatus>> failed;
  g.unlock();
  for (auto& o : out) {
    natsStatus s = NATS_NO_MEMORY;
    if (o.msg) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = o.msg_id.c_str();
      po.MaxWait = opts_.ack_timeout.count();
      s = js_PublishMsgAsync(js_->handle(), &o.msg, &po);
      natsMsg_Destroy(o.msg);  // no effect when the library took it
    }
    if (s != NATS_OK) failed.emplace_back(o.token, s);
  }
  g.lock();
  out.clear();
  for (auto [token, s] : failed) {
    auto it = in_flight_.find(token);
    if (it == in_flight_.end()) continue;
    if (s == NATS_MAX_PAYLOAD) {
      resolve(it->second.sub, it->second.index,
              make_error(cluster_errc::bad_config,
                         "the record is " + std::to_string(it->second.data.size()) +
                             " bytes encoded, more than the NATS servers' max_payload (" +
                             std::to_string(natsConnection_GetMaxPayload(conn_.handle())) +
                             " bytes): raise max_payload or lower --body-limit"));
      in_flight_.erase(it);
      complete_cv_.notify_one();
      continue;
    }
    // Not handed to the client (e.g. the connection is closed): retried by the sweep soon.
    it->second.sent_at =
        std::chrono::steady_clock::now() - opts_.ack_timeout + std::chrono::milliseconds(250);
  }
}

void jetstream_publisher::resolve(const std::shared_ptr<submission>& s, std::size_t index,
                                  result<append_outcome> r) {
  s->outcomes[index] = std::move(r);
  if (--s->remaining == 0) finished_.push_back(s);
}

void jetstream_publisher::publish_loop() {
  using clock = std::chrono::steady_clock;
  std::unique_lock g(mu_);
  std::optional<clock::time_point> stop_deadline;
  for (;;) {
    publish_cv_.wait_for(g, std::chrono::milliseconds(stopping_ ? 20 : 100), [&] {
      if (stopping_) return !queue_.empty() || in_flight_.empty();
      return !queue_.empty() && in_flight_.size() < opts_.max_in_flight;
    });
    const auto now = clock::now();
    if (stopping_ && !stop_deadline) stop_deadline = now + opts_.give_up_after;
    // Publishes without an answer: again with the same message id, or given up.
    std::vector<outgoing> resend;
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      entry& e = it->second;
      if (now - e.sent_at < opts_.ack_timeout) {
        ++it;
        continue;
      }
      if (now - e.first_sent >= opts_.give_up_after || (stop_deadline && now >= *stop_deadline)) {
        resolve(e.sub, e.index,
                make_error(cluster_errc::timeout,
                           "JetStream did not acknowledge the record within " +
                               std::to_string(opts_.give_up_after.count()) + " ms (stream " +
                               stream_name(opts_.cell) + " at " + conn_.urls_text() + ")"));
        it = in_flight_.erase(it);
        complete_cv_.notify_one();
        continue;
      }
      e.sent_at = now;
      ++e.attempts;
      retries_.fetch_add(1, std::memory_order_relaxed);
      resend.push_back(prepare(e));
      ++it;
    }
    publish(resend, g);
    if (stopping_) {
      while (!queue_.empty()) {
        auto [records, done] = std::move(queue_.front());
        queue_.pop_front();
        auto s = std::make_shared<submission>();
        s->outcomes.resize(records.size());
        s->remaining = records.size();
        s->done = std::move(done);
        s->started = now;
        if (records.empty()) {
          finished_.push_back(s);
          continue;
        }
        for (std::size_t i = 0; i < records.size(); ++i)
          resolve(s, i, make_error(errc::writer_stopped, "the cluster publisher is stopped"));
      }
      complete_cv_.notify_one();
      if (in_flight_.empty()) break;
      continue;
    }
    if (queue_.empty() || in_flight_.size() >= opts_.max_in_flight) continue;

    auto [records, done] = std::move(queue_.front());
    queue_.pop_front();
    g.unlock();
    // Outside the lock: local idempotency lookups and encoding.
    auto s = std::make_shared<submission>();
    s->outcomes.resize(records.size());
    s->remaining = records.size();
    s->done = std::move(done);
    s->started = clock::now();
    std::vector<entry> fresh;
    std::vector<std::pair<std::size_t, result<append_outcome>>> immediate;
    const std::int64_t now_us = now_micros();
    for (std::size_t i = 0; i < records.size(); ++i) {
      record& r = records[i];
      entry e;
      e.index = i;
      if (!r.idempotency_key.empty()) {
        auto prior = log_.find_idempotent(r.tenant, r.source, r.idempotency_key);
        if (!prior) {
          immediate.emplace_back(i, prior.err());
          continue;
        }
        if (*prior) {
          immediate.emplace_back(i, append_outcome{**prior, true});
          continue;
        }
        e.has_key = true;
        e.msg_id = idempotent_msg_id(r.tenant, r.source, r.idempotency_key);
      }
      r.seq = 0;
      if (r.recorded_at == 0) r.recorded_at = now_us;
      e.recorded_at = r.recorded_at;
      if (r.occurred_at == 0 && !r.occurred_given) r.occurred_at = r.recorded_at;
      r.chain_hash = {};
      r.leaf_hash = {};
      if (auto enc = encode(r, e.data); !enc) {
        immediate.emplace_back(i, enc.err());
        continue;
      }
      write_checksum(e.data);
      fresh.push_back(std::move(e));
    }
    g.lock();
    for (auto& [i, r] : immediate) resolve(s, i, std::move(r));
    if (records.empty()) finished_.push_back(s);
    std::vector<outgoing> out;
    out.reserve(fresh.size());
    for (auto& e : fresh) {
      e.token = next_token_++;
      if (e.msg_id.empty()) e.msg_id = "u-" + node_token_ + "-" + std::to_string(e.token);
      e.sub = s;
      e.first_sent = e.sent_at = clock::now();
      e.attempts = 1;
      e.floor = mat_.materialized_seq();
      // Registered before it is sent: its PubAck may come before publish() returns.
      auto [it, ok] = in_flight_.emplace(e.token, std::move(e));
      out.push_back(prepare(it->second));
      ++stats_.records;
    }
    if (!immediate.empty() || records.empty()) complete_cv_.notify_one();
    publish(out, g);
  }
  publisher_exited_ = true;
  complete_cv_.notify_all();
}

bool jetstream_publisher::stored_is_ours(const entry& e) const {
  // The stored record is this publication when it carries the time this node gave it and the
  // same body (recorded_at is only raised by the materializer when a record before it was later).
  auto stored = log_.get(e.seq);
  auto mine = decode(e.data, 0);
  return stored && *stored && mine && (*stored)->recorded_at == e.recorded_at &&
         (*stored)->body == mine->body;
}

void jetstream_publisher::complete_loop() {
  using clock = std::chrono::steady_clock;
  std::unique_lock g(mu_);
  for (;;) {
    complete_cv_.wait_for(g, std::chrono::milliseconds(50), [&] {
      return !finished_.empty() || publisher_exited_ ||
             (!acked_.empty() && acked_.begin()->first <= mat_.materialized_seq());
    });
    const std::uint64_t applied = mat_.materialized_seq();
    const auto now = clock::now();
    std::vector<entry> ready, late;
    for (auto it = acked_.begin(); it != acked_.end();) {
      if (it->first <= applied) {
        ready.push_back(std::move(it->second));
        it = acked_.erase(it);
      } else if (now - it->second.acked_at > opts_.materialize_timeout ||
                 (publisher_exited_ && now - it->second.acked_at > std::chrono::seconds(2))) {
        late.push_back(std::move(it->second));
        it = acked_.erase(it);
      } else {
        ++it;
      }
    }
    if (!ready.empty()) {
      g.unlock();
      std::vector<result<append_outcome>> outs;
      outs.reserve(ready.size());
      for (auto& e : ready) {
        // A repeat stored after the duplicate window is a gap: answered with the original.
        auto gap = log_.gap_original(e.seq);
        if (!gap)
          outs.emplace_back(gap.err());
        else if (*gap && **gap == 0)
          outs.emplace_back(
              make_error(errc::invalid_record,
                         "stream message " + std::to_string(e.seq) + " is not a record"));
        else if (*gap)
          outs.emplace_back(append_outcome{**gap, true});
        else if (e.own_retry_duplicate)
          outs.emplace_back(append_outcome{e.seq, !stored_is_ours(e)});
        else
          outs.emplace_back(append_outcome{e.seq, e.duplicate});
      }
      g.lock();
      for (std::size_t i = 0; i < ready.size(); ++i)
        resolve(ready[i].sub, ready[i].index, std::move(outs[i]));
    }
    for (auto& e : late)
      resolve(e.sub, e.index,
              make_error(cluster_errc::not_materialized,
                         "the stream stored the record at seq " + std::to_string(e.seq) +
                             " but this node did not materialize it within " +
                             std::to_string(opts_.materialize_timeout.count()) + " ms"));
    if (!finished_.empty()) {
      std::deque<std::shared_ptr<submission>> batch;
      batch.swap(finished_);
      for (const auto& s : batch) {
        ++stats_.groups;
        stats_.max_group = std::max<std::uint64_t>(stats_.max_group, s->outcomes.size());
        add_micros_bucket(
            stats_,
            static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - s->started).count()));
      }
      g.unlock();
      for (auto& s : batch) {
        outcomes out;
        out.reserve(s->outcomes.size());
        for (auto& o : s->outcomes) out.push_back(std::move(*o));
        s->done(std::move(out));
      }
      g.lock();
    }
    if (publisher_exited_ && in_flight_.empty() && acked_.empty() && finished_.empty()) break;
  }
}

}  // namespace hooklog::cluster
