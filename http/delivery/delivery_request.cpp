#include "http/delivery/delivery_request.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <charconv>

#include "engine/base64.hpp"
#include "engine/record.hpp"
#include "http/delivery/delivery_errc.hpp"
#include "http/delivery/endpoint_validation.hpp"
#include "http/delivery/signature.hpp"

namespace hooklog::http {

// A keyed HMAC-SHA256 context made once per (endpoint, secret) and re-initialised per message
// with the same key: "v1," + base64(HMAC(key, id.timestamp.body)), byte-identical to sign_v1().
// Not thread-safe.
class v1_signer {
 public:
  static std::shared_ptr<v1_signer> make(const std::string& key) {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac || key.empty()) return nullptr;
    std::shared_ptr<v1_signer> s(new v1_signer(EVP_MAC_CTX_new(mac)));
    if (!s->ctx_) return nullptr;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(s->ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                      params))
      return nullptr;
    s->fresh_ = true;
    return s;
  }
  ~v1_signer() { EVP_MAC_CTX_free(ctx_); }
  v1_signer(const v1_signer&) = delete;
  v1_signer& operator=(const v1_signer&) = delete;

  // Appends "v1," + the signature to `out`; false on an OpenSSL failure (`out` then holds
  // a partial value: the caller drops the request).
  bool sign_into(std::string& out, std::string_view id, std::string_view ts,
                 std::string_view body) {
    if (!fresh_ && !EVP_MAC_init(ctx_, nullptr, 0, nullptr)) return false;
    fresh_ = false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t n = 0;
    auto upd = [&](std::string_view v) {
      return EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(v.data()), v.size()) == 1;
    };
    if (!upd(id) || !upd(".") || !upd(ts) || !upd(".") || !upd(body) ||
        !EVP_MAC_final(ctx_, mac, &n, sizeof mac))
      return false;
    out += "v1,";
    base64_append(out, std::string_view(reinterpret_cast<const char*>(mac), n));
    return true;
  }

 private:
  explicit v1_signer(EVP_MAC_CTX* c) : ctx_(c) {}
  EVP_MAC_CTX* ctx_;
  bool fresh_ = false;
};

namespace {

// A signing secret as stored: sealed (possibly more than once by older code paths) or plain.
result<std::string> open_secret(const std::string& s, const std::optional<secret_box>& box) {
  std::string v = s;
  for (int i = 0; i < 3 && secret_box::is_sealed(v); ++i) {
    if (!box)
      return make_error(delivery_errc::invalid_request, "it is sealed and no master key is loaded");
    auto o = box->open(v);
    if (!o) return make_error(delivery_errc::invalid_request, o.err().message);
    v = std::move(*o);
  }
  return v;
}

// A credential as stored: sealed once by the API, or plain in records written before.
result<std::string> open_credential(const std::string& s, const std::optional<secret_box>& box) {
  if (!secret_box::is_sealed(s)) return s;
  if (!box)
    return make_error(delivery_errc::invalid_request, "it is sealed and no master key is loaded");
  auto o = box->open(s);
  if (!o) return make_error(delivery_errc::invalid_request, o.err().message);
  return std::move(*o);
}

std::shared_ptr<v1_signer> signer_for(const std::string& stored,
                                      const std::optional<secret_box>& box, std::string* why) {
  auto secret = open_secret(stored, box);
  if (!secret) {
    if (why) *why = "the signing secret cannot be opened (" + secret.err().message + ")";
    return nullptr;
  }
  if (secret->empty()) {
    if (why) *why = "the endpoint has no signing secret";
    return nullptr;
  }
  auto key = decode_secret(*secret);
  if (!key) {
    if (why) *why = "the signing secret is not whsec_<base64> (rotate it)";
    return nullptr;
  }
  auto s = v1_signer::make(*key);
  if (!s && why) *why = "the signing secret cannot key HMAC-SHA256";
  return s;
}

std::string basic_auth(const std::string& user, const std::string& pass) {
  return "Basic " + base64_encode(user + ":" + pass);
}

}  // namespace

std::shared_ptr<prepared_endpoint> prepare_endpoint(projections::endpoint&& e,
                                                    const std::optional<secret_box>& box) {
  auto p = std::make_shared<prepared_endpoint>();
  std::string why;
  p->signer = signer_for(e.secret, box, &why);
  if (!p->signer) p->refusal = why + "; never sent unsigned";
  for (const auto& prev : e.previous_secrets)
    p->previous.push_back({signer_for(prev.secret, box, nullptr), prev.valid_until});

  // The values as they will be sent, checked like the API checks its input.
  projections::endpoint plain;
  plain.headers = e.headers;
  plain.auth = e.auth;
  for (auto* field : {&plain.auth.password, &plain.auth.token, &plain.auth.value}) {
    if (field->empty()) continue;
    auto v = open_credential(*field, box);
    if (!v) {
      const char* name = field == &plain.auth.password ? "password"
                         : field == &plain.auth.token  ? "token"
                                                       : "value";
      if (p->refusal.empty())
        p->refusal = pointer_to("auth", name) + ": cannot be opened (" + v.err().message + ")";
      field->clear();
      continue;
    }
    *field = std::move(*v);
  }
  input_scope scope;
  scope.secret = false;
  scope.kept_sealed = {"password", "token",
                       "value"};  // opened above: "enc:v1:" is then the value itself
  if (auto bad = check_endpoint_input(plain, scope); bad && p->refusal.empty())
    p->refusal = bad->message;

  const auto& a = plain.auth;
  if (a.type == "basic")
    p->auth.emplace("authorization", basic_auth(a.username, a.password));
  else if (a.type == "bearer")
    p->auth.emplace("authorization", "Bearer " + a.token);
  else if (a.type == "header")
    p->auth.emplace(a.name, a.value);
  p->max_in_flight = static_cast<std::uint32_t>(std::max<std::int64_t>(1, e.max_in_flight));
  p->ordered = e.ordering == "entity";
  p->ep = std::move(e);
  return p;
}

result<outbound_request> build_delivery_request(prepared_endpoint& p, delivery_input&& in,
                                                outbound_request req) {
  if (!p.refusal.empty())
    return make_error(delivery_errc::invalid_request, "not sent: " + p.refusal);
  const auto& ep = p.ep;
  // Every field is assigned: `req` may be a used one (request_pool.hpp), whose buffers are
  // written over rather than allocated again.
  req.method = "POST";
  req.url.assign(ep.url);
  req.timeout = std::chrono::milliseconds(ep.timeout_ms);
  req.pool_key.assign(ep.tenant);
  req.headers.reserve(7 + ep.headers.size());  // the references below stay valid
  std::size_t n = 0;
  auto put = [&](std::string_view name, std::string_view value) -> std::string& {
    if (n == req.headers.size()) req.headers.emplace_back();
    auto& h = req.headers[n++];
    h.first.assign(name);
    h.second.assign(value);
    return h.second;
  };
  put("content-type", "application/json");
  std::string& id = put("webhook-id", in.webhook_id);
  if (in.webhook_id.empty()) append_event_id(id, in.event_seq);
  char ts_buf[24];
  const auto ts_end = std::to_chars(ts_buf, ts_buf + sizeof ts_buf, in.now_us / 1'000'000).ptr;
  const std::string& ts =
      put("webhook-timestamp", std::string_view(ts_buf, static_cast<std::size_t>(ts_end - ts_buf)));
  std::string& sigs = put("webhook-signature", {});
  if (!p.signer->sign_into(sigs, id, ts, in.body))
    return make_error(delivery_errc::invalid_request,
                      "not sent: HMAC-SHA256 signing failed; never sent unsigned");
  for (const auto& prev : p.previous) {
    if (prev.valid_until <= in.now_us || !prev.signer) continue;
    const std::size_t before = sigs.size();
    sigs += ' ';
    if (!prev.signer->sign_into(sigs, id, ts, in.body)) sigs.resize(before);
  }
  put("webhook-event-type", in.type);
  if (!in.replay_id.empty()) put("webhook-replay", in.replay_id);
  for (const auto& [k, v] : ep.headers) put(k, v);
  if (p.auth) put(p.auth->first, p.auth->second);
  req.headers.resize(n);
  // The body: copied into the kept buffer when it fits (the event's own string is then freed
  // on this thread), else taken over.
  if (req.body.capacity() >= in.body.size())
    req.body.assign(in.body);
  else
    req.body = std::move(in.body);
  return req;
}

}  // namespace hooklog::http
