#pragma once
// The peer check of every outbound TLS connection (deliveries and the API client).

#include <openssl/ssl.h>

#include <string>

namespace hooklog::http {

// Before the handshake: sets SNI for a DNS name (RFC 6066 forbids IP literals) and asks
// OpenSSL to match the peer certificate against `host` (a DNS name, or an IPv4/IPv6 literal
// without brackets) as part of chain verification. A mismatch fails the handshake and
// SSL_get_verify_result() names it (X509_V_ERR_HOSTNAME_MISMATCH / _IP_ADDRESS_MISMATCH), so
// the recorded reason says "hostname mismatch" rather than an unspecified error. Partial
// wildcards (f*.example) are not accepted. Returns false when OpenSSL refuses the settings.
bool expect_peer(SSL* ssl, const std::string& host);

}  // namespace hooklog::http
