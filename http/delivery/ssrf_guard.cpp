#include "http/delivery/ssrf_guard.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

#include "http/delivery/delivery_errc.hpp"

namespace hooklog::http {

namespace {

constexpr bool in_net(std::uint32_t a, std::uint32_t net, int bits) {
  return bits == 0 ? true : (a >> (32 - bits)) == (net >> (32 - bits));
}
constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::uint32_t embedded_v4(const std::array<std::uint8_t, 16>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
         std::uint32_t{b[at + 3]};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

error bad_url(std::string_view url, const std::string& why) {
  std::string shown(url.substr(0, 200));
  return make_error(delivery_errc::bad_url, "bad URL '" + shown + "': " + why);
}

error refused(std::string_view host, std::string_view ip, address_class c) {
  std::string msg = "refused: " + std::string(host);
  if (host != ip) msg += " resolves to " + std::string(ip) + ", which";
  msg += " is a " + std::string(address_class_name(c)) + " address";
  if (address_allowed(c, true))
    msg += "; set allow_private_targets to allow it";
  else
    msg += "; never allowed as a delivery target";
  return make_error(delivery_errc::ssrf, msg);
}

// True for host names getaddrinfo/inet_aton would read as an IPv4 address in a non-canonical
// form: every label is decimal, octal or hex digits ("127.1", "2130706433", "0x7f.0.0.1").
bool numeric_host(std::string_view h) {
  if (h.empty()) return false;
  std::size_t start = 0;
  while (start <= h.size()) {
    auto dot = h.find('.', start);
    auto label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return false;
    bool hex = label.size() > 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X');
    for (std::size_t i = hex ? 2 : 0; i < label.size(); ++i) {
      char c = label[i];
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(static_cast<unsigned char>(c))))
        return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

std::string_view address_class_name(address_class c) noexcept {
  switch (c) {
    case address_class::global: return "global";
    case address_class::loopback: return "loopback";
    case address_class::private_net: return "private";
    case address_class::link_local: return "link-local";
    case address_class::metadata: return "cloud metadata";
    case address_class::unspecified: return "unspecified";
    case address_class::multicast: return "multicast";
    case address_class::reserved: return "reserved";
  }
  return "unknown";
}

address_class classify_v4(std::uint32_t a) noexcept {
  if (a == v4(169, 254, 169, 254) || a == v4(169, 254, 170, 2) || a == v4(100, 100, 100, 200))
    return address_class::metadata;
  if (in_net(a, v4(0, 0, 0, 0), 8)) return address_class::unspecified;
  if (in_net(a, v4(127, 0, 0, 0), 8)) return address_class::loopback;
  if (in_net(a, v4(10, 0, 0, 0), 8) || in_net(a, v4(172, 16, 0, 0), 12) || in_net(a, v4(192, 168, 0, 0), 16) ||
      in_net(a, v4(100, 64, 0, 0), 10))
    return address_class::private_net;
  if (in_net(a, v4(169, 254, 0, 0), 16)) return address_class::link_local;
  if (in_net(a, v4(224, 0, 0, 0), 4)) return address_class::multicast;
  if (in_net(a, v4(240, 0, 0, 0), 4) || in_net(a, v4(192, 0, 0, 0), 24) || in_net(a, v4(192, 0, 2, 0), 24) ||
      in_net(a, v4(198, 18, 0, 0), 15) || in_net(a, v4(198, 51, 100, 0), 24) || in_net(a, v4(203, 0, 113, 0), 24))
    return address_class::reserved;
  return address_class::global;
}

address_class classify_v6(const std::array<std::uint8_t, 16>& b) noexcept {
  auto zero = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i)
      if (b[i] != 0) return false;
    return true;
  };
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated, RFC 2765) and 64:ff9b::a.b.c.d
  // (NAT64): judged by the IPv4 address.
  if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return classify_v4(embedded_v4(b, 12));
  if (zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
    return classify_v4(embedded_v4(b, 12));
  // 64:ff9b:1::/48 (RFC 8215): NAT64 prefixes for local use, the IPv4 address at a place the
  // network chooses: private whatever it embeds.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01)
    return address_class::private_net;
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12))
    return classify_v4(embedded_v4(b, 12));
  if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(embedded_v4(b, 2));  // 6to4
  if (zero(0, 16)) return address_class::unspecified;
  if (zero(0, 15) && b[15] == 1) return address_class::loopback;
  if (zero(0, 12)) return address_class::reserved;  // IPv4-compatible (deprecated)
  // fd00:ec2::254 (AWS IMDS over IPv6)
  static constexpr std::array<std::uint8_t, 16> kImds{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (b == kImds) return address_class::metadata;
  if (b[0] == 0xff) return address_class::multicast;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return address_class::link_local;
  if ((b[0] & 0xfe) == 0xfc) return address_class::private_net;                 // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return address_class::private_net;  // fec0::/10
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return address_class::reserved;
  if (b[0] == 0x01 && b[1] == 0x00 && zero(2, 8)) return address_class::reserved;  // 100::/64
  return address_class::global;
}

std::optional<address_class> classify(std::string_view ip_text) {
  std::string s(ip_text);
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // fe80::1%eth0
  in_addr a4{};
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) return classify_v4(ntohl(a4.s_addr));
  std::array<std::uint8_t, 16> a6{};
  if (::inet_pton(AF_INET6, s.c_str(), a6.data()) == 1) return classify_v6(a6);
  return std::nullopt;
}

bool address_allowed(address_class c, bool allow_private) noexcept {
  switch (c) {
    case address_class::global: return true;
    case address_class::loopback:
    case address_class::private_net:
    case address_class::link_local: return allow_private;
    default: return false;
  }
}


std::string parsed_url::origin() const {
  std::string h = host_is_ipv6() ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::string parsed_url::host_header() const {
  std::string h = host_is_ipv6() ? "[" + host + "]" : host;
  unsigned short def = tls() ? 443 : 80;
  if (port != def) h += ":" + std::to_string(port);
  return h;
}

result<parsed_url> parse_url(std::string_view url) {
  if (url.empty()) return bad_url(url, "empty");
  if (url.size() > 2048) return bad_url(url, "longer than 2048 bytes");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad_url(url, "contains whitespace or control characters");
  parsed_url u;
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return bad_url(url, "not an absolute URL (scheme://host/...)");
  u.scheme = lower(url.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") return bad_url(url, "scheme must be http or https");
  auto rest = url.substr(colon + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (authority.find('@') != std::string_view::npos)
    return bad_url(url, "credentials in the URL are not allowed (use the endpoint's auth)");
  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "junk after ]");
      port = after.substr(1);
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return bad_url(url, "bad IPv6 address");
  } else {
    auto c = authority.rfind(':');
    host = authority.substr(0, c);
    if (c != std::string_view::npos) port = authority.substr(c + 1);
    if (host.find(':') != std::string_view::npos) return bad_url(url, "IPv6 hosts must be in brackets");
  }
  if (host.empty()) return bad_url(url, "no host");
  if (host.size() > 253) return bad_url(url, "host longer than 253 characters");
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':'))
      return bad_url(url, "host has a character that is not allowed");
  u.host = lower(host);
  if (!u.host.empty() && u.host.back() == '.' && !u.host_is_ipv6()) u.host.pop_back();  // FQDN dot
  if (u.host.empty()) return bad_url(url, "no host");
  if (!port.empty()) {
    unsigned long p = 0;
    if (port.size() > 5) return bad_url(url, "bad port");
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return bad_url(url, "bad port");
      p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (p == 0 || p > 65535) return bad_url(url, "port must be 1..65535");
    u.port = static_cast<unsigned short>(p);
  } else if (authority.size() > host.size() + (authority.front() == '[' ? 2 : 0)) {
    return bad_url(url, "empty port");
  } else {
    u.port = u.tls() ? 443 : 80;
  }
  if (auto hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  u.target = tail.empty() ? "/" : std::string(tail);
  if (u.target.front() == '?') u.target.insert(u.target.begin(), '/');
  return u;
}

result<parsed_url> check_url(std::string_view url, bool allow_private) {
  auto u = parse_url(url);
  if (!u) return u;
  if (auto c = classify(u->host)) {
    if (!address_allowed(*c, allow_private)) return refused(u->host, u->host, *c);
    return u;
  }
  if (numeric_host(u->host))
    return make_error(delivery_errc::ssrf, "refused: host '" + u->host +
                                               "' is a non-canonical numeric address; write it as a.b.c.d");
  bool local_name = u->host == "localhost" ||
                    (u->host.size() > 10 && u->host.compare(u->host.size() - 10, 10, ".localhost") == 0);
  if (local_name && !allow_private) return refused(u->host, u->host, address_class::loopback);
  return u;
}

result<void> check_address(std::string_view host, std::string_view ip_text, bool allow_private) {
  auto c = classify(ip_text);
  if (!c) return make_error(delivery_errc::ssrf, "refused: " + std::string(host) + " resolved to '" +
                                                      std::string(ip_text) + "', not an IP address");
  if (!address_allowed(*c, allow_private)) return refused(host, ip_text, *c);
  return {};
}

}  // namespace hooklog::http
