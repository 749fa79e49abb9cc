#pragma once
// SSRF guard for outbound delivery URLs: what an address is, and whether we may connect to it.
//
// Address classes (IPv4 and IPv6; IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96 and 6to4
// 2002::/16 are judged by the IPv4 address they carry):
//   loopback     127/8, ::1
//   private      10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7, fec0::/10
//   link_local   169.254/16, fe80::/10
//   metadata     169.254.169.254, 169.254.170.2, 100.100.100.200, fd00:ec2::254
//   unspecified  0/8, ::
//   multicast    224/4, ff00::/8
//   reserved     240/4 (incl. broadcast), 192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24,
//                203.0.113/24, 2001:db8::/32, ::/96 (IPv4-compatible), 100::/64 (discard)
//   global       everything else
// Policy: global is always allowed. allow_private (a configuration flag for tests and local
// setups) also allows loopback, private and link_local. metadata, unspecified, multicast and
// reserved are refused always: no legitimate webhook lives there (0.0.0.0 even reaches local
// services on Linux).
//
// The guard runs twice: when an endpoint is created (check_url: syntax, and the host when it is
// an address literal or a *.localhost name) and at connection time on every address DNS
// returned (check_address), so a name that resolves to a private address is refused too.
//
// What tenants are told: the refusals below name the address and its class, which would show a
// tenant what a host name resolves to inside the network. Answers and attempt records a tenant
// can read say only kTargetNotAllowed; the detail goes to admins (API answers to an admin key)
// and to the server's log (stderr) for delivery attempts.
//
// Thread safety: pure functions.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace hooklog::http {

inline constexpr std::string_view kTargetNotAllowed = "the delivery target is not allowed";

enum class address_class : std::uint8_t {
  global,
  loopback,
  private_net,
  link_local,
  metadata,
  unspecified,
  multicast,
  reserved,
};
std::string_view address_class_name(address_class c) noexcept;  // "global", "loopback", ...

address_class classify_v4(std::uint32_t host_order) noexcept;
address_class classify_v6(const std::array<std::uint8_t, 16>& bytes) noexcept;
// A textual IPv4 or IPv6 address (no brackets); nullopt when it is not one.
std::optional<address_class> classify(std::string_view ip_text);

// Whether the policy lets us connect to an address of this class.
bool address_allowed(address_class c, bool allow_private) noexcept;

// An absolute http(s) URL split for the client.
struct parsed_url {
  std::string scheme;  // "http" | "https" (lower case)
  std::string host;    // lower case, IPv6 without brackets
  unsigned short port = 0;  // explicit or the scheme's default
  std::string target;  // path + query, "/" when empty; the fragment is dropped
  bool tls() const { return scheme == "https"; }
  bool host_is_ipv6() const { return host.find(':') != std::string::npos; }
  // "https://host:port": the key of a connection pool.
  std::string origin() const;
  // Host header value: host, "[v6]", plus ":port" when not the default.
  std::string host_header() const;
};

// Syntax only: scheme http/https, a host, an optional port 1..65535, no user-info (credentials
// belong in the endpoint's auth), no whitespace or control characters. Errors are
// delivery_errc::bad_url with a reason.
result<parsed_url> parse_url(std::string_view url);

// parse_url, then the policy on what is knowable without DNS: an address literal's class,
// "localhost" / "*.localhost", and numeric host forms getaddrinfo would read as an address
// ("127.1", "2130706433", "0x7f.0.0.1"), which are refused as ambiguous.
// Errors: bad_url, or delivery_errc::ssrf naming the class ("refused: 10.0.0.1 is a private
// address; set allow_private_targets to allow it").
result<parsed_url> check_url(std::string_view url, bool allow_private);

// Resolution-time check of one resolved address (text form, as the resolver gave it).
// Error delivery_errc::ssrf with the host and the address in the message.
result<void> check_address(std::string_view host, std::string_view ip_text, bool allow_private);

}  // namespace hooklog::http
