#include "engine/cluster/nats.hpp"

#include <algorithm>
#include <cctype>

namespace hooklog::cluster {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string seconds_text(std::int64_t nanos) {
  return nanos == 0 ? "none" : std::to_string(nanos / 1000000000) + " s";
}

struct stream_info_ptr {
  jsStreamInfo* p = nullptr;
  ~stream_info_ptr() {
    if (p) jsStreamInfo_Destroy(p);
  }
};

// No answer yet: JetStream is electing a leader (or the stream's, just created).
bool transient(natsStatus s) { return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS; }

stream_state state_of(const jsStreamInfo* si) {
  return stream_state{si->State.FirstSeq, si->State.LastSeq, si->State.Msgs};
}

}  // namespace

error nats_error(natsStatus s, const std::string& what, cluster_errc code) {
  std::string msg = what + ": " + natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  if (const char* detail = nats_GetLastError(&last); detail && *detail) {
    std::string d = detail;
    if (d != natsStatus_GetText(s)) msg += ": " + d;
  }
  return make_error(code, std::move(msg));
}

result<std::vector<std::string>> parse_urls(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string url = trim(list.substr(start, end - start));
    start = end + 1;
    if (url.empty()) continue;
    const bool scheme = url.rfind("nats://", 0) == 0 || url.rfind("tls://", 0) == 0;
    const std::size_t host_at = url.find("://") + 3;
    if (!scheme || url.size() <= host_at || url[host_at] == ':' || url[host_at] == '/')
      return make_error(cluster_errc::bad_config,
                        "cluster URL '" + url + "' is not nats://HOST[:PORT] or tls://HOST[:PORT]");
    out.push_back(std::move(url));
  }
  if (out.empty())
    return make_error(cluster_errc::bad_config,
                      "the cluster URL list is empty (expected nats://HOST:PORT[,nats://...])");
  return out;
}

result<std::unique_ptr<connection>> connection::connect(const connect_options& o) {
  if (o.urls.empty())
    return make_error(cluster_errc::bad_config, "no NATS URL given (--cluster nats://HOST:PORT)");
  std::unique_ptr<connection> c(new connection());
  c->urls_text_ = join(o.urls);
  natsOptions* opts = nullptr;
  if (auto s = natsOptions_Create(&opts); s != NATS_OK)
    return nats_error(s, "cannot create NATS options");
  struct opts_guard {
    natsOptions* p;
    ~opts_guard() { natsOptions_Destroy(p); }
  } guard{opts};
  std::vector<const char*> urls;
  for (const auto& u : o.urls) urls.push_back(u.c_str());
  natsStatus s = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetNoRandomize(opts, true);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, o.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, o.max_reconnect);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, o.reconnect_wait.count());
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, o.reconnect_buffer_bytes);
  if (s == NATS_OK && !o.name.empty()) s = natsOptions_SetName(opts, o.name.c_str());
  if (s != NATS_OK)
    return nats_error(s, "invalid NATS options for " + c->urls_text_, cluster_errc::bad_config);
  s = natsConnection_Connect(&c->nc_, opts);
  if (s != NATS_OK) {
    c->nc_ = nullptr;
    return nats_error(s, "cannot reach NATS at " + c->urls_text_, cluster_errc::unreachable);
  }
  return c;
}

connection::~connection() {
  if (nc_) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
}

std::string connection::connected_url() const {
  char buf[256] = {0};
  if (natsConnection_GetConnectedUrl(nc_, buf, sizeof buf) != NATS_OK) return "";
  return buf;
}

bool connection::connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

result<std::unique_ptr<jetstream>> jetstream::open(const connection& conn, jsOptions* opts) {
  std::unique_ptr<jetstream> j(new jetstream());
  if (auto s = natsConnection_JetStream(&j->js_, conn.handle(), opts); s != NATS_OK) {
    j->js_ = nullptr;
    return nats_error(s, "cannot open a JetStream context on " + conn.urls_text());
  }
  return j;
}

jetstream::~jetstream() {
  if (js_) jsCtx_Destroy(js_);
}

result<void> check_cell_name(std::string_view cell) {
  const bool ok =
      !cell.empty() && cell.size() <= 64 && std::all_of(cell.begin(), cell.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
      });
  if (!ok)
    return make_error(cluster_errc::bad_config, "cell name '" + std::string(cell) +
                                                    "' must be 1-64 characters of A-Z a-z 0-9 _ -");
  return {};
}

std::string stream_name(std::string_view cell) {
  std::string out = "HOOKLOG_";
  for (char ch : cell) out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string stream_subject(std::string_view cell) {
  return "hooklog." + std::string(cell) + ".records";
}

result<stream_state> get_stream_state(const jetstream& js, std::string_view cell) {
  const std::string name = stream_name(cell);
  stream_info_ptr si;
  jsErrCode jerr{};
  if (auto s = js_GetStreamInfo(&si.p, js.handle(), name.c_str(), nullptr, &jerr); s != NATS_OK)
    return nats_error(s, "cannot read the state of stream " + name,
                      transient(s) ? cluster_errc::timeout : cluster_errc::nats_failure);
  return state_of(si.p);
}

result<stream_state> ensure_stream(const jetstream& js, const stream_settings& want) {
  if (auto c = check_cell_name(want.cell); !c) return c.err();
  if (want.replicas < 1 || want.replicas > 5)
    return make_error(cluster_errc::bad_config,
                      "--cluster-replicas must be 1 to 5, not " + std::to_string(want.replicas));
  const std::string name = stream_name(want.cell);
  const std::string subject = stream_subject(want.cell);
  const std::int64_t max_age_ns = want.max_age.count() * 1000000000LL;
  const std::int64_t dup_ns = want.duplicate_window.count() * 1000000000LL;

  stream_info_ptr si;
  jsErrCode jerr{};
  natsStatus s = js_GetStreamInfo(&si.p, js.handle(), name.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject.c_str()};
    cfg.Name = name.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Replicas = want.replicas;
    cfg.MaxAge = max_age_ns;
    cfg.Duplicates = dup_ns;
    cfg.DenyDelete = true;
    cfg.DenyPurge = true;
    stream_info_ptr created;
    s = js_AddStream(&created.p, js.handle(), &cfg, nullptr, &jerr);
    if (s == NATS_OK) return state_of(created.p);
    // A node of the same cell may have created it meanwhile: check what is there.
    s = js_GetStreamInfo(&si.p, js.handle(), name.c_str(), nullptr, &jerr);
    if (s != NATS_OK)
      return nats_error(s,
                        "cannot create stream " + name + " (" + std::to_string(want.replicas) +
                            " replicas; does the NATS cluster have that many JetStream servers?)",
                        transient(s) ? cluster_errc::timeout : cluster_errc::nats_failure);
  } else if (s != NATS_OK) {
    return nats_error(s, "cannot read stream " + name,
                      transient(s) ? cluster_errc::timeout : cluster_errc::nats_failure);
  }

  const jsStreamConfig& have = *si.p->Config;
  auto mismatch = [&](const std::string& setting, const std::string& theirs,
                      const std::string& ours, const std::string& flag) {
    return make_error(cluster_errc::stream_mismatch, "stream " + name + " exists with " + setting +
                                                         " " + theirs +
                                                         ", this node is configured for " + ours +
                                                         " (" + flag + "); refusing to use it");
  };
  std::string have_subjects;
  for (int i = 0; i < have.SubjectsLen; ++i)
    have_subjects += (i ? "," : "") + std::string(have.Subjects[i]);
  if (have_subjects != subject) return mismatch("subjects", have_subjects, subject, "--cell");
  if (have.Storage != js_FileStorage) return mismatch("storage", "memory", "file", "file storage");
  if (have.Retention != js_LimitsPolicy)
    return mismatch("retention", std::to_string(static_cast<int>(have.Retention)), "limits",
                    "limits retention");
  if (have.Replicas != want.replicas)
    return mismatch("replicas", std::to_string(have.Replicas), std::to_string(want.replicas),
                    "--cluster-replicas");
  if (have.MaxAge != max_age_ns)
    return mismatch("max age", seconds_text(have.MaxAge), seconds_text(max_age_ns),
                    "--cluster-max-age");
  if (have.Duplicates != dup_ns)
    return mismatch("duplicate window", seconds_text(have.Duplicates), seconds_text(dup_ns),
                    "the duplicate window");
  if (have.MaxMsgs > 0 || have.MaxBytes > 0)
    return mismatch(
        "a message or byte limit",
        std::to_string(have.MaxMsgs) + " msgs/" + std::to_string(have.MaxBytes) + " bytes",
        "no limit", "an audit log keeps every record");
  return state_of(si.p);
}

}  // namespace hooklog::cluster
