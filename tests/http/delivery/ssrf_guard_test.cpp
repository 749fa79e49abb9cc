#include <catch2/catch.hpp>

#include "http/delivery/delivery_errc.hpp"
#include "http/delivery/ssrf_guard.hpp"

using namespace hooklog::http;

TEST_CASE("ssrf: address classes", "[ssrf]") {
  struct row {
    const char* ip;
    address_class c;
  };
  const row rows[] = {
      {"8.8.8.8", address_class::global},
      {"93.184.216.34", address_class::global},
      {"127.0.0.1", address_class::loopback},
      {"127.255.1.2", address_class::loopback},
      {"10.1.2.3", address_class::private_net},
      {"172.16.0.1", address_class::private_net},
      {"172.31.255.255", address_class::private_net},
      {"172.32.0.1", address_class::global},
      {"192.168.1.1", address_class::private_net},
      {"100.64.0.1", address_class::private_net},
      {"169.254.1.1", address_class::link_local},
      {"169.254.169.254", address_class::metadata},
      {"100.100.100.200", address_class::metadata},
      {"0.0.0.0", address_class::unspecified},
      {"224.0.0.1", address_class::multicast},
      {"255.255.255.255", address_class::reserved},
      {"192.0.2.7", address_class::reserved},
      {"::1", address_class::loopback},
      {"::", address_class::unspecified},
      {"fc00::1", address_class::private_net},
      {"fd12:3456::1", address_class::private_net},
      {"fe80::1", address_class::link_local},
      {"fe80::1%eth0", address_class::link_local},
      {"fd00:ec2::254", address_class::metadata},
      {"ff02::1", address_class::multicast},
      {"::ffff:127.0.0.1", address_class::loopback},
      {"::ffff:10.0.0.1", address_class::private_net},
      {"::ffff:169.254.169.254", address_class::metadata},
      {"::ffff:8.8.8.8", address_class::global},
      {"64:ff9b::10.0.0.1", address_class::private_net},
      // The IPv4-translated form (RFC 2765) and the local-use NAT64 prefix (RFC 8215): a review
      // found both judged global, so the metadata address passed through them.
      {"::ffff:0:169.254.169.254", address_class::metadata},
      {"::ffff:0:a00:1", address_class::private_net},
      {"::ffff:0:8.8.8.8", address_class::global},
      {"64:ff9b:1::a9fe:a9fe", address_class::private_net},
      {"64:ff9b:1:ff00::8.8.8.8", address_class::private_net},
      {"64:ff9b:2::1", address_class::global},
      {"2002:7f00:1::", address_class::loopback},
      {"2001:db8::1", address_class::reserved},
      {"2606:4700:4700::1111", address_class::global},
  };
  for (const auto& r : rows) {
    INFO(r.ip);
    auto c = classify(r.ip);
    REQUIRE(c);
    CHECK(address_class_name(*c) == address_class_name(r.c));
  }
  CHECK_FALSE(classify("example.com"));
  CHECK_FALSE(classify("256.1.1.1"));
}

TEST_CASE("ssrf: policy", "[ssrf]") {
  CHECK(address_allowed(address_class::global, false));
  CHECK_FALSE(address_allowed(address_class::loopback, false));
  CHECK(address_allowed(address_class::loopback, true));
  CHECK(address_allowed(address_class::private_net, true));
  CHECK(address_allowed(address_class::link_local, true));
  CHECK_FALSE(address_allowed(address_class::metadata, true));
  CHECK_FALSE(address_allowed(address_class::unspecified, true));
  CHECK_FALSE(address_allowed(address_class::multicast, true));
}

TEST_CASE("ssrf: URL parsing", "[ssrf]") {
  auto u = parse_url("HTTPS://Example.COM/hooks/a?x=1#frag");
  REQUIRE(u);
  CHECK(u->scheme == "https");
  CHECK(u->host == "example.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/hooks/a?x=1");
  CHECK(u->origin() == "https://example.com:443");
  CHECK(u->host_header() == "example.com");

  u = parse_url("http://[::1]:8080");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 8080);
  CHECK(u->target == "/");
  CHECK(u->host_header() == "[::1]:8080");
  CHECK(u->origin() == "http://[::1]:8080");

  u = parse_url("http://h.example?q=1");
  REQUIRE(u);
  CHECK(u->target == "/?q=1");

  for (const char* bad : {"", "example.com/x", "ftp://example.com/", "http://", "http://:80/",
                          "http://user:pw@example.com/", "http://example.com:0/", "http://example.com:70000/",
                          "http://example.com:/", "http://exa mple.com/", "http://[::1/", "http://::1/",
                          "http://exa$mple.com/", "http://example.com:8x/"}) {
    INFO(bad);
    auto r = parse_url(bad);
    CHECK_FALSE(r);
    if (!r) CHECK(r.code() == delivery_errc::bad_url);
  }
}

TEST_CASE("ssrf: check_url at creation", "[ssrf]") {
  CHECK(check_url("https://hooks.example.com/x", false));
  CHECK(check_url("https://8.8.8.8/x", false));
  for (const char* refused : {"http://127.0.0.1:9000/", "http://[::1]/", "http://10.0.0.5/", "http://localhost:80/",
                              "http://api.localhost/", "http://169.254.169.254/latest/meta-data",
                              "http://[::ffff:127.0.0.1]/", "http://127.1/", "http://2130706433/",
                              "http://0x7f.0.0.1/", "http://0.0.0.0/"}) {
    INFO(refused);
    auto r = check_url(refused, false);
    REQUIRE_FALSE(r);
    CHECK(r.code() == delivery_errc::ssrf);
  }
  auto r = check_url("http://10.0.0.5/", false);
  CHECK(r.err().message.find("private") != std::string::npos);
  CHECK(r.err().message.find("allow_private_targets") != std::string::npos);
  // The flag allows loopback/private/link-local, never metadata or unspecified.
  CHECK(check_url("http://127.0.0.1:9000/", true));
  CHECK(check_url("http://localhost:9000/", true));
  CHECK(check_url("http://[::1]:9000/", true));
  CHECK_FALSE(check_url("http://169.254.169.254/", true));
  CHECK_FALSE(check_url("http://0.0.0.0/", true));
  CHECK_FALSE(check_url("http://127.1/", true));
}

TEST_CASE("ssrf: resolution-time check", "[ssrf]") {
  CHECK(check_address("hooks.example.com", "93.184.216.34", false));
  auto r = check_address("evil.example.com", "127.0.0.1", false);
  REQUIRE_FALSE(r);
  CHECK(r.code() == delivery_errc::ssrf);
  CHECK(r.err().message.find("evil.example.com resolves to 127.0.0.1") != std::string::npos);
  CHECK(check_address("evil.example.com", "127.0.0.1", true));
  CHECK_FALSE(check_address("evil.example.com", "169.254.169.254", true));
  CHECK_FALSE(check_address("x", "not-an-ip", true));
}
