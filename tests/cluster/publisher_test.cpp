// The replicated write path against one real nats-server: jetstream_publisher (record_sink)
// and the materializer, with two "nodes" (two local logs) in one process.
#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "engine/bytes.hpp"
#include "engine/cluster/jetstream_publisher.hpp"
#include "engine/cluster/materializer.hpp"
#include "engine/log_test_util.hpp"
#include "engine/record_codec.hpp"
#include "support/eventually.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog;
using namespace hooklog::cluster;
using hooklog::test::make_event;

namespace {

constexpr const char* kCell = "unit";

struct node {
  test::temp_dir dir;
  std::unique_ptr<event_log> log;
  std::unique_ptr<connection> conn;
  std::unique_ptr<materializer> mat;
  std::unique_ptr<jetstream_publisher> pub;

  node(const std::string& urls, const std::string& name) {
    log = test::open_log(dir.path().string());
    connect_options o;
    o.urls = *parse_urls(urls);
    o.name = name;
    auto c = connection::connect(o);
    REQUIRE(c);
    conn = std::move(*c);
    auto js = jetstream::open(*conn);
    REQUIRE(js);
    stream_settings s;
    s.cell = kCell;
    s.replicas = 1;
    auto st = ensure_stream(**js, s);
    INFO((st ? std::string() : st.err().message));
    REQUIRE(st);
    auto m = materializer::start(*conn, *log, {kCell});
    INFO((m ? std::string() : m.err().message));
    REQUIRE(m);
    mat = std::move(*m);
    publisher_options po;
    po.cell = kCell;
    po.node_id = name;
    auto p = jetstream_publisher::open(*conn, *log, *mat, po);
    REQUIRE(p);
    pub = std::move(*p);
  }
  ~node() {
    if (pub) pub->stop();
    if (mat) mat->stop();
  }
};

record keyed(const std::string& key, const std::string& entity) {
  record r = make_event("t1", "order.paid", entity, 0);
  r.idempotency_key = key;
  return r;
}

// Every stored record's bytes, by seq.
std::vector<std::pair<std::uint64_t, std::string>> raw_records(const event_log& log) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  auto r = log.for_each(1, UINT64_MAX, [&](const record_view& v) {
    auto rec = v.to_record();
    std::string bytes;
    REQUIRE(encode(rec, bytes));
    out.emplace_back(v.seq, bytes);
    return true;
  });
  REQUIRE(r);
  return out;
}

// Publishes an encoded record straight to the stream with its own message id (a repeat that
// arrives after the duplicate window looks like this).
std::uint64_t publish_raw(const connection& conn, record r, const std::string& msg_id) {
  auto js = jetstream::open(conn);
  REQUIRE(js);
  r.recorded_at = 1700000000000000;
  r.occurred_at = r.recorded_at;
  std::string data;
  REQUIRE(encode(r, data));
  write_checksum(data);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();
  jsPubAck* pa = nullptr;
  jsErrCode jerr{};
  const std::string subject = stream_subject(kCell);
  REQUIRE(js_Publish(&pa, (*js)->handle(), subject.c_str(), data.data(),
                     static_cast<int>(data.size()), &po, &jerr) == NATS_OK);
  const std::uint64_t seq = pa->Sequence;
  jsPubAck_Destroy(pa);
  return seq;
}

}  // namespace

TEST_CASE("published records are materialized in submit order with the stream seq",
          "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  std::vector<std::future<record_sink::outcomes>> futures;
  for (int b = 0; b < 20; ++b) {
    std::vector<record> batch;
    for (int i = 0; i < 10; ++i)
      batch.push_back(make_event("t1", "order.paid", "o" + std::to_string(b * 10 + i), 0));
    futures.push_back(a.pub->submit(std::move(batch)));
  }
  std::uint64_t expect = 1;
  for (auto& f : futures) {
    auto out = f.get();
    REQUIRE(out.size() == 10);
    for (auto& o : out) {
      INFO((o ? std::string() : o.err().message));
      REQUIRE(o);
      CHECK(o->seq == expect++);
      CHECK_FALSE(o->duplicate);
    }
  }
  // Acknowledged means materialized here: the log holds every record at once.
  CHECK(a.log->head().seq == 200);
  CHECK(a.mat->materialized_seq() == 200);
  auto rec = a.log->get(137);
  REQUIRE(rec);
  REQUIRE(*rec);
  CHECK((*rec)->entity_id == "o136");
  auto v = a.log->verify();
  REQUIRE(v);
  CHECK(v->ok);
  CHECK(v->checked == 200);
  CHECK(a.pub->stats().records == 200);
}

TEST_CASE(
    "a repeated idempotency key is answered with the original seq, through one node or "
    "two",
    "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  node b(nats.urls(), "b");
  auto first = a.pub->append(keyed("k-1", "o1"));
  REQUIRE(first);
  CHECK(first->seq == 1);
  CHECK_FALSE(first->duplicate);
  // Again through the same node: the local idempotency index answers, nothing is published.
  auto again = a.pub->append(keyed("k-1", "o1"));
  REQUIRE(again);
  CHECK(again->seq == 1);
  CHECK(again->duplicate);
  // Two nodes at once with a new key: JetStream's duplicate window keeps one message.
  auto fa = a.pub->submit(std::vector<record>{keyed("k-2", "o2")});
  auto fb = b.pub->submit(std::vector<record>{keyed("k-2", "o2")});
  auto oa = fa.get(), ob = fb.get();
  REQUIRE(oa[0]);
  REQUIRE(ob[0]);
  CHECK(oa[0]->seq == 2);
  CHECK(ob[0]->seq == 2);
  CHECK(oa[0]->duplicate != ob[0]->duplicate);  // one stored it, the other got the original
  REQUIRE(b.mat->wait_materialized(2, std::chrono::seconds(10)));
  CHECK(a.log->head().seq == 2);
  CHECK(b.log->head().seq == 2);
  CHECK(a.log->head().chain_hash == b.log->head().chain_hash);
}

TEST_CASE(
    "a repeat that reaches the stream after the duplicate window is the same gap on every "
    "node",
    "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  auto first = a.pub->append(keyed("late", "o1"));
  REQUIRE(first);
  REQUIRE(first->seq == 1);
  // The same key under another message id: the stream stores it at seq 2.
  const std::uint64_t repeat = publish_raw(*a.conn, keyed("late", "o1"), "i-other-id");
  REQUIRE(repeat == 2);
  auto after = a.pub->append(make_event("t1", "order.paid", "o3", 0));
  REQUIRE(after);
  CHECK(after->seq == 3);

  // A node that starts later materializes the same stream from the start.
  node b(nats.urls(), "b");
  REQUIRE(b.mat->wait_materialized(3, std::chrono::seconds(10)));
  for (auto* n : {&a, &b}) {
    CHECK(n->log->applied_seq() == 3);
    CHECK(n->log->head().seq == 3);
    auto gap = n->log->gap_original(2);
    REQUIRE(gap);
    REQUIRE(*gap);
    CHECK(**gap == 1);
    auto rec = n->log->get(2);
    REQUIRE(rec);
    CHECK_FALSE(*rec);  // no record at a gap
    auto v = n->log->verify();
    REQUIRE(v);
    INFO(v->problem);
    CHECK(v->ok);
    CHECK(v->checked == 2);
    auto v3 = n->log->verify(3, 3);  // a range starting after the gap
    REQUIRE(v3);
    CHECK(v3->ok);
  }
  CHECK(raw_records(*a.log) == raw_records(*b.log));
  CHECK(a.log->head().chain_hash == b.log->head().chain_hash);
}

TEST_CASE("a stream deleted and created again is refused: nothing is answered as stored in it",
          "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  for (int i = 0; i < 3; ++i)
    REQUIRE(a.pub->append(make_event("t1", "order.paid", "o" + std::to_string(i), 0)));
  REQUIRE(a.log->head().seq == 3);
  auto js = jetstream::open(*a.conn);
  REQUIRE(js);
  jsErrCode jerr{};
  REQUIRE(js_DeleteStream((*js)->handle(), stream_name(kCell).c_str(), nullptr, &jerr) == NATS_OK);
  stream_settings ss;
  ss.cell = kCell;
  ss.replicas = 1;
  REQUIRE(ensure_stream(**js, ss));

  // The new stream stores it at seq 1, where this node's log holds another record: refused
  // (it used to be answered as stored at seq 1).
  auto r = a.pub->append(make_event("t1", "order.paid", "lost", 0));
  REQUIRE_FALSE(r);
  CHECK(r.code() == make_error_code(cluster_errc::stream_mismatch));
  CHECK(r.err().message.find("stored the record at seq 1, but this node had materialized seq 3 "
                             "from it before sending: the stream was replaced") !=
        std::string::npos);
  // The materializer sees it on its own (its check about once a second) and stops.
  REQUIRE(test::eventually([&] {
    auto e = a.mat->last_error();
    return e && e->code == make_error_code(cluster_errc::stream_mismatch);
  }));
  CHECK(a.mat->last_error()->message.find("its last seq is 1; this log is at seq 3") !=
        std::string::npos);
  CHECK(a.log->head().seq == 3);

  // A node (re)starting on the old log is refused, before and after the new stream passes it.
  auto again = materializer::start(*a.conn, *a.log, {kCell});
  REQUIRE_FALSE(again);
  CHECK(again.code() == make_error_code(cluster_errc::stream_mismatch));
  for (int i = 0; i < 4; ++i)
    publish_raw(*a.conn, make_event("t1", "order.paid", "o" + std::to_string(i), 0, "{\"x\":2}"),
                "n-" + std::to_string(i));
  auto later = materializer::start(*a.conn, *a.log, {kCell});
  REQUIRE_FALSE(later);
  CHECK(later.code() == make_error_code(cluster_errc::stream_mismatch));
  CHECK(later.err().message.find("its message 3 is not the record this node holds at that "
                                 "seq; this log is at seq 3") != std::string::npos);
  CHECK(a.log->head().seq == 3);
}

TEST_CASE("two nodes writing at once hold byte-identical records and equal heads",
          "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  node b(nats.urls(), "b");
  auto write = [](node& n, const std::string& prefix) {
    std::vector<std::future<record_sink::outcomes>> fs;
    for (int i = 0; i < 150; ++i) {
      record r = make_event("t1", "order.paid", prefix + std::to_string(i), 0);
      if (i % 3 == 0) r.idempotency_key = "shared-" + std::to_string(i);  // both nodes send these
      fs.push_back(n.pub->submit(std::vector<record>{std::move(r)}));
    }
    std::size_t ok = 0;
    for (auto& f : fs)
      for (auto& o : f.get()) ok += o ? 1 : 0;
    return ok;
  };
  auto fa = std::async(std::launch::async, [&] { return write(a, "a"); });
  auto fb = std::async(std::launch::async, [&] { return write(b, "b"); });
  CHECK(fa.get() == 150);
  CHECK(fb.get() == 150);
  const std::uint64_t last = std::max(a.mat->stream_last_seq(), b.mat->stream_last_seq());
  REQUIRE(a.mat->wait_materialized(last, std::chrono::seconds(10)));
  REQUIRE(b.mat->wait_materialized(last, std::chrono::seconds(10)));
  // 100 unkeyed records per node and 50 keys shared by both: 250 records.
  CHECK(a.log->head().seq == b.log->head().seq);
  CHECK(a.log->head().chain_hash == b.log->head().chain_hash);
  const auto ra = raw_records(*a.log);
  CHECK(ra.size() == 250);
  CHECK(ra == raw_records(*b.log));
}

TEST_CASE("a record over the servers' max_payload fails at once and names both sizes",
          "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  record big = make_event("t1", "order.paid", "big", 0, std::string(1100000, 'x'));
  auto r = a.pub->append(big);
  REQUIRE_FALSE(r);
  CHECK(r.code() == make_error_code(cluster_errc::bad_config));
  CHECK(r.err().message.find(" bytes encoded, more than the NATS servers' max_payload (1048576 "
                             "bytes): raise max_payload or lower --body-limit") !=
        std::string::npos);
  auto ok = a.pub->append(make_event("t1", "order.paid", "small", 0));
  REQUIRE(ok);
  CHECK(ok->seq == 1);
}

TEST_CASE("a node starting late catches up a backlog of 5000 records of 2 KiB",
          "[cluster][publisher]") {
  test::nats_cluster nats(1);
  node a(nats.urls(), "a");
  std::vector<std::future<record_sink::outcomes>> fs;
  for (int b = 0; b < 50; ++b) {
    std::vector<record> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(make_event("t1", "order.paid", "o" + std::to_string(b * 100 + i), 0,
                                 "{\"pad\":\"" + std::string(2048, 'p') + "\"}"));
    fs.push_back(a.pub->submit(std::move(batch)));
  }
  for (auto& f : fs)
    for (auto& o : f.get()) REQUIRE(o);
  REQUIRE(a.log->head().seq == 5000);
  // More than the consumer's flow-control window: the ordered consumer must keep going.
  const auto t0 = std::chrono::steady_clock::now();  // from connect to caught up
  node b(nats.urls(), "b");
  REQUIRE(b.mat->wait_materialized(5000, std::chrono::seconds(60)));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  CHECK(b.mat->caught_up());
  CHECK(b.mat->lag() == 0);
  CHECK(b.log->head().chain_hash == a.log->head().chain_hash);
  WARN("catch-up: 5000 records of 2 KiB in " << ms << " ms, " << b.mat->batches()
                                              << " LMDB transactions");
}

TEST_CASE("a publish is resent only while the duplicate window covers its first send",
          "[cluster][publisher]") {
  // --cluster-max-age 2 shrinks the window to 2 s; a resend 4 s after a lost acknowledgement
  // was stored a second time (two endpoints from one POST).
  using std::chrono::milliseconds;
  CHECK(cluster::resend_window(milliseconds(120000), milliseconds(30000)) == milliseconds(30000));
  CHECK(cluster::resend_window(milliseconds(20000), milliseconds(30000)) == milliseconds(19000));
  CHECK(cluster::resend_window(milliseconds(2000), milliseconds(30000)) == milliseconds(1000));
  CHECK(cluster::resend_window(milliseconds(500), milliseconds(30000)) == milliseconds(0));
}
