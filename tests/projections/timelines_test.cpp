#include <algorithm>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "engine/time_util.hpp"
#include "proj_test_util.hpp"

using namespace hooklog;
using namespace hooklog::test;

namespace {
constexpr std::int64_t kMin = 60'000'000;
constexpr std::int64_t kT0 = 1'707'500'000'000'000;  // 2024-02-09

std::vector<projections::transition> transitions(fixture& f, const std::string& tenant,
                                                 const std::string& kind, const std::string& id) {
  auto t = f.read();
  auto tl = f.runner->timeline().get(t, tenant, kind, id);
  REQUIRE(tl);
  REQUIRE(*tl);
  return (*tl)->transitions;
}
// J1: A, C, then B (occurred between them: late), synced; returns the whole state.
state_dump append_a_c_late_b(fixture& f) {
  f.append(event("t", "x", {}, "job", "J1", "", "A", kT0));
  f.append(event("t", "x", {}, "job", "J1", "", "C", kT0 + 20 * kMin));
  f.append(event("t", "x", {}, "job", "J1", "", "B", kT0 + 10 * kMin));
  f.sync();
  return dump_state(*f.runner, all_state_dbs(*f.runner));
}
}  // namespace

TEST_CASE("jelp order: PENDING -> TRANSIT -> COMPLETED, with a late TRANSIT arriving out of order") {
  fixture f;
  auto s1 = f.append(event("jelp-co", "order_new", {}, "order", "42AT8WT", "", "PENDING", kT0));
  auto s2 = f.append(event("jelp-co", "order_update:status_change", {}, "order", "42AT8WT", "", "COMPLETED",
                           kT0 + 30 * kMin));
  // Occurred between the two, recorded after both.
  auto s3 = f.append(event("jelp-co", "order_update:assign_driver", {}, "order", "42AT8WT", "", "TRANSIT",
                           kT0 + 10 * kMin));
  // Another tenant's order with the same id is another entity.
  f.append(event("other", "order_new", {}, "order", "42AT8WT", "", "CANCELLED", kT0));
  f.sync();

  auto tr = transitions(f, "jelp-co", "order", "42AT8WT");
  REQUIRE(tr.size() == 3);
  CHECK(tr[0].seq == s1);
  CHECK(tr[0].from == "");
  CHECK(tr[0].to == "PENDING");
  CHECK_FALSE(tr[0].out_of_order);
  CHECK(tr[1].seq == s3);  // placed by occurred time
  CHECK(tr[1].from == "PENDING");
  CHECK(tr[1].to == "TRANSIT");
  CHECK(tr[1].out_of_order);
  CHECK(tr[1].occurred_at == kT0 + 10 * kMin);
  CHECK(tr[1].recorded_at >= tr[2].recorded_at);
  CHECK(tr[2].seq == s2);
  CHECK(tr[2].from == "TRANSIT");  // the status just before it, by occurred time (issue 12)
  CHECK(tr[2].to == "COMPLETED");
  CHECK_FALSE(tr[2].out_of_order);

  auto t = f.read();
  auto tl = f.runner->timeline().get(t, "jelp-co", "order", "42AT8WT");
  REQUIRE(*tl);
  CHECK((*tl)->current_status == "COMPLETED");  // the late arrival does not change it
  auto j = projections::to_json(**tl);
  CHECK(j["transitions"].size() == 3);
  CHECK(j["transitions"][0]["occurred_at"] == format_rfc3339(kT0));
  auto other = f.runner->timeline().get(t, "other", "order", "42AT8WT");
  REQUIRE(*other);
  CHECK((*other)->transitions.size() == 1);
  CHECK(f.runner->timeline().get(t, "jelp-co", "order", "nope")->has_value() == false);
}

TEST_CASE("eudr DDS: DRAFT -> SUBMITTED -> APPROVED with explicit from, out of order SUBMITTED") {
  fixture f;
  f.append(event("integ-7", "dds.status_changed", {}, "dds", "DDS-2024-00042", "", "DRAFT", kT0));
  f.append(event("integ-7", "dds.approved", {}, "dds", "DDS-2024-00042", "SUBMITTED", "APPROVED", kT0 + 60 * kMin));
  f.append(event("integ-7", "dds.submitted", {}, "dds", "DDS-2024-00042", "DRAFT", "SUBMITTED", kT0 + 5 * kMin));
  f.sync();
  auto tr = transitions(f, "integ-7", "dds", "DDS-2024-00042");
  REQUIRE(tr.size() == 3);
  CHECK(tr[0].to == "DRAFT");
  CHECK(tr[1].from == "DRAFT");
  CHECK(tr[1].to == "SUBMITTED");
  CHECK(tr[1].out_of_order);
  CHECK(tr[2].from == "SUBMITTED");
  CHECK(tr[2].to == "APPROVED");
  CHECK_FALSE(tr[2].out_of_order);
}

TEST_CASE("crowdsender box: previousValue -> newValue, an early arrival placed first, equal times keep seq order") {
  fixture f;
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "REGISTERED", "IN_TRANSIT", kT0 + 20 * kMin));
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "IN_TRANSIT", "DELIVERED", kT0 + 40 * kMin));
  // The registration arrives last but happened first; it has no from.
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "", "REGISTERED", kT0));
  // Two updates at the same occurred time: in order, by seq.
  f.append(event("cs", "statusUpdated", {}, "box", "BX-1", "", "RETURNING", kT0 + 40 * kMin));
  f.sync();
  auto tr = transitions(f, "cs", "box", "BX-1");
  REQUIRE(tr.size() == 4);
  CHECK(tr[0].to == "REGISTERED");
  CHECK(tr[0].from == "");  // nothing before it
  CHECK(tr[0].out_of_order);
  CHECK(tr[1].to == "IN_TRANSIT");
  CHECK(tr[2].to == "DELIVERED");
  CHECK(tr[3].from == "DELIVERED");
  CHECK(tr[3].to == "RETURNING");
  CHECK_FALSE(tr[3].out_of_order);
}

TEST_CASE("an out-of-order arrival without from takes the status just before it") {
  fixture f;
  f.append(event("t", "x", {}, "job", "J1", "", "A", kT0));
  f.append(event("t", "x", {}, "job", "J1", "", "C", kT0 + 20 * kMin));
  f.append(event("t", "x", {}, "job", "J1", "", "B", kT0 + 10 * kMin));
  f.sync();
  auto tr = transitions(f, "t", "job", "J1");
  REQUIRE(tr.size() == 3);
  CHECK(tr[1].to == "B");
  CHECK(tr[1].from == "A");
  CHECK(tr[1].out_of_order);
}

TEST_CASE("a late event between two others: the derived from after it follows the ordered timeline") {
  // issue 12, item 2: jelp order arrivals PENDING (t1), COMPLETED (t3), TRANSIT (t2, late).
  fixture f;
  f.append(event("jelp-co", "order_new", {}, "order", "LATE1", "", "PENDING", kT0));
  f.append(event("jelp-co", "order_update:complete_order", {}, "order", "LATE1", "", "COMPLETED",
                 kT0 + 30 * kMin));
  f.sync();  // COMPLETED was applied while only PENDING was known
  {
    auto tr = transitions(f, "jelp-co", "order", "LATE1");
    REQUIRE(tr.size() == 2);
    CHECK(tr[1].from == "PENDING");
  }
  f.append(event("jelp-co", "order_update:assign_driver", {}, "order", "LATE1", "", "TRANSIT",
                 kT0 + 10 * kMin));
  f.sync();
  std::vector<std::string> from, to;
  for (const auto& t : transitions(f, "jelp-co", "order", "LATE1")) {
    from.push_back(t.from);
    to.push_back(t.to);
    CHECK_FALSE(t.from_stated);
  }
  CHECK(to == std::vector<std::string>{"PENDING", "TRANSIT", "COMPLETED"});
  CHECK(from == std::vector<std::string>{"", "PENDING", "TRANSIT"});
  // A limited read from the earliest derives the same.
  auto t = f.read();
  auto one = f.runner->timeline().get(t, "jelp-co", "order", "LATE1", 2);
  REQUIRE(*one);
  REQUIRE((*one)->transitions.size() == 2);
  CHECK((*one)->transitions[1].from == "PENDING");
  CHECK((*one)->current_status == "COMPLETED");
}

TEST_CASE("oms transfers: a stated previous status is kept, a missing one is derived from the ordered timeline") {
  fixture f;
  // Stated: kept as stated, even where the timeline says otherwise.
  f.append(event("oms-eu", "transfer.created", {}, "transfer", "TR-1", "", "CREATED", kT0));
  f.append(event("oms-eu", "transfer.delivered", {}, "transfer", "TR-1", "SHIPPED", "DELIVERED", kT0 + 40 * kMin));
  f.append(event("oms-eu", "transfer.picked", {}, "transfer", "TR-1", "", "PICKED", kT0 + 10 * kMin));
  // No previous status in the payload: derived.
  f.append(event("oms-eu", "transfer.created", {}, "transfer", "TR-2", "", "CREATED", kT0));
  f.append(event("oms-eu", "transfer.delivered", {}, "transfer", "TR-2", "", "DELIVERED", kT0 + 40 * kMin));
  f.append(event("oms-eu", "transfer.shipped", {}, "transfer", "TR-2", "", "SHIPPED", kT0 + 20 * kMin));
  f.append(event("oms-eu", "transfer.picked", {}, "transfer", "TR-2", "", "PICKED", kT0 + 10 * kMin));
  f.sync();
  auto a = transitions(f, "oms-eu", "transfer", "TR-1");
  REQUIRE(a.size() == 3);
  CHECK(a[1].to == "PICKED");
  CHECK(a[1].from == "CREATED");
  CHECK(a[2].to == "DELIVERED");
  CHECK(a[2].from == "SHIPPED");  // stated by the payload
  CHECK(a[2].from_stated);
  auto b = transitions(f, "oms-eu", "transfer", "TR-2");
  std::vector<std::string> from, to;
  for (const auto& t : b) {
    from.push_back(t.from);
    to.push_back(t.to);
  }
  CHECK(to == std::vector<std::string>{"CREATED", "PICKED", "SHIPPED", "DELIVERED"});
  CHECK(from == std::vector<std::string>{"", "CREATED", "PICKED", "SHIPPED"});
}

TEST_CASE("late events: a rebuild of timelines equals the incremental state, and reads the same from") {
  fixture f;
  // One event per sync, so every late one is applied after those it precedes.
  const std::int64_t order[] = {0, 50, 20, 40, 10, 30, 60, 5};
  for (std::int64_t m : order) {
    f.append(event("t", "x", {}, "job", "J9", "", "S" + std::to_string(m), kT0 + m * kMin));
    f.sync();
  }
  auto before = dump_state(*f.runner, all_state_dbs(*f.runner));
  auto read_from = [&] {
    std::vector<std::string> v;
    for (const auto& t : transitions(f, "t", "job", "J9")) v.push_back(t.from);
    return v;
  };
  const auto from = read_from();
  CHECK(from == std::vector<std::string>{"", "S0", "S5", "S10", "S20", "S30", "S40", "S50"});
  REQUIRE(f.runner->rebuild("timelines"));
  CHECK(dump_state(*f.runner, all_state_dbs(*f.runner)) == before);
  CHECK(read_from() == from);
}

TEST_CASE("a state of timelines layout 2 (no bucket, no tl_latest, tl_buckets) is rebuilt at open") {
  fixture f;
  const auto good = append_a_c_late_b(f);
  // What a build of layout 2 left: the keys without their bucket, and no tl_latest.
  const auto old = dump_state(*f.runner, {"tl_transitions"}).at("tl_transitions");
  write_older_layout(f, "timelines", 2, "tl_transitions", [&](lmdb::txn& t, lmdb::dbi& d) {
    for (const auto& [k, v] : old) REQUIRE(d.put(t, k.substr(4), v));
  });
  {
    auto t = f.runner->store().begin_write();
    REQUIRE(t);
    auto l = f.runner->store().db("tl_latest");
    auto b = f.runner->store().db("tl_buckets");
    REQUIRE((l && b));
    REQUIRE(l->drop(*t));
    REQUIRE(b->drop(*t));
    REQUIRE(t->commit());
  }
  f.open_runner();
  f.sync();
  CHECK(dump_state(*f.runner, all_state_dbs(*f.runner)) == good);
  const auto tr = transitions(f, "t", "job", "J1");
  REQUIRE(tr.size() == 3);
  CHECK(tr[1].to == "B");
  CHECK(tr[1].out_of_order);
}

TEST_CASE("a state of timelines layout 1 (from stored at arrival) is rebuilt at open") {
  fixture f;
  const auto good = append_a_c_late_b(f);
  // Turn the state into what an older build left: no layout key, a stale `from` stored on C.
  {
    auto t = f.runner->store().begin_write();
    REQUIRE(t);
    auto cp = f.runner->store().db("checkpoints");
    auto tl = f.runner->store().db("tl_transitions");
    REQUIRE((cp && tl));
    REQUIRE(*cp->del(*t, "timelines.layout"));
    auto c = lmdb::cursor::open(*t, *tl);
    REQUIRE(c);
    auto kv = c->last();
    REQUIRE((kv && *kv));
    const std::string key((*kv)->first);
    std::string v((*kv)->second);
    *c = lmdb::cursor();
    std::string old;
    old.push_back(0);
    old.append(v, 1, 8);  // recorded_at
    old.append("\x01\x00" "A" "\x01\x00" "C", 6);  // from "A", to "C"
    REQUIRE(tl->put(*t, key, old));
    REQUIRE(t->commit());
  }
  f.open_runner();
  f.sync();
  CHECK(dump_state(*f.runner, all_state_dbs(*f.runner)) == good);
  CHECK(transitions(f, "t", "job", "J1")[2].from == "B");
}

TEST_CASE("an out-of-order arrival is flagged against transitions written by earlier batches") {
  // Each sync is a batch of its own: the flag comes from the entity's tl_latest, written by the
  // earlier batch, not from the batch.
  fixture f;
  f.append(event("t", "x", {}, "job", "J1", "", "A", kT0));
  f.append(event("t", "x", {}, "job", "J1", "", "C", kT0 + 20 * kMin));
  f.append(event("t", "x", {}, "job", "J10", "", "Z", kT0));  // the entity sorting after J1's keys
  f.sync();
  f.append(event("t", "x", {}, "job", "J1", "", "B", kT0 + 10 * kMin));   // before C: late
  f.append(event("t", "x", {}, "job", "J1", "", "D", kT0 + 30 * kMin));   // after C, then J10's key
  f.append(event("t", "x", {}, "job", "J0", "", "Y", kT0 + 50 * kMin));   // a new entity before J1
  f.sync();
  auto tr = transitions(f, "t", "job", "J1");
  REQUIRE(tr.size() == 4);
  CHECK(tr[0].to == "A");
  CHECK_FALSE(tr[0].out_of_order);
  CHECK(tr[1].to == "B");
  CHECK(tr[1].out_of_order);
  CHECK(tr[1].from == "A");
  CHECK(tr[2].to == "C");
  CHECK_FALSE(tr[2].out_of_order);
  CHECK(tr[3].to == "D");
  CHECK_FALSE(tr[3].out_of_order);
  auto j0 = transitions(f, "t", "job", "J0");
  REQUIRE(j0.size() == 1);
  CHECK_FALSE(j0[0].out_of_order);
  auto j10 = transitions(f, "t", "job", "J10");
  REQUIRE(j10.size() == 1);
  CHECK_FALSE(j10[0].out_of_order);
}

TEST_CASE("timelines: a transition's key and value bytes, written per batch and by a rebuild") {
  // The layout in timelines.hpp, built here byte by byte (not with key_codec): apply() writes the
  // key and value in place, for the per-batch staging and for the bulk load's runs.
  fixture f;
  f.append(event("tn", "x", {}, "order", "O-1", "", "PAID", kT0 + kMin));
  f.append(event("tn", "x", {}, "order", "O-1", "PAID", "SHIPPED", kT0));  // late, from stated
  f.sync();
  auto be = [](std::uint64_t v) {
    std::string s;
    for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>(v >> (i * 8)));
    return s;
  };
  auto str16 = [](const std::string& s) {
    return std::string{static_cast<char>(s.size()), '\0'} + s;
  };
  const std::string prefix("tn\0order\0O-1\0", 13);
  const auto flip = [](std::int64_t t) { return static_cast<std::uint64_t>(t) ^ (1ull << 63); };
  const std::string bucket(4, '\0');  // seqs 1 and 2: bucket 0
  auto check = [&] {
    auto d = dump_state(*f.runner, {"tl_transitions", "tl_latest", "tl_buckets"});
    const auto& kv = d["tl_transitions"];
    REQUIRE(kv.size() == 2);
    // seq 2 sorts first (occurred earlier)
    CHECK(kv[0].first == bucket + prefix + be(flip(kT0)) + be(2));
    CHECK(kv[1].first == bucket + prefix + be(flip(kT0 + kMin)) + be(1));
    REQUIRE(kv[0].second.size() == 1 + 8 + 6 + 9);
    CHECK(kv[0].second[0] == 3);  // out of order | from stated
    CHECK(kv[0].second.substr(9) == str16("PAID") + str16("SHIPPED"));
    REQUIRE(kv[1].second.size() == 1 + 8 + 2 + 6);
    CHECK(kv[1].second[0] == 0);
    CHECK(kv[1].second.substr(9) == str16("") + str16("PAID"));
    // The entity's greatest key (seq 1's), its last seq, and that key's `to`.
    const auto& latest = d["tl_latest"];
    REQUIRE(latest.size() == 1);
    CHECK(latest[0].first == prefix);
    CHECK(latest[0].second == be(flip(kT0 + kMin)) + be(1) + be(2) + str16("PAID"));
    // The one bucket that holds its transitions.
    const auto& buckets = d["tl_buckets"];
    REQUIRE(buckets.size() == 1);
    CHECK(buckets[0].first == prefix + bucket);
    CHECK(buckets[0].second.empty());
    return d;
  };
  const auto live = check();
  REQUIRE(f.runner->rebuild("timelines"));
  CHECK(check() == live);  // recorded_at included
}

TEST_CASE("timeline pages: 2,500 transitions read 1,000 at a time after a cursor equal one unlimited read") {
  fixture f;
  // Occurred times out of recorded order (every third step arrives late), so derived `from`s and
  // out_of_order flags cross the page boundaries; two steps share an occurred time (seq decides).
  for (int i = 0; i < 2500; ++i) {
    const int at = (i % 3 == 2) ? i - 2 : i;
    f.append(event("jelp-co", "order_update:status_change", {}, "order", "BIG", "",
                   "S" + std::to_string(i), kT0 + at * kMin));
  }
  f.sync();
  auto t = f.read();
  auto all = f.runner->timeline().get(t, "jelp-co", "order", "BIG");
  REQUIRE(*all);
  REQUIRE((*all)->transitions.size() == 2500);
  CHECK_FALSE((*all)->more);
  std::vector<projections::transition> joined;
  std::optional<projections::timeline_position> after;
  int pages = 0;
  for (;; ++pages) {
    auto p = f.runner->timeline().get(t, "jelp-co", "order", "BIG", 1000, after);
    REQUIRE(*p);
    CHECK((*p)->current_status == (*all)->current_status);
    joined.insert(joined.end(), (*p)->transitions.begin(), (*p)->transitions.end());
    if (!(*p)->more) break;
    after = projections::timeline_position{(*p)->transitions.back().occurred_at,
                                           (*p)->transitions.back().seq};
  }
  CHECK(pages == 2);  // 1000, 1000, 500
  REQUIRE(joined.size() == 2500);
  for (std::size_t i = 0; i < joined.size(); ++i) {
    const auto& a = (*all)->transitions[i];
    INFO(i);
    CHECK(joined[i].seq == a.seq);
    CHECK(joined[i].from == a.from);
    CHECK(joined[i].to == a.to);
    CHECK(joined[i].out_of_order == a.out_of_order);
  }
  CHECK(joined[1000].from == (*all)->transitions[999].to);
  // Exactly 1,000: no `more`; a position between two keys continues from the next one.
  auto exact = f.runner->timeline().get(t, "jelp-co", "order", "BIG", 2500);
  CHECK_FALSE((*exact)->more);
  const auto& k = (*all)->transitions[1500];
  const projections::timeline_position pos{k.occurred_at, k.seq + 100000};
  auto between = f.runner->timeline().get(t, "jelp-co", "order", "BIG", 1, pos);
  const auto& tr = (*all)->transitions;
  const auto want = std::find_if(tr.begin(), tr.end(), [&](const projections::transition& x) {
    return x.occurred_at > pos.occurred_at || (x.occurred_at == pos.occurred_at && x.seq > pos.seq);
  });
  REQUIRE(want != tr.end());
  REQUIRE((*between)->transitions.size() == 1);
  CHECK((*between)->transitions[0].seq == want->seq);
  CHECK((*between)->transitions[0].from == want->from);
}

TEST_CASE(
    "timelines over many seq buckets: reads, flags and current status equal a model, and "
    "batches, mid-batch write-outs, transitions held across batches and bulk rebuilds "
    "write the same bytes") {
  // Buckets of 8 seqs, so 900 events spread over 113 buckets and one entity over many; events
  // arrive in irregular batches, some occurred earlier than their entity's latest (late), some
  // at equal times (seq decides), some with a stated `from`.
  // held: 0, each batch written by a synchronous catch-up; otherwise the runner's thread
  // follows the log and the transitions are held across batches (reads merge them): 1, at most
  // 6 (write-outs mid-batch past 7); 2, written when 50 are held; 3, all of them held.
  const int held = GENERATE(0, 1, 2, 3);
  INFO("held mode " << held);
  fixture f;
  f.ropts.timelines_bucket_bits = 3;
  f.ropts.timelines_staged_max = held >= 2 ? 100'000 : 7;  // 7: groups split between write-outs
  f.ropts.timelines_held_max = held == 2 ? 50 : held == 0 ? 0 : 100'000;
  f.ropts.sync_interval = std::chrono::hours(1);  // no write-out at a sync during the test
  f.ropts.bulk_rebuild = held == 0;               // a bulk load would hold the first batches itself
  f.open_runner();
  if (held != 0) f.runner->start();
  // A batch: synchronous, or the following thread's (which keeps what it holds).
  auto apply = [&](std::uint64_t seq) {
    if (held == 0)
      f.sync();
    else
      REQUIRE(f.runner->wait_applied(seq, std::chrono::seconds(30)));
  };
  struct step {
    std::string tenant, id, from, to;
    std::int64_t occurred;
    std::uint64_t seq;
  };
  std::vector<step> steps;
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  auto rnd = [&](std::uint64_t n) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x % n;
  };
  std::map<std::string, std::int64_t> clock;  // per entity: its newest occurred time so far
  std::uint64_t pending = 0;
  for (int i = 0; i < 900; ++i) {
    step s;
    s.tenant = rnd(4) == 0 ? "t2" : "t1";
    s.id = "E" + std::to_string(rnd(i < 450 ? 30 : 60));  // new entities join halfway
    std::int64_t& c = clock[s.tenant + "/" + s.id];
    const auto r = rnd(10);
    s.occurred = r < 2 ? c - static_cast<std::int64_t>(rnd(5)) * kMin  // late (or equal)
                       : (c += static_cast<std::int64_t>(rnd(3)) * kMin);  // on time or equal
    s.to = "S" + std::to_string(rnd(7));
    if (rnd(5) == 0) s.from = "F" + std::to_string(rnd(3));
    s.seq = f.append(event(s.tenant, "x", {}, "job", s.id, s.from, s.to, kT0 + s.occurred));
    steps.push_back(s);
    if (++pending == 1 + rnd(40)) {
      apply(s.seq);
      pending = 0;
    }
  }
  apply(steps.back().seq);
  // The model: per entity, its steps by (occurred, seq); a step is late when an earlier one
  // occurred later; the current status is the `to` of the last by that order.
  std::map<std::pair<std::string, std::string>, std::vector<projections::transition>> model;
  for (const auto& s : steps) {
    auto& m = model[{s.tenant, s.id}];
    projections::transition t;
    t.to = s.to;
    t.from = s.from;
    t.from_stated = !s.from.empty();
    t.occurred_at = kT0 + s.occurred;
    t.seq = s.seq;
    t.out_of_order = std::any_of(m.begin(), m.end(), [&](const projections::transition& e) {
      return e.occurred_at > t.occurred_at;
    });
    m.push_back(t);
  }
  for (auto& [k, m] : model) {
    std::stable_sort(m.begin(), m.end(), [](const auto& a, const auto& b) {
      return a.occurred_at < b.occurred_at;  // seq order already breaks ties
    });
    projections::derive_from(m);
  }
  auto check_reads = [&] {
    auto t = f.read();
    for (const auto& [k, m] : model) {
      INFO(k.first << "/" << k.second);
      auto tl = f.runner->timeline().get(t, k.first, "job", k.second);
      REQUIRE(tl);
      REQUIRE(*tl);
      CHECK((*tl)->current_status == m.back().to);
      const auto& got = (*tl)->transitions;
      REQUIRE(got.size() == m.size());
      for (std::size_t i = 0; i < m.size(); ++i) {
        INFO(i);
        CHECK(got[i].seq == m[i].seq);
        CHECK(got[i].occurred_at == m[i].occurred_at);
        CHECK(got[i].to == m[i].to);
        CHECK(got[i].from == m[i].from);
        CHECK(got[i].out_of_order == m[i].out_of_order);
      }
      // Pages of 4 joined equal the whole; every page's first `from` is derived across buckets.
      std::vector<projections::transition> joined;
      std::optional<projections::timeline_position> after;
      for (;;) {
        auto p = f.runner->timeline().get(t, k.first, "job", k.second, 4, after);
        REQUIRE(*p);
        joined.insert(joined.end(), (*p)->transitions.begin(), (*p)->transitions.end());
        if (!(*p)->more) break;
        after = projections::timeline_position{joined.back().occurred_at, joined.back().seq};
      }
      REQUIRE(joined.size() == m.size());
      for (std::size_t i = 0; i < m.size(); ++i) {
        CHECK(joined[i].seq == m[i].seq);
        CHECK(joined[i].from == m[i].from);
      }
    }
    auto none = f.runner->timeline().get(t, "t1", "job", "E999");
    REQUIRE(none);
    CHECK_FALSE(*none);
  };
  check_reads();
  if (held != 0) {
    // Reads merged what was held; a catch-up writes it, and the same reads follow from disk.
    // (held 1 may have written the last batch's mid-batch: none left)
    const std::size_t h = f.runner->timeline().held_count();
    if (held == 1) CHECK(h < 7);
    if (held == 2) CHECK(h < 50 + 40);
    if (held == 3) CHECK(h == steps.size());
    auto t = f.read();
    auto cp = f.runner->checkpoint_in(t, "timelines");
    REQUIRE(cp);
    CHECK((*cp < steps.back().seq) == (h > 0));  // stored: how far tl_* are whole
    t.abort();
    f.runner->stop();
    f.sync();
    CHECK(f.runner->timeline().held_count() == 0);
    check_reads();
    f.ropts.bulk_rebuild = true;  // for the rebuilds below
    f.open_runner();
  }
  const std::vector<std::string> dbs{"tl_transitions", "tl_latest", "tl_buckets"};
  const auto live = dump_state(*f.runner, dbs);
  std::set<std::string> buckets;
  // tl_buckets: one key per entity and bucket it has a transition in, entity first.
  std::set<std::string> entity_buckets;
  for (const auto& [k, v] : live.at("tl_transitions")) {
    buckets.insert(k.substr(0, 4));
    entity_buckets.insert(k.substr(4, k.size() - 20) + k.substr(0, 4));
  }
  CHECK(buckets.size() == (steps.back().seq >> 3) + 1);  // every bucket holds a transition
  std::set<std::string> listed;
  for (const auto& [k, v] : live.at("tl_buckets")) listed.insert(k);
  CHECK(listed == entity_buckets);
  CHECK(listed.size() > 400);  // most entities in many buckets, none in all
  CHECK(live.at("tl_latest").size() == model.size());
  std::size_t late = 0;
  for (const auto& [k, m] : model)
    late += static_cast<std::size_t>(std::count_if(
        m.begin(), m.end(), [](const projections::transition& t) { return t.out_of_order; }));
  CHECK(late > 20);

  SECTION("a bulk rebuild in memory") {
    REQUIRE(f.runner->rebuild("timelines"));
    CHECK(dump_state(*f.runner, dbs) == live);
    check_reads();
  }
  SECTION("a bulk rebuild through run files, written out in parts of 512 bytes") {
    f.ropts.state_dir = (f.dir / "state-runs").string();
    f.ropts.rebuild_memory = 4096;
    f.ropts.write_out_part_bytes = 512;
    f.open_runner();
    f.sync();
    CHECK(dump_state(*f.runner, dbs) == live);
    check_reads();
  }
  SECTION("one event per batch") {
    f.ropts.state_dir = (f.dir / "state-single").string();
    f.ropts.bulk_rebuild = false;
    f.ropts.batch_records = 1;
    f.open_runner();
    f.sync();
    CHECK(dump_state(*f.runner, dbs) == live);
  }
}
