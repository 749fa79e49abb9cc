// ?order=asc|desc of the listings (events, attempts, replays, endpoints).
#include "http/api_internal.hpp"

namespace hooklog::http::detail {

std::optional<bool> descending_param(call& c) {
  auto v = c.req.query_param("order");
  if (!v || *v == "asc") return false;
  if (*v == "desc") return true;
  c.fail(400, "bad_parameter", "order must be asc or desc", {{"parameter", "order"}});
  return std::nullopt;
}

}  // namespace hooklog::http::detail
