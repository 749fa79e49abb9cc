#pragma once
// The body of a delivery_attempt record (docs/FORMAT.md): the attempt's fields
// (projections::to_json), the answer's excerpt (bounded by the caller), `response_truncated`
// when the answer was cut, and the answer's headers as [name, value] pairs. The bytes are
// exactly those of nlohmann's dump() of that object (keys sorted, compact, invalid UTF-8
// replaced by U+FFFD): written directly when every string is printable ASCII or a JSON escape,
// which is what receivers answer almost always, and through nlohmann otherwise (the direct
// writer looks at each byte once: the first byte >= 0x80 it meets sends the whole body to
// nlohmann).
//
// Pure functions; thread-safe.
#include <string>

#include "http/delivery/message.hpp"
#include "projections/attempt.hpp"

namespace hooklog::http {

std::string attempt_body(const projections::delivery_attempt& a, const std::string& excerpt,
                         bool truncated, const header_list& headers);

// The same through nlohmann: the reference, and the path for bytes >= 0x80.
std::string attempt_body_json(const projections::delivery_attempt& a, const std::string& excerpt,
                              bool truncated, const header_list& headers);

}  // namespace hooklog::http
