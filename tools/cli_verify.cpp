// hooklog verify --data DIR [--from N] [--to N] [--against http://HOST:PORT --key KEY]
// Exits 0 on a sound log; 1 naming the first bad record (or, with --against, a chain hash that
// differs from the other server's); 2 on usage errors; 3 when --against cannot be reached.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "engine/head_publisher.hpp"
#include "engine/merkle_store.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

namespace {

// The chain hash after `seq` in the local log: that record's, or the one before a gap's.
std::string local_hash_at(const event_log& log, std::uint64_t seq) {
  for (std::uint64_t s = seq; s > 0; --s) {
    auto r = log.get(s);
    if (r && *r) return bytes::to_hex((*r)->chain_hash.data(), 32);
    if (!r) return "";
  }
  return std::string(64, '0');
}

// Compares this log's chain hash with the other server's at the lower of the two heads.
int compare_heads(const event_log& log, const server_flags& flags) {
  server_flags f = flags;
  server_conn conn;
  try {
    conn = server_from(f, "verify");
  } catch (const usage_error&) {
    throw usage_error("--against must look like http://127.0.0.1:8080, got \"" + f.server + "\"");
  }
  const auto head = conn.call("GET", "/v1/audit/head");
  if (int rc = conn.check(head, "GET", "/v1/audit/head", 200)) return rc;
  const auto hj = nlohmann::json::parse(head.body, nullptr, false);
  if (!hj.is_object() || !hj.contains("seq")) {
    std::fprintf(stderr, "hooklog verify: %s answered /v1/audit/head without a seq\n", f.server.c_str());
    return kExitFailure;
  }
  const std::uint64_t theirs = hj["seq"].get<std::uint64_t>();
  const std::uint64_t ours = log.head().seq;
  const std::uint64_t at = std::min(theirs, ours);
  if (at == 0) {
    std::printf("NOTHING TO COMPARE: this log ends at %llu, %s at %llu\n",
                static_cast<unsigned long long>(ours), f.server.c_str(),
                static_cast<unsigned long long>(theirs));
    return kExitOk;
  }
  std::string their_hash = hj.value("hash", "");
  if (at < theirs) {  // their chain hash at `at`: a one-record verify there
    const std::string target = "/v1/audit/verify?from=" + std::to_string(at) + "&to=" + std::to_string(at);
    const auto v = conn.call("GET", target);
    if (int rc = conn.check(v, "GET", target, 200)) return rc;
    their_hash = nlohmann::json::parse(v.body, nullptr, false).value("head_hash", "");
  }
  const std::string our_hash = local_hash_at(log, at);
  if (our_hash != their_hash) {
    std::printf("MISMATCH: at seq %llu this log's chain hash is %s, %s has %s\n",
                static_cast<unsigned long long>(at), our_hash.c_str(), f.server.c_str(),
                their_hash.c_str());
    return kExitFailure;
  }
  std::printf("MATCH: this log and %s have chain hash %s at seq %llu (this log ends at %llu, "
              "the other at %llu)\n",
              f.server.c_str(), our_hash.c_str(), static_cast<unsigned long long>(at),
              static_cast<unsigned long long>(ours), static_cast<unsigned long long>(theirs));
  return kExitOk;
}

// The stored Merkle tree rebuilt from the records' leaf hashes (every stored node compared),
// and the latest signed head's root against it. 0 when sound, 1 naming the first bad node.
int check_merkle(const event_log& log) {
  if (!log.has_merkle()) return kExitOk;  // built at the next `hooklog serve`
  auto t = merkle::check_tree(log);
  if (!t) {
    std::printf("BAD: the Merkle tree: %s\n", t.err().message.c_str());
    return kExitFailure;
  }
  if (!t->ok) {
    std::printf("BAD: %s (%llu stored subtree hashes sound before it)\n", t->problem.c_str(),
                static_cast<unsigned long long>(t->nodes - 1));
    return kExitFailure;
  }
  std::string heads = "no signed tree head yet";
  auto latest = latest_head_in_log(log);
  if (!latest) {
    std::printf("BAD: the latest signed tree head: %s\n", latest.err().message.c_str());
    return kExitFailure;
  }
  if (*latest) {
    const tree_head& h = (*latest)->first;
    auto root = merkle::tree_root(log, h.tree_size);
    if (!root || *root != h.root) {
      std::printf("BAD: the signed tree head of size %llu (record %llu) has root %s, the log's "
                  "tree gives %s\n",
                  static_cast<unsigned long long>(h.tree_size),
                  static_cast<unsigned long long>((*latest)->second), merkle::to_hex(h.root).c_str(),
                  root ? merkle::to_hex(*root).c_str() : root.err().message.c_str());
      return kExitFailure;
    }
    heads = "the latest signed head (tree size " + std::to_string(h.tree_size) + ") matches it";
  }
  std::printf("OK: Merkle tree of %llu leaves rebuilt, %llu stored subtree hashes match; %s\n",
              static_cast<unsigned long long>(t->leaves), static_cast<unsigned long long>(t->nodes),
              heads.c_str());
  return kExitOk;
}

}  // namespace

int cmd_verify(int argc, char** argv) {
  auto app =
      make_app("verify",
               "Checks the log's checksums and hash chain over records FROM..TO (inclusive);\n"
               "without --from/--to also the stored Merkle tree (rebuilt from the records' leaf\n"
               "hashes) and the latest signed head's root. Exit 0 on a sound log, 1 naming the\n"
               "first bad record or tree node.");
  std::string data, from_s, to_s;
  add_data_flag(*app, data);
  app->add_option("--from", from_s, "the first sequence number to check (1)")->type_name("SEQ");
  app->add_option("--to", to_s, "the last sequence number to check (the head)")->type_name("SEQ");
  server_flags against;
  app->add_option("--against", against.server,
                  "another server of the same log (a cluster node, http://HOST:PORT): compare the "
                  "chain hash at the lower of the two heads")
      ->type_name("URL");
  app->add_option("--key", against.key, "an admin key of --against ($HOOKLOG_KEY)");
  if (auto rc = parse(*app, argc, argv)) return *rc;
  const std::uint64_t from = from_s.empty() ? 1 : to_uint("from", from_s, 1);
  const std::uint64_t to = to_s.empty() ? UINT64_MAX : to_uint("to", to_s, 1);
  if (from > to)  // an empty range would report OK with nothing checked
    throw usage_error("--from " + from_s + " is greater than --to " + to_s +
                      ": the range is inverted");
  log_options opts;
  opts.dir = data_dir(data);
  opts.read_only = true;
  auto log = event_log::open(opts);
  if (!log) {
    std::fprintf(stderr, "hooklog verify: %s\n", log.err().message.c_str());
    return 2;
  }
  if (const std::uint64_t head = (*log)->head().seq; !from_s.empty() && from > head)
    throw usage_error("--from " + from_s + " is past the log's head (" + std::to_string(head) +
                      "): nothing to verify");
  auto rep = (*log)->verify(from, to);
  if (!rep) {
    std::fprintf(stderr, "hooklog verify: %s\n", rep.err().message.c_str());
    return 1;
  }
  if (!rep->ok) {
    std::printf("BAD: record %llu: %s (records %llu..%llu, %llu sound before it)\n",
                static_cast<unsigned long long>(rep->first_bad_seq), rep->problem.c_str(),
                static_cast<unsigned long long>(rep->from), static_cast<unsigned long long>(rep->to),
                static_cast<unsigned long long>(rep->checked));
    return 1;
  }
  std::printf("OK: %llu records verified (%llu..%llu), head hash %s\n",
              static_cast<unsigned long long>(rep->checked),
              static_cast<unsigned long long>(rep->from), static_cast<unsigned long long>(rep->to),
              bytes::to_hex(rep->head_hash.data(), 32).c_str());
  if (from_s.empty() && to_s.empty())
    if (int rc = check_merkle(**log)) return rc;
  if (against.server.empty()) return 0;
  return compare_heads(**log, against);
}

}  // namespace hooklog::cli
