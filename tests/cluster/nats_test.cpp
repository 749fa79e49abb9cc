// The NATS harness (tests/support/nats_cluster) and the checked connection layer
// (engine/cluster/nats.hpp) against real nats-server processes on loopback.
#include <catch2/catch.hpp>

#include "engine/cluster/nats.hpp"
#include "support/nats_cluster.hpp"

using namespace hooklog;
using namespace hooklog::cluster;

namespace {

std::unique_ptr<connection> connect_to(const std::string& urls) {
  auto list = parse_urls(urls);
  REQUIRE(list);
  connect_options o;
  o.urls = *list;
  o.name = "test";
  auto c = connection::connect(o);
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c);
  return std::move(*c);
}

}  // namespace

TEST_CASE("parse_urls accepts a comma list and refuses other schemes", "[cluster][nats]") {
  auto ok = parse_urls("nats://127.0.0.1:4222, nats://127.0.0.1:4223");
  REQUIRE(ok);
  CHECK(*ok == std::vector<std::string>{"nats://127.0.0.1:4222", "nats://127.0.0.1:4223"});
  auto bad = parse_urls("http://127.0.0.1:4222");
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == make_error_code(cluster_errc::bad_config));
  CHECK(bad.err().message ==
        "cluster URL 'http://127.0.0.1:4222' is not nats://HOST[:PORT] or tls://HOST[:PORT]");
  CHECK(parse_urls(" , ").code() == make_error_code(cluster_errc::bad_config));
  CHECK(check_cell_name("eu-1").ok());
  CHECK(check_cell_name("a.b").code() == make_error_code(cluster_errc::bad_config));
  CHECK(stream_name("eu-1") == "HOOKLOG_EU-1");
  CHECK(stream_subject("eu-1") == "hooklog.eu-1.records");
}

TEST_CASE("connecting to an unreachable NATS names the URLs", "[cluster][nats]") {
  const std::string url = "nats://127.0.0.1:" + std::to_string(test::free_port());
  connect_options o;
  o.urls = {url};
  auto c = connection::connect(o);
  REQUIRE_FALSE(c);
  CHECK(c.code() == make_error_code(cluster_errc::unreachable));
  CHECK(c.err().message.rfind("cannot reach NATS at " + url + ": ", 0) == 0);
}

TEST_CASE("ensure_stream creates the cell stream and refuses one with other settings",
          "[cluster][nats]") {
  test::nats_cluster nats(1);
  auto conn = connect_to(nats.urls());
  auto js = jetstream::open(*conn);
  REQUIRE(js);
  stream_settings s;
  s.cell = "alpha";
  s.replicas = 1;
  auto st = ensure_stream(**js, s);
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st);
  CHECK(st->last_seq == 0);
  REQUIRE(ensure_stream(**js, s));  // the same settings again: accepted

  stream_settings other = s;
  other.replicas = 3;
  auto r = ensure_stream(**js, other);
  REQUIRE_FALSE(r);
  CHECK(r.code() == make_error_code(cluster_errc::stream_mismatch));
  CHECK(r.err().message ==
        "stream HOOKLOG_ALPHA exists with replicas 1, this node is configured for 3 "
        "(--cluster-replicas); refusing to use it");
  other = s;
  other.max_age = std::chrono::seconds(3600);
  r = ensure_stream(**js, other);
  REQUIRE_FALSE(r);
  CHECK(r.err().message ==
        "stream HOOKLOG_ALPHA exists with max age none, this node is configured for 3600 s "
        "(--cluster-max-age); refusing to use it");
  auto state = get_stream_state(**js, "alpha");
  REQUIRE(state);
  CHECK(state->messages == 0);
}

TEST_CASE("a 3-server NATS cluster elects a meta leader and keeps a stream through a kill",
          "[cluster][nats]") {
  test::nats_cluster nats(3);
  auto conn = connect_to(nats.urls());
  auto js = jetstream::open(*conn);
  REQUIRE(js);
  stream_settings s;
  s.cell = "three";
  auto st = ensure_stream(**js, s);
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st);
  nats.kill_hard(2);
  CHECK_FALSE(nats.running(2));
  nats.restart(2);
  nats.wait_ready();
  REQUIRE(nats.running(2));
  auto again = ensure_stream(**js, s);
  INFO((again ? std::string() : again.err().message));
  CHECK(again);
}
