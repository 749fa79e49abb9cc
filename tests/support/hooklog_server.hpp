#pragma once
// A real `hooklog serve` process on a free loopback port with its own data
// directory, and a JSON-speaking client for it. Restartable on the same data.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "http/delivery/client.hpp"
#include "support/process.hpp"

namespace hooklog::test {

inline constexpr const char* kAdminKey = "test-admin-key";

struct api_reply {
  unsigned status = 0;
  std::string body;
  nlohmann::json json;  // parsed body (null when not JSON)
  http::header_list headers;
};

// A jelp order status change (no event id in the payload; jelp sends no Idempotency-Key).
inline std::string jelp_status(const std::string& folio, const std::string& status,
                               const std::string& time = "2024-02-10T00:10:00Z") {
  return R"({"folio":")" + folio + R"(","status":")" + status + R"(","timestamp":")" + time +
         R"(","workspace":"jelp"})";
}

class hooklog_server {
 public:
  // Starts the server on `data_dir` (a fresh temp dir when empty) with extra flags;
  // stderr_file: its stderr is appended there (restarts included) instead of inherited.
  explicit hooklog_server(std::vector<std::string> extra_args = {}, std::string data_dir = "",
                          std::string stderr_file = "");
  ~hooklog_server();

  void restart();    // SIGTERM, then start again on the same data
  void kill_hard();  // SIGKILL
  void start();
  const std::string& data_dir() const { return data_; }
  unsigned short port() const { return port_; }
  child_process& process() { return *proc_; }

  // A request with `key` as bearer ("" = no Authorization header).
  api_reply call(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::string& key = kAdminKey, http::header_list headers = {});
  api_reply get(const std::string& target, const std::string& key = kAdminKey) {
    return call("GET", target, "", key);
  }
  api_reply post(const std::string& target, const nlohmann::json& body,
                 const std::string& key = kAdminKey) {
    return call("POST", target, body.dump(), key);
  }
  // An NDJSON batch (Content-Type application/x-ndjson).
  api_reply post_ndjson(const std::string& target, const std::string& body,
                        const std::string& key = kAdminKey) {
    return call("POST", target, body, key, {{"Content-Type", "application/x-ndjson"}});
  }
  // Every item of a paged listing ({"items":[...],"next":cursor}), following "next" with
  // ?limit=1000 (`target` may have a query already). Fails the test on a non-200 page.
  std::vector<nlohmann::json> list_all(const std::string& target,
                                       const std::string& key = kAdminKey);

 private:
  std::unique_ptr<temp_dir> own_dir_;
  std::string data_;
  std::vector<std::string> extra_;
  std::string stderr_file_;
  std::unique_ptr<child_process> proc_;
  std::unique_ptr<http::http_client> client_;
  unsigned short port_ = 0;
};

// Runs `hooklog ARGS...` (the binary under test) to completion: its exit code
// (-1 when killed by a signal) and everything it wrote to stdout. Fails the
// test when it does not exit within the timeout.
struct run_result {
  int exit_code;
  std::string out;
};
run_result run_hooklog(const std::vector<std::string>& args,
                       std::chrono::seconds timeout = std::chrono::seconds(120));

// Flips one byte of record `seq`'s body in the log of data directory `data`
// (server stopped), as bit rot would; the checksum then names the record.
void flip_byte(const std::string& data, std::uint64_t seq);

// Flips one bit of the stored Merkle node (level, index) in data directory `data` (server
// stopped), as bit rot would.
void flip_node(const std::string& data, unsigned level, std::uint64_t index);

// Reads a file of the repository's data/ folder.
std::string data_file(const std::string& relative);

}  // namespace hooklog::test
