#include "rpc/http_api.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <list>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <kj/compat/http.h>
#include <kj/compat/url.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rpc/connections.h"
#include "rpc/console.h"
#include "rpc/errors.h"
#include "rpc/http_json.h"
#include "rpc/http_routes.h"
#include "rpc/tls.h"

namespace cotenant::rpc {
namespace {

using http::DecodeBody;
using http::Json;
using http::ParseU64;
using http::SetFromQuery;
using http::StatusOf;

// A response to send: status and body (JSON unless content_type says otherwise).
struct Reply {
  Reply() = default;
  Reply(int s, std::string b) : status(s), body(std::move(b)) {}
  int status = 200;
  std::string body;
  bool unauthenticated = false;  // add WWW-Authenticate
  std::string allow;             // 405: the verbs the path has (the Allow header)
  std::string content_type = "application/json";
  bool console = false;          // a console page: its security and caching headers
  std::string location;          // a redirect's target
};

// The console's pages may load only the console's own files and call only this API; no
// page of another site may frame them.
constexpr const char* kConsolePolicy =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'";

Reply ErrorReply(const Status& s, int http_status = 0) {
  Reply r;
  r.status = http_status != 0 ? http_status : http::HttpStatus(s.code());
  r.body = Json({{"code", std::string(s.code_name())}, {"message", s.message()}});
  r.unauthenticated = s.code() == Status::Code::kUnauthenticated;
  return r;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

}  // namespace

// ---- HttpApi::Impl -----------------------------------------------------------------------

class HttpApi::Impl final : private kj::TaskSet::ErrorHandler, private kj::HttpServerErrorHandler {
 public:
  Impl(const ServiceContext& ctx, kj::Timer& timer, HttpApiOptions options, RpcTls* tls)
      : ctx_(ctx),
        timer_(timer),
        options_(std::move(options)),
        tls_(tls),
        authorization_(builder_.add("Authorization")),
        tenant_header_(builder_.add("Cotenant-Tenant")),
        context_header_(builder_.add("Cotenant-Context")),
        www_authenticate_(builder_.add("WWW-Authenticate")),
        allow_(builder_.add("Allow")),
        csp_(builder_.add("Content-Security-Policy")),
        nosniff_(builder_.add("X-Content-Type-Options")),
        cache_control_(builder_.add("Cache-Control")),
        referrer_policy_(builder_.add("Referrer-Policy")),
        location_(builder_.add("Location")),
        table_(builder_.build()),
        server_(timer, *table_, [this](kj::AsyncIoStream& s) { return NewService(s); },
                Settings()),
        console_(options_.console_dir),
        tasks_(*this) {
    codec_.setRejectUnknownFields(true);
    codec_.addTypeHandler(base64_);
  }

  kj::Promise<void> Serve(kj::ConnectionReceiver& receiver) {
    return receiver.accept().then(
        [this, &receiver](kj::Own<kj::AsyncIoStream> stream) {
          Admit(kj::mv(stream));
          return Serve(receiver);
        },
        [this, &receiver](kj::Exception&& e) {
          ctx_.metrics->connection_counters().accept_errors.fetch_add(1, std::memory_order_relaxed);
          spdlog::warn("HTTP/JSON API: accept failed (retrying in 100 ms): {}",
                       e.getDescription().cStr());
          return timer_.afterDelay(100 * kj::MILLISECONDS).then([this, &receiver] {
            return Serve(receiver);
          });
        });
  }

 private:
  class Service;
  friend class Service;

  // A logged-in session and the capabilities derived from it.
  struct SessionEntry {
    wire::Session::Client session;
    kj::Maybe<wire::Admin::Client> admin;
    std::map<std::string, wire::Records::Client> records;  // by Cotenant-Context ("" = none)
  };
  static constexpr size_t kMaxContextsPerSession = 64;

  kj::HttpServerSettings Settings() {
    kj::HttpServerSettings s;
    s.headerTimeout = options_.request_timeout_ms * kj::MILLISECONDS;
    s.pipelineTimeout = options_.idle_timeout_ms * kj::MILLISECONDS;
    s.errorHandler = static_cast<kj::HttpServerErrorHandler&>(*this);
    return s;
  }

  void Admit(kj::Own<kj::AsyncIoStream> stream) {
    Metrics::HttpCounters& counters = ctx_.metrics->http_counters();
    std::string peer = PeerAddress(*stream);
    {
      HttpApiOptions::Open& open = *options_.open;
      std::lock_guard<std::mutex> lock(open.mu);
      size_t& mine = open.by_peer[peer];
      if (open.all >= options_.max_connections || mine >= options_.max_connections_per_peer) {
        if (mine == 0) open.by_peer.erase(peer);
        counters.refused_connections.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("HTTP/JSON API: closing a new connection from {}: {} open, {} from it "
                     "(--max-connections {}, --max-connections-per-peer {})",
                     peer, open.all, mine, options_.max_connections,
                     options_.max_connections_per_peer);
        return;  // dropping the stream closes it
      }
      ++mine;
      ++open.all;
    }
    counters.connections.fetch_add(1, std::memory_order_relaxed);
    kj::Promise<kj::Own<kj::AsyncIoStream>> ready =
        tls_ != nullptr ? tls_->Secure(kj::mv(stream), timer_)
                        : kj::Promise<kj::Own<kj::AsyncIoStream>>(kj::mv(stream));
    tasks_.add(ready
                   .then([this, peer](kj::Own<kj::AsyncIoStream> s) mutable {
                     kj::AsyncIoStream* key = s.get();
                     peers_[key] = peer;
                     return server_.listenHttp(kj::mv(s)).attach(kj::defer([this, key] {
                       peers_.erase(key);
                     }));
                   })
                   .attach(kj::defer([this, &counters, peer] {
                     HttpApiOptions::Open& open = *options_.open;
                     std::lock_guard<std::mutex> lock(open.mu);
                     --open.all;
                     if (--open.by_peer[peer] == 0) open.by_peer.erase(peer);
                     counters.connections.fetch_sub(1, std::memory_order_relaxed);
                   })));
  }

  kj::Own<kj::HttpService> NewService(kj::AsyncIoStream& stream);

  void taskFailed(kj::Exception&& e) override {
    spdlog::debug("HTTP/JSON API connection ended: {}", e.getDescription().cStr());
  }

  // A request the HTTP parser refused: the same JSON error body as every other error.
  kj::Promise<void> handleClientProtocolError(kj::HttpHeaders::ProtocolError error,
                                              kj::HttpService::Response& response) override {
    return Send(response, ErrorReply(Status::InvalidArgument(
                                         std::string("malformed HTTP request: ") +
                                         error.description.cStr()),
                                     400));
  }
  kj::Promise<void> handleApplicationError(
      kj::Exception exception, kj::Maybe<kj::HttpService::Response&> response) override {
    KJ_IF_MAYBE(r, response) { return Send(*r, ErrorReply(StatusOf(exception))); }
    return kj::READY_NOW;
  }

  kj::Promise<void> Send(kj::HttpService::Response& response, Reply reply) {
    ctx_.metrics->http_counters().responses[std::clamp(reply.status / 100, 2, 5)].fetch_add(
        1, std::memory_order_relaxed);
    kj::HttpHeaders headers(*table_);
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, reply.content_type);
    headers.set(nosniff_, "nosniff");
    if (reply.unauthenticated) headers.set(www_authenticate_, "Bearer");
    if (!reply.allow.empty()) headers.set(allow_, reply.allow);
    if (!reply.location.empty()) headers.set(location_, reply.location);
    if (reply.console) {
      headers.set(csp_, kConsolePolicy);
      headers.set(cache_control_, "no-cache");
      headers.set(referrer_policy_, "no-referrer");
    }
    auto body = kj::heapString(reply.body.data(), reply.body.size());
    auto out = response.send(static_cast<kj::uint>(reply.status), Reason(reply.status), headers,
                             static_cast<uint64_t>(body.size()));
    auto written = out->write(body.begin(), body.size());
    return written.attach(kj::mv(out), kj::mv(body));
  }

  // The cached session of (tenant, key), if any; the tag it is kept under.
  std::string Tag(const std::string& tenant, const std::string& key) const {
    std::string tag;
    if (!ctx_.token_mac->Sign({"http-session/1", tenant, key}, &tag)) tag.clear();
    return tag;
  }
  // Shared: a request in flight keeps its entry even when the cache lets it go.
  using EntryPtr = std::shared_ptr<SessionEntry>;
  EntryPtr Lookup(const std::string& tag) {
    auto it = sessions_.find(tag);
    if (it == sessions_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.second);  // most recently used first
    return it->second.first;
  }
  // The cached entry of `tag`, or a new one kept under it (not kept when tag is empty:
  // the MAC failed).
  EntryPtr Keep(const std::string& tag, wire::Session::Client session) {
    if (EntryPtr e = tag.empty() ? nullptr : Lookup(tag)) return e;
    auto entry = std::make_shared<SessionEntry>(SessionEntry{kj::mv(session), nullptr, {}});
    if (tag.empty()) return entry;
    while (sessions_.size() >= std::max<size_t>(options_.max_sessions, 1)) {
      sessions_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(tag);
    sessions_.emplace(tag, std::make_pair(entry, lru_.begin()));
    return entry;
  }
  void Forget(const std::string& tag) {
    auto it = sessions_.find(tag);
    if (it == sessions_.end()) return;
    lru_.erase(it->second.second);
    sessions_.erase(it);
  }

  const ServiceContext& ctx_;
  kj::Timer& timer_;
  const HttpApiOptions options_;
  RpcTls* tls_;
  http::Base64Data base64_;  // before codec_, which refers to it
  capnp::JsonCodec codec_;
  kj::HttpHeaderTable::Builder builder_;
  const kj::HttpHeaderId authorization_;
  const kj::HttpHeaderId tenant_header_;
  const kj::HttpHeaderId context_header_;
  const kj::HttpHeaderId www_authenticate_;
  const kj::HttpHeaderId allow_;
  const kj::HttpHeaderId csp_;
  const kj::HttpHeaderId nosniff_;
  const kj::HttpHeaderId cache_control_;
  const kj::HttpHeaderId referrer_policy_;
  const kj::HttpHeaderId location_;
  kj::Own<kj::HttpHeaderTable> table_;
  std::list<std::string> lru_;  // session tags, most recently used first
  std::unordered_map<std::string, std::pair<EntryPtr, std::list<std::string>::iterator>> sessions_;
  std::map<kj::AsyncIoStream*, std::string> peers_;  // the peer address of each connection
  kj::HttpServer server_;
  const ConsoleFiles console_;
  kj::TaskSet tasks_;  // last: its connections use everything above
};

// One connection's requests. Holds the bootstrap capability with the connection's peer
// address, so failed logins are throttled per address as on RPC.
class HttpApi::Impl::Service final : public kj::HttpService {
 public:
  Service(Impl& api, std::string peer)
      : api_(api), bootstrap_(kj::heap<CotenantImpl>(api.ctx_, std::move(peer))) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& response) override {
    return kj::evalNow([&]() { return Handle(method, url, headers, body); })
        .catch_([](kj::Exception&& e) { return ErrorReply(StatusOf(e)); })
        .then([this, &response](Reply reply) { return api_.Send(response, kj::mv(reply)); });
  }

 private:
  // Everything a request needs once its body is read, copied out of the request.
  struct Call {
    const http::Route* route = nullptr;
    std::string object;
    std::string id;
    std::vector<std::pair<std::string, std::string>> query;
    std::string tenant;
    std::string key;
    std::string context;  // "" = none
    std::string tag;      // the session cache's key of (tenant, key)
    kj::String body;
  };

  // The console's files: GET /console/ is its index.html, GET /console/<name> a file. They
  // need no credentials (the pages log in through the API).
  Reply Console(kj::HttpMethod method, const std::vector<std::string>& segments,
                const kj::Url& url) {
    if (method != kj::HttpMethod::GET) {
      Reply r = ErrorReply(Status::InvalidArgument(std::string(kj::str(method).cStr()) +
                                                   " is not served on the console (use GET)"),
                           405);
      r.allow = "GET";
      return r;
    }
    if (segments.size() == 1 && !url.hasTrailingSlash) {
      Reply r{301, ""};
      r.content_type = "text/plain";
      r.location = "/console/";
      return r;
    }
    if (segments.size() > 2) {
      return ErrorReply(Status::NotFound("the console has no subdirectories (its files are /console/<name>)"));
    }
    ConsoleFile file;
    Status s = api_.console_.Get(segments.size() == 2 ? segments[1] : "", &file);
    if (!s.ok()) return ErrorReply(s);
    Reply r{200, std::move(file.body)};
    r.content_type = std::move(file.content_type);
    r.console = true;
    return r;
  }

  kj::Promise<Reply> Handle(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body) {
    kj::Url parsed;
    KJ_IF_MAYBE(u, kj::Url::tryParse(url, kj::Url::HTTP_REQUEST)) {
      parsed = kj::mv(*u);
    } else {
      return ErrorReply(Status::InvalidArgument("malformed request target: " + std::string(url.cStr())));
    }
    std::vector<std::string> segments;
    for (const auto& s : parsed.path) segments.emplace_back(s.cStr());
    std::string verb = kj::str(method).cStr();
    if (segments == std::vector<std::string>{"v1", "openapi.json"} && method == kj::HttpMethod::GET) {
      return Reply{200, http::OpenApiDocument()};
    }
    if (!segments.empty() && segments[0] == "console") return Console(method, segments, parsed);
    http::Match m = http::Find(verb, segments);
    std::string path;
    for (const auto& s : segments) path += "/" + s;
    if (m.route == nullptr) {
      if (m.path_known) {
        std::string verbs;
        for (const auto& v : m.verbs) verbs += (verbs.empty() ? "" : ", ") + v;
        Reply r = ErrorReply(
            Status::InvalidArgument(verb + " is not served on " + path + " (use " + verbs + ")"), 405);
        r.allow = verbs;
        return r;
      }
      return ErrorReply(Status::NotFound("no such path: " + path +
                                         " (the paths are listed in /v1/openapi.json)"));
    }
    Call call;
    call.route = m.route;
    call.object = std::move(m.object);
    call.id = std::move(m.id);
    for (const auto& q : parsed.query) call.query.emplace_back(q.name.cStr(), q.value.cStr());

    // The credentials: the same login as RPC's.
    KJ_IF_MAYBE(auth, headers.get(api_.authorization_)) {
      std::string_view a(auth->cStr(), auth->size());
      if (a.size() > 7 && (a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer ")) {
        call.key = std::string(a.substr(7));
      }
    }
    if (call.key.empty()) {
      return ErrorReply(Status::Unauthenticated(
          "no API key: send the header Authorization: Bearer <API key>"));
    }
    KJ_IF_MAYBE(t, headers.get(api_.tenant_header_)) { call.tenant = t->cStr(); }
    uint64_t tenant = 0;
    if (!ParseU64(call.tenant, &tenant)) {
      return ErrorReply(Status::Unauthenticated(
          "no tenant id: send the header Cotenant-Tenant: <the tenant id of the key's user>"));
    }
    KJ_IF_MAYBE(c, headers.get(api_.context_header_)) {
      call.context = c->cStr();
      uint64_t ignored = 0;
      if (!ParseU64(call.context, &ignored)) {
        return ErrorReply(Status::InvalidArgument(
            "the Cotenant-Context header must be a tenant id (a decimal number), not \"" +
            call.context + "\""));
      }
      if (call.route->target != http::Target::kRecords) {  // never silently ignored
        return ErrorReply(Status::InvalidArgument(
            "the Cotenant-Context header applies to record calls (/v1/records/...) only; " +
            call.route->method + " names its tenant with its tenantId parameter"));
      }
    }

    // Logged in before the body is read: a client without a valid key never makes the
    // server hold more than its headers.
    KJ_IF_MAYBE(length, body.tryGetLength()) {
      if (*length > api_.options_.max_body_bytes) return TooLarge(*length);
    }
    call.tag = api_.Tag(call.tenant, call.key);
    return SessionOf(call, tenant).then([this, &body, call = kj::mv(call)](EntryPtr e) mutable {
      return ReadAndCall(body, kj::mv(call), kj::mv(e));
    });
  }

  // The kept session of the call's credentials, or a new login.
  kj::Promise<EntryPtr> SessionOf(const Call& call, uint64_t tenant) {
    if (EntryPtr e = call.tag.empty() ? nullptr : api_.Lookup(call.tag)) return kj::mv(e);
    auto login = bootstrap_.loginRequest();
    login.setTenantId(tenant);
    login.setApiKey(call.key);
    return login.send().then(
        [this, tag = call.tag](auto&& r) { return api_.Keep(tag, r.getSession()); });
  }

  // Reads the body, bounded in size, in time, and with every other request's in bytes
  // held, then makes the call.
  kj::Promise<Reply> ReadAndCall(kj::AsyncInputStream& body, Call call, EntryPtr entry) {
    const uint64_t max = api_.options_.max_body_bytes;
    auto hold = std::make_shared<BodyHold>(api_.options_, api_.ctx_.metrics);
    bool counted = false;
    uint64_t announced = 0;
    KJ_IF_MAYBE(length, body.tryGetLength()) {
      if (*length == 0) {  // a GET, a DELETE: nothing to read or to wait for
        std::string tag = call.tag;
        return OnSession(kj::mv(call), std::move(tag), kj::mv(entry));
      }
      if (!hold->Add(*length)) return Full();
      counted = true;
      announced = *length;
    }
    auto text = std::make_shared<std::string>();
    auto read = ReadBody(body, *text, max, counted ? nullptr : hold.get(), announced)
                    .then([](bool within) { return within ? kRead : kFull; });
    auto timeout = api_.timer_.afterDelay(api_.options_.request_timeout_ms * kj::MILLISECONDS)
                       .then([]() { return kLate; });
    return read.exclusiveJoin(kj::mv(timeout))
        .then([this, call = kj::mv(call), entry = kj::mv(entry), max, text, hold](int outcome) mutable
              -> kj::Promise<Reply> {
          if (outcome == kLate) {
            return ErrorReply(Status::InvalidArgument(
                                  "the request body did not arrive within " +
                                  std::to_string(api_.options_.request_timeout_ms) + " ms"),
                              408);
          }
          if (outcome == kFull) return Full();
          if (text->size() > max) return TooLarge(text->size());
          call.body = kj::heapString(text->data(), text->size());
          text->clear();
          text->shrink_to_fit();
          std::string tag = call.tag;
          return OnSession(kj::mv(call), std::move(tag), kj::mv(entry)).attach(kj::mv(hold));
        });
  }
  static constexpr int kRead = 1, kFull = 2, kLate = 3;

  // The bytes of request bodies this request holds, in the count every loop's requests
  // share (HttpApiOptions::max_inflight_bytes); given back when the request is answered.
  class BodyHold {
   public:
    BodyHold(const HttpApiOptions& o, Metrics* metrics)
        : held_(*o.held), gauge_(metrics->http_counters().held_body_bytes), max_(o.max_inflight_bytes) {}
    ~BodyHold() {
      held_.fetch_sub(mine_);
      gauge_.fetch_sub(static_cast<int64_t>(mine_), std::memory_order_relaxed);
    }
    BodyHold(const BodyHold&) = delete;
    BodyHold& operator=(const BodyHold&) = delete;
    // False when the count is now past the limit (the bytes stay counted until the end).
    bool Add(uint64_t n) {
      mine_ += n;
      gauge_.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
      return held_.fetch_add(n) + n <= max_;
    }

   private:
    std::atomic<uint64_t>& held_;
    std::atomic<int64_t>& gauge_;
    const uint64_t max_;
    uint64_t mine_ = 0;
  };

  Reply Full() const {
    return ErrorReply(Status::Busy(
        "the server holds as many bytes of HTTP request bodies as it may (" +
        std::to_string(api_.options_.max_inflight_bytes) +
        ", --max-inflight-bytes); retry later"));
  }

  // Appends the body to `out` until it ends or passes `max` bytes (then one chunk more
  // at most is kept: the caller refuses it). With `hold`, counts each chunk in it; false
  // when that passes the limit. `announced`: the Content-Length (0 = none), so a short
  // body is read into a buffer of its size.
  static kj::Promise<bool> ReadBody(kj::AsyncInputStream& body, std::string& out, uint64_t max,
                                    BodyHold* hold, uint64_t announced) {
    const size_t at = out.size();
    const size_t chunk =
        announced > at ? static_cast<size_t>(std::min<uint64_t>(announced - at + 1, kReadChunk))
                       : kReadChunk;
    out.resize(at + chunk);
    return body.tryRead(out.data() + at, 1, chunk).then([&body, &out, max, at, hold, announced](size_t n) {
      out.resize(at + n);
      if (hold != nullptr && !hold->Add(n)) return kj::Promise<bool>(false);
      if (n == 0 || out.size() > max) return kj::Promise<bool>(true);
      return ReadBody(body, out, max, hold, announced);
    });
  }
  static constexpr size_t kReadChunk = 64u << 10;

  Reply TooLarge(uint64_t size) const {
    return ErrorReply(Status::ResourceExhausted(
                          "the request body is larger than the limit of " +
                          std::to_string(api_.options_.max_body_bytes) + " bytes (--max-message-mb)"),
                      413);
  }

  // The capability the route's method is called on, from the session.
  kj::Promise<capnp::Capability::Client> TargetOf(const Call& call, const EntryPtr& entry) {
    SessionEntry& e = *entry;
    switch (call.route->target) {
      case http::Target::kSession:
        return capnp::Capability::Client(e.session);
      case http::Target::kAdmin:
        KJ_IF_MAYBE(admin, e.admin) { return capnp::Capability::Client(*admin); }
        {
          wire::Admin::Client admin = e.session.adminRequest().send().getAdmin();
          e.admin = admin;
          return capnp::Capability::Client(admin);
        }
      case http::Target::kRecords:
        break;
    }
    auto it = e.records.find(call.context);
    if (it != e.records.end()) return capnp::Capability::Client(it->second);
    // Resolved once, as the SDK's TenantContext does; kept only when the context was
    // admitted (a refusal must not stick once a policy admits it). Every call through it
    // is decided again.
    auto req = e.session.recordsRequest();
    if (!call.context.empty()) {
      uint64_t id = 0;
      (void)ParseU64(call.context, &id);  // checked by Handle
      req.initContext().setTenantId(id);
    }
    std::string context = call.context;
    return req.send().then([entry, context](auto&& r) {
      SessionEntry& e = *entry;
      wire::Records::Client records = r.getRecords();
      if (e.records.size() >= kMaxContextsPerSession) e.records.clear();
      e.records.emplace(context, records);
      return capnp::Capability::Client(records);
    });
  }

  // Calls the route's method on the session's capability with the request's parameters.
  kj::Promise<Reply> OnSession(Call call, std::string tag, EntryPtr e) {
    kj::Promise<capnp::Capability::Client> target = TargetOf(call, e);
    return target.then([this, call = kj::mv(call)](capnp::Capability::Client client) mutable {
                   return Invoke(kj::mv(call), kj::mv(client));
                 })
        .then([](Reply r) { return r; },
              [this, tag](kj::Exception&& ex) {
                Status s = StatusOf(ex);
                // A revoked key or a deleted user: log in again next time (and fail there).
                if (s.code() == Status::Code::kUnauthenticated) api_.Forget(tag);
                return ErrorReply(s);
              });
  }

  kj::Promise<Reply> Invoke(Call call, capnp::Capability::Client client) {
    capnp::InterfaceSchema schema = http::SchemaOf(call.route->target);
    auto dynamic = client.castAs<capnp::DynamicCapability>(schema);
    auto request = dynamic.newRequest(call.route->method);
    capnp::DynamicStruct::Builder params = request;
    KJ_IF_MAYBE(wrapped, http::WrappedBody(request.getSchema())) {
      params = request.init(*wrapped).as<capnp::DynamicStruct>();
    }
    if (call.body.size() > 0) {
      Status decoded = DecodeBody(api_.codec_, call.body, params, call.route->method);
      if (!decoded.ok()) return ErrorReply(decoded);
    }
    Status applied = Apply(call, params.getSchema(), params);
    if (!applied.ok()) return ErrorReply(applied);
    return request.send().then([this](capnp::Response<capnp::DynamicStruct>&& r) {
      capnp::DynamicStruct::Reader results = r;
      kj::String text = api_.codec_.encode(capnp::DynamicValue::Reader(results),
                                           capnp::Type(results.getSchema()));
      return Reply{200, std::string(text.cStr(), text.size())};
    });
  }

  // Sets what the path and the query give over the body's parameters.
  Status Apply(const Call& call, capnp::StructSchema params,
               capnp::DynamicStruct::Builder request) const {
    if (call.route->path.find("{object}") != std::string::npos) {
      KJ_IF_MAYBE(f, params.findFieldByName("object")) {
        request.set(*f, capnp::Text::Reader(call.object.c_str(), call.object.size()));
      }
    }
    if (call.route->path.find("{id}") != std::string::npos) {
      uint64_t id = 0;
      if (!ParseU64(call.id, &id)) {
        return Status::InvalidArgument("the record id in the path must be a decimal number, not \"" +
                                       call.id + "\"");
      }
      request.set("id", id);
    }
    for (const auto& [name, value] : call.query) {
      KJ_IF_MAYBE(f, params.findFieldByName(name)) {
        COTENANT_RETURN_IF_ERROR(SetFromQuery(request, *f, value));
      } else {
        return Status::InvalidArgument("unknown query parameter " + name + ": " +
                                       call.route->method + " has no parameter of that name");
      }
    }
    return Status::OK();
  }

  Impl& api_;
  wire::Cotenant::Client bootstrap_;
};

kj::Own<kj::HttpService> HttpApi::Impl::NewService(kj::AsyncIoStream& stream) {
  auto it = peers_.find(&stream);
  return kj::heap<Service>(*this, it != peers_.end() ? it->second : "unknown");
}

// ---- HttpApi -----------------------------------------------------------------------------

HttpApi::HttpApi(const ServiceContext& ctx, kj::Timer& timer, HttpApiOptions options, RpcTls* tls)
    : impl_(std::make_unique<Impl>(ctx, timer, std::move(options), tls)) {}
HttpApi::~HttpApi() = default;

kj::Promise<void> HttpApi::Serve(kj::ConnectionReceiver& receiver) { return impl_->Serve(receiver); }

}  // namespace cotenant::rpc
