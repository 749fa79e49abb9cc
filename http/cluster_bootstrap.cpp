#include "http/cluster_bootstrap.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "engine/bytes.hpp"
#include "engine/cluster/cluster_errc.hpp"
#include "engine/cluster/log_snapshot.hpp"
#include "engine/logger.hpp"
#include "engine/private_fs.hpp"

namespace hooklog::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using cluster::cluster_errc;

constexpr std::chrono::seconds kIoTimeout{30};
constexpr std::size_t kBuffer = 256 * 1024;

error bad(const std::string& url, const std::string& what) {
  return cluster::make_error(cluster_errc::bad_snapshot, "snapshot from " + url + ": " + what);
}

result<std::pair<std::string, std::string>> host_port(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return cluster::make_error(cluster_errc::bad_config,
                               "--bootstrap-from must be http://HOST:PORT, not '" + url + "'");
  std::string rest = url.substr(scheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    return cluster::make_error(cluster_errc::bad_config,
                               "--bootstrap-from must be http://HOST:PORT, not '" + url + "'");
  return std::pair{rest.substr(0, colon), rest.substr(colon + 1)};
}

struct file_guard {
  int fd = -1;
  ~file_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Downloads into partial_log_file(data_dir); returns the snapshot's announced head.
result<cluster::announced_head> download(const bootstrap_request& rq) {
  auto hp = host_port(rq.url);
  if (!hp) return hp.err();
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto addrs = resolver.resolve(hp->first, hp->second, ec);
  stream.expires_after(kIoTimeout);
  if (!ec) stream.connect(addrs, ec);
  if (ec)
    return cluster::make_error(cluster_errc::unreachable,
                               "cannot reach " + rq.url + " for a snapshot: " + ec.message());
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/v1/admin/snapshot", 11};
  req.set(bhttp::field::host, hp->first + ":" + hp->second);
  req.set(bhttp::field::authorization, "Bearer " + rq.admin_key);
  bhttp::write(stream, req, ec);
  if (ec) return bad(rq.url, "sending the request failed: " + ec.message());

  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> p;
  p.body_limit(boost::none);
  std::string chunk(kBuffer, '\0');
  bhttp::read_header(stream, buf, p, ec);
  if (ec) return bad(rq.url, "no answer: " + ec.message());
  const auto& head = p.get();
  if (head.result_int() != 200) {
    p.get().body().data = chunk.data();
    p.get().body().size = 4096;
    bhttp::read(stream, buf, p, ec);
    return bad(rq.url, "answered " + std::to_string(head.result_int()) + ": " +
                           chunk.substr(0, 4096 - p.get().body().size));
  }
  auto number = [&](const char* name, std::uint64_t& out) {
    const auto v = head[name];
    auto [ptr, e] = std::from_chars(v.data(), v.data() + v.size(), out);
    return e == std::errc() && ptr == v.data() + v.size() && !v.empty();
  };
  std::uint64_t seq = 0, bytes = 0;
  cluster::announced_head announced;
  announced.hash_hex = std::string(head["Hooklog-Snapshot-Hash"]);
  if (!number("Hooklog-Snapshot-Seq", seq) || !number("Hooklog-Snapshot-Bytes", bytes) ||
      announced.hash_hex.size() != 64)
    return bad(rq.url, "the answer lacks Hooklog-Snapshot-Seq, -Hash (64 hex digits) or -Bytes");
  announced.seq = seq;
  if (const std::string cell(head["Hooklog-Snapshot-Cell"]); cell != rq.cell)
    return bad(rq.url, (cell.empty() ? std::string("it is a single-node log")
                                     : "it is a log of cell " + cell) +
                           ", not of cell " + rq.cell + " (--cell)");
  if (seq < rq.min_head)
    return bad(rq.url, "it ends at seq " + std::to_string(seq) +
                           " but the stream now starts at seq " + std::to_string(rq.min_head + 1) +
                           ": seqs " + std::to_string(seq + 1) + " to " +
                           std::to_string(rq.min_head) +
                           " would be missing (bootstrap from a node that is caught up)");

  if (auto r = cluster::prepare_partial_dir(rq.data_dir); !r) return r.err();
  const std::string file = cluster::partial_log_file(rq.data_dir);
  file_guard out{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kPrivateFileMode)};
  if (out.fd < 0)
    return make_error(errc::io_failure, "open(" + file + ") failed: " + std::strerror(errno));
  std::uint64_t got = 0;
  while (!p.is_done()) {
    p.get().body().data = chunk.data();
    p.get().body().size = chunk.size();
    stream.expires_after(kIoTimeout);
    bhttp::read(stream, buf, p, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    const std::size_t n = chunk.size() - p.get().body().size;
    for (std::size_t off = 0; off < n;) {
      const ssize_t w = ::write(out.fd, chunk.data() + off, n - off);
      if (w < 0)
        return make_error(errc::io_failure, "write(" + file + ") failed: " + std::strerror(errno));
      off += static_cast<std::size_t>(w);
    }
    got += n;
    if (ec)
      return bad(rq.url, "cut off after " + std::to_string(got) + " of " + std::to_string(bytes) +
                             " bytes: " + ec.message());
  }
  if (got != bytes)
    return bad(rq.url, "cut off after " + std::to_string(got) + " of " + std::to_string(bytes) +
                           " bytes (Hooklog-Snapshot-Bytes)");
  if (::fsync(out.fd) != 0)
    return make_error(errc::io_failure, "fsync(" + file + ") failed: " + std::strerror(errno));
  logging::info("cluster.bootstrap", "snapshot downloaded",
                {{"from", rq.url}, {"seq", seq}, {"bytes", bytes}});
  return announced;
}

}  // namespace

result<log_head> bootstrap_from_peer(const bootstrap_request& rq) {
  auto d = download(rq);
  if (!d) {
    cluster::remove_partial_dir(rq.data_dir);
    return d.err();
  }
  auto h = cluster::install_log_snapshot(rq.data_dir, rq.cell, rq.min_head, *d, rq.local);
  if (!h) return error{h.err().code, "snapshot from " + rq.url + ": " + h.err().what()};
  logging::info("cluster.bootstrap", "snapshot verified and installed; catching up from the stream",
                {{"from", rq.url}, {"seq", h->seq}});
  return h;
}

}  // namespace hooklog::http
