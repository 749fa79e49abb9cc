#include "projections/state_compare.hpp"

#include <cstdio>

#include "projections/proj_errc.hpp"

namespace hooklog::projections {
namespace {

result<lmdb::cursor> open_cursor(projection_runner& r, lmdb::txn& t, const std::string& name) {
  auto d = r.store().db(name);
  if (!d) return make_error(proj_errc::state_failure, "database " + name + " is not open");
  return lmdb::cursor::open(t, *d);
}

}  // namespace

std::vector<std::string> state_db_names(const projection_runner& r) {
  std::vector<std::string> out;
  for (const auto& [owner, db] : r.databases()) out.push_back(db);
  return out;
}

result<state_dump> dump_databases(projection_runner& r, const std::vector<std::string>& dbs) {
  state_dump out;
  auto t = r.store().begin_read();
  if (!t) return t.err();
  for (const auto& name : dbs) {
    auto c = open_cursor(r, *t, name);
    if (!c) return c.err();
    auto& v = out[name];
    auto kv = c->first();
    for (; kv && *kv; kv = c->next())
      v.emplace_back(std::string((*kv)->first), std::string((*kv)->second));
    if (!kv) return kv.err();
  }
  return out;
}

result<std::optional<state_difference>> first_difference(projection_runner& a, projection_runner& b,
                                                         compare_totals* totals,
                                                         std::string_view a_name,
                                                         std::string_view b_name) {
  compare_totals local;
  compare_totals& n = totals ? *totals : local;
  auto ta = a.store().begin_read();
  if (!ta) return ta.err();
  auto tb = b.store().begin_read();
  if (!tb) return tb.err();
  for (const auto& [owner, db] : a.databases()) {
    ++n.databases;
    auto ca = open_cursor(a, *ta, db);
    if (!ca) return ca.err();
    auto cb = open_cursor(b, *tb, db);
    if (!cb) return cb.err();
    auto differ = [&](std::string_view key, std::string what) {
      return std::optional<state_difference>(
          state_difference{owner, db, std::string(key), std::move(what)});
    };
    auto x = ca->first();
    auto y = cb->first();
    for (;;) {
      if (!x) return x.err();
      if (!y) return y.err();
      if (!*x && !*y) break;
      if (!*y) return differ((*x)->first, "only in " + std::string(a_name));
      if (!*x) return differ((*y)->first, "only in " + std::string(b_name));
      const auto& [ka, va] = **x;
      const auto& [kb, vb] = **y;
      if (ka != kb) {
        // LMDB's default order is memcmp order, which is string_view's.
        return ka < kb ? differ(ka, "only in " + std::string(a_name))
                       : differ(kb, "only in " + std::string(b_name));
      }
      if (va != vb) return differ(ka, "values differ");
      ++n.keys;
      n.bytes += ka.size() + va.size();
      x = ca->next();
      y = cb->next();
    }
  }
  return std::optional<state_difference>();
}

std::string printable_key(std::string_view key) {
  std::string out;
  for (unsigned char ch : key) {
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out += static_cast<char>(ch);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    }
  }
  return out;
}

}  // namespace hooklog::projections
