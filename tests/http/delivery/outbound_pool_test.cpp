// The outbound client's connection pools (http/delivery/outbound_pool.hpp): which connection
// carries a request, the per-pool connection limit, the queue, and pools per (origin, pool key).
#include <catch2/catch.hpp>

#include "http/delivery/outbound_pool.hpp"

using namespace hooklog;
using namespace std::chrono_literals;

namespace {

struct fake_connection : http::pool_connection {
  int id = 0;
  std::vector<std::string> requests;  // the bodies this connection was handed, in order
  std::chrono::milliseconds parked_for{-1};
  int closes = 0;

  void start(http::outbound_job_ptr j) override { requests.push_back(j->req.body); }
  void reuse(http::outbound_job_ptr j) override { requests.push_back(j->req.body); }
  void park(std::chrono::milliseconds idle_timeout) override {
    is_idle = true;
    parked_for = idle_timeout;
  }
  void close() override {
    dead = true;
    ++closes;
  }
};

struct fake_client : http::pool_client {
  std::vector<std::shared_ptr<fake_connection>> made;
  std::shared_ptr<http::pool_connection> open_connection(std::shared_ptr<http::ob_pool> p,
                                                         const http::parsed_url&) override {
    auto c = std::make_shared<fake_connection>();
    c->owner = std::move(p);
    c->id = static_cast<int>(made.size());
    made.push_back(c);
    return c;
  }
  // Breaks the cycle pool -> client -> connection -> pool (stop() clears the real client's map).
  void drop() {
    for (auto& c : made) c->owner.reset();
    made.clear();
  }
};

std::shared_ptr<const http::url_info> url_of(const char* url) {
  auto u = http::check_url(url, true);
  REQUIRE(u);
  return http::make_url_info(std::move(*u));
}

http::outbound_job_ptr job_of(std::string body, std::vector<std::string>* failures = nullptr) {
  auto j = std::make_shared<http::outbound_job>();
  j->url = url_of("http://a.example/hook");
  j->req.body = std::move(body);
  if (failures)
    j->done = [failures, b = j->req.body](http::outbound_outcome&& o) {
      failures->push_back(b + ":" + std::to_string(static_cast<int>(o.failure_kind())));
    };
  return j;
}

struct fixture {
  boost::asio::io_context ioc;  // never run: the test is the pool's only thread
  std::shared_ptr<fake_client> client = std::make_shared<fake_client>();
  std::shared_ptr<http::ob_pool> pool;

  explicit fixture(std::size_t max_connections) {
    pool = std::make_shared<http::ob_pool>(*client, ioc.get_executor(), "http://a.example:80",
                                           http::pool_limits{max_connections, 1234ms});
  }
  ~fixture() { client->drop(); }
};

}  // namespace

TEST_CASE("outbound pool: a released connection carries the next request, parked LIFO", "[outbound]") {
  fixture f(4);
  f.pool->submit(job_of("r1"));
  f.pool->submit(job_of("r2"));
  REQUIRE(f.client->made.size() == 2);  // nothing idle: a new connection each
  auto c0 = f.client->made[0], c1 = f.client->made[1];
  CHECK(f.pool->open() == 2);
  CHECK(f.client->n_opened.load() == 2);
  CHECK(f.client->n_open.load() == 2);

  f.pool->release(c0, true);
  f.pool->release(c1, true);
  CHECK(c0->parked_for == 1234ms);  // the pool's idle timeout
  CHECK(c1->is_idle);
  CHECK(f.pool->idle() == 2);

  f.pool->submit(job_of("r3"));  // the connection parked last
  CHECK(f.client->made.size() == 2);
  CHECK(c1->requests == std::vector<std::string>{"r2", "r3"});
  CHECK_FALSE(c1->is_idle);
  f.pool->submit(job_of("r4"));
  CHECK(c0->requests == std::vector<std::string>{"r1", "r4"});
  CHECK(f.pool->idle() == 0);
  CHECK(f.pool->open() == 2);
  CHECK(f.client->n_opened.load() == 2);
}

TEST_CASE("outbound pool: at most max connections, the rest wait in order", "[outbound]") {
  fixture f(2);
  std::vector<http::outbound_job_ptr> batch{job_of("a"), job_of("b"), job_of("c"), job_of("d")};
  f.pool->submit(std::move(batch));
  REQUIRE(f.client->made.size() == 2);
  CHECK(f.pool->queued() == 2);
  auto c0 = f.client->made[0];
  auto c1 = f.client->made[1];

  f.pool->release(c1, false);  // not reusable: closed, counted out, its slot opens a new one
  CHECK(c1->closes == 1);
  CHECK(c1->owner == nullptr);
  REQUIRE(f.client->made.size() == 3);
  CHECK(f.client->made[2]->requests == std::vector<std::string>{"c"});
  CHECK(f.pool->open() == 2);
  CHECK(f.client->n_open.load() == 2);
  CHECK(f.client->n_opened.load() == 3);

  f.pool->release(c0, true);  // reusable: straight to the queued request, not parked
  CHECK(c0->requests == std::vector<std::string>{"a", "d"});
  CHECK_FALSE(c0->is_idle);
  CHECK(f.pool->idle() == 0);
  CHECK(f.pool->queued() == 0);

  f.pool->release(c0, true);
  f.pool->release(c0, false);  // an idle connection that ended (idle timeout, peer's close)
  CHECK(f.pool->idle() == 0);
  CHECK(f.pool->open() == 1);
  CHECK(c0->closes == 1);
}

TEST_CASE("outbound pool: a retried request goes first into the freed slot", "[outbound]") {
  fixture f(1);
  f.pool->submit(job_of("x"));
  f.pool->submit(job_of("y"));
  auto c0 = f.client->made.at(0);
  c0->dead = true;  // its request failed on a stale connection
  f.pool->retry_first(job_of("x again"), c0);
  CHECK(c0->closes == 0);  // already closed: not closed twice
  REQUIRE(f.client->made.size() == 2);
  CHECK(f.client->made[1]->requests == std::vector<std::string>{"x again"});
  CHECK(f.pool->queued() == 1);  // "y" still waits
}

TEST_CASE("outbound pool: close_all fails queued requests, closes all, refuses new ones", "[outbound]") {
  fixture f(1);
  std::vector<std::string> failures;
  f.pool->submit(job_of("busy", &failures));
  f.pool->submit(job_of("queued", &failures));
  f.pool->close_all();
  CHECK(failures == std::vector<std::string>{"queued:" + std::to_string(static_cast<int>(http::delivery_errc::shutdown))});
  auto c0 = f.client->made.at(0);
  CHECK(c0->closes == 1);
  CHECK(f.pool->open() == 1);  // busy: counted out when its handler releases it
  f.pool->release(c0, true);  // closed pool: not parked
  CHECK(f.pool->open() == 0);
  CHECK(f.client->n_open.load() == 0);
  f.pool->submit(job_of("late", &failures));
  CHECK(failures.size() == 2);
  CHECK(failures[1] == "late:" + std::to_string(static_cast<int>(http::delivery_errc::shutdown)));
  CHECK(f.client->made.size() == 1);
}

TEST_CASE("outbound pool: close_all counts idle connections out at once", "[outbound]") {
  fixture f(2);
  f.pool->submit(job_of("a"));
  f.pool->release(f.client->made.at(0), true);
  CHECK(f.pool->idle() == 1);
  f.pool->close_all();
  CHECK(f.client->made[0]->closes == 1);
  CHECK(f.client->made[0]->owner == nullptr);
  CHECK(f.pool->idle() == 0);
  CHECK(f.pool->open() == 0);
}

TEST_CASE("outbound pool map: one pool per origin and pool key", "[outbound]") {
  boost::asio::io_context ioc;
  auto client = std::make_shared<fake_client>();
  http::pool_map pools(*client, ioc, 1, {8, 1000ms});
  auto x = url_of("http://a.example/x");
  auto y = url_of("http://a.example:80/y");
  auto other_port = url_of("http://a.example:8080/x");
  auto tls = url_of("https://a.example/x");
  auto t1 = pools.find_or_make(x->url, "t1");
  CHECK(t1->origin == "http://a.example:80");
  CHECK(pools.find_or_make(y->url, "t1") == t1);  // the same origin: the same pool
  auto t2 = pools.find_or_make(x->url, "t2");
  CHECK(t2 != t1);  // another tenant never shares its connections
  CHECK(pools.find_or_make(other_port->url, "t1") != t1);
  CHECK(pools.find_or_make(tls->url, "t1") != t1);
  CHECK(pools.all().size() == 4);

  t1->submit(job_of("r1"));
  t1->release(client->made.at(0), true);
  t2->submit(job_of("r2"));  // t1's idle connection is not t2's
  CHECK(client->made.size() == 2);
  CHECK(client->made[0]->requests == std::vector<std::string>{"r1"});
  CHECK(client->made[1]->requests == std::vector<std::string>{"r2"});
  CHECK(t1->idle() == 1);
  t1->close_all();
  t2->close_all();
  pools.clear();
  CHECK(pools.all().empty());
  client->drop();
}
