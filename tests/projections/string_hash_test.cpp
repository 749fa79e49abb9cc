// projections/string_hash.hpp: equal strings hash equally whatever their buffer, lengths 0 to 40
// (each tail path), and distinct ids of the shapes the projections use do not collide.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "projections/string_hash.hpp"

using hooklog::projections::string_hash;

TEST_CASE("string_hash depends only on the bytes and the length") {
  const std::string text = "jelp-co-all.order_update:assign_driver.0123456789abcdef";
  const string_hash h;
  for (std::size_t n = 0; n <= 40; ++n) {
    INFO(n);
    const std::string a = text.substr(0, n);
    const std::string b = " " + a + "!";  // the same bytes at another address, other neighbours
    CHECK(h(a) == h(std::string_view(b).substr(1, n)));
    if (n > 0) {
      std::string c = a;
      c[n / 2] = static_cast<char>(c[n / 2] ^ 1);  // one bit of one byte
      CHECK(h(a) != h(c));
      CHECK(h(a) != h(a.substr(0, n - 1)));
    }
  }
  std::set<std::size_t> seen;
  for (int i = 0; i < 20000; ++i) {
    seen.insert(h("ep-" + std::to_string(i)));
    seen.insert(h("tenant-" + std::to_string(i) + "-all"));
  }
  CHECK(seen.size() == 40000);
}
