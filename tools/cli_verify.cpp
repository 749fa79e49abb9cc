// hooklog verify --data DIR [--from N] [--to N]
// Exits 0 on a sound log; 1 naming the first bad record; 2 on usage errors.
#include <cstdio>
#include <string>

#include "engine/bytes.hpp"
#include "engine/event_log.hpp"
#include "tools/cli_common.hpp"

namespace hooklog::cli {

int cmd_verify(int argc, char** argv) {
  std::string err;
  auto a = args::parse(argc, argv, 2, {"help"}, err);
  if (!a || a->has("help")) {
    std::fprintf(a ? stdout : stderr, "%s%susage: hooklog verify --data DIR [--from SEQ] [--to SEQ]\n",
                 err.c_str(), err.empty() ? "" : "\n");
    return a ? 0 : 2;
  }
  std::uint64_t from = 1, to = UINT64_MAX;
  try {
    if (a->has("from")) from = std::stoull(a->get("from"));
    if (a->has("to")) to = std::stoull(a->get("to"));
  } catch (const std::exception&) {
    std::fprintf(stderr, "hooklog verify: --from and --to take sequence numbers\n");
    return 2;
  }
  if (from > to) {  // an empty range would report OK with nothing checked
    std::fprintf(stderr,
                 "hooklog verify: --from %llu is greater than --to %llu: the range is empty\n",
                 static_cast<unsigned long long>(from), static_cast<unsigned long long>(to));
    return 2;
  }
  log_options opts;
  opts.dir = data_dir(*a);
  opts.read_only = true;
  auto log = event_log::open(opts);
  if (!log) {
    std::fprintf(stderr, "hooklog verify: %s\n", log.err().message.c_str());
    return 2;
  }
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
  return 0;
}

}  // namespace hooklog::cli
