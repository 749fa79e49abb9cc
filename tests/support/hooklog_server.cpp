#include "support/hooklog_server.hpp"

#include <catch2/catch.hpp>
#include "engine/event_log.hpp"
#include "engine/bytes.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <functional>
#include <stdexcept>
#include "hooklog_build_paths.hpp"

namespace hooklog::test {

hooklog_server::hooklog_server(std::vector<std::string> extra_args, std::string data_dir,
                               std::string stderr_file)
    : extra_(std::move(extra_args)), stderr_file_(std::move(stderr_file)) {
  if (data_dir.empty()) {
    own_dir_ = std::make_unique<temp_dir>();
    data_ = (own_dir_->path() / "data").string();
  } else {
    data_ = std::move(data_dir);
  }
  start();
}

hooklog_server::~hooklog_server() {
  client_.reset();
  if (proc_) proc_->stop();
}

void hooklog_server::start() {
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--data", data_,
                                   "--admin-key", kAdminKey};
  args.insert(args.end(), extra_.begin(), extra_.end());
  proc_ = std::make_unique<child_process>(HOOKLOG_BINARY, args, std::vector<std::string>{},
                                          stderr_file_);
  auto addr = proc_->wait_listening(std::chrono::seconds(30));
  if (!addr) throw std::runtime_error("hooklog serve did not print its address: " + proc_->stdout_text());
  port_ = addr->port;
  client_ = std::make_unique<http::http_client>("127.0.0.1", port_);
}

void hooklog_server::restart() {
  client_.reset();
  proc_->stop();
  start();
}

void hooklog_server::kill_hard() {
  client_.reset();
  ::kill(proc_->pid(), SIGKILL);
  proc_->wait_exit(std::chrono::seconds(10));
}

api_reply hooklog_server::call(const std::string& method, const std::string& target,
                               const std::string& body, const std::string& key,
                               http::header_list headers) {
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
  if (!body.empty() && !http::find_header(headers, "content-type"))
    headers.emplace_back("Content-Type", "application/json");
  auto r = client_->request(method, target, body, headers);
  if (!r) throw std::runtime_error("request " + method + " " + target + " failed: " + r.err().what());
  api_reply out{r->status, r->body, nlohmann::json::parse(r->body, nullptr, false), r->headers};
  if (out.json.is_discarded()) out.json = nullptr;
  return out;
}

std::vector<nlohmann::json> hooklog_server::list_all(const std::string& target,
                                                     const std::string& key) {
  std::vector<nlohmann::json> out;
  const std::string first =
      target + (target.find('?') == std::string::npos ? "?" : "&") + "limit=1000";
  std::string cursor;
  for (;;) {
    auto r = get(first + (cursor.empty() ? "" : "&cursor=" + cursor), key);
    INFO(target << ": " << r.body);
    REQUIRE(r.status == 200);
    for (auto& item : r.json["items"]) out.push_back(std::move(item));
    if (r.json["next"].is_null()) break;
    cursor = r.json["next"];
  }
  return out;
}

std::string data_file(const std::string& relative) {
  return read_file(std::filesystem::path(HOOKLOG_DATA_DIR) / relative);
}

run_result run_hooklog(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  child_process p(HOOKLOG_BINARY, args);
  auto st = p.wait_exit(timeout);
  if (!st) throw std::runtime_error("hooklog did not exit within the timeout");
  return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.stdout_text()};
}

namespace {
// Opens the log of data directory `data` (server stopped), runs `change` in one write
// transaction on it and commits: how the flip_* helpers rot bytes on disk.
void change_stopped_log(const std::string& data, const std::function<void(event_log&, lmdb::txn&)>& change) {
  log_options o;
  o.dir = data;
  auto log = event_log::open(o);
  REQUIRE(log.ok());
  auto t = lmdb::txn::begin((*log)->raw_env(), false);
  REQUIRE(t.ok());
  change(**log, *t);
  REQUIRE(t->commit().ok());
}
}  // namespace

void flip_byte(const std::string& data, std::uint64_t seq) {
  change_stopped_log(data, [&](event_log& log, lmdb::txn& t) {
    const std::string key = bytes::be64(seq);
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
    REQUIRE(mdb_get(t.handle(), log.records_dbi(), &k, &v) == 0);
    std::string b(static_cast<const char*>(v.mv_data), v.mv_size);
    b[b.size() - 5] ^= 0x20;
    MDB_val nv{b.size(), b.data()};
    REQUIRE(mdb_put(t.handle(), log.records_dbi(), &k, &nv, 0) == 0);
  });
}

void flip_node(const std::string& data, unsigned level, std::uint64_t index) {
  change_stopped_log(data, [&](event_log& log, lmdb::txn& t) {
    std::string key;
    bytes::put_be64(key, ((index + 1) << level) - 1);
    key.push_back(static_cast<char>(level));
    auto v = log.merkle_db().get(t, key);
    REQUIRE(v.ok());
    REQUIRE(v->has_value());
    std::string h((*v)->data(), (*v)->size());
    h[0] ^= 1;
    REQUIRE(log.merkle_db().put(t, key, h).ok());
  });
}

}  // namespace hooklog::test
