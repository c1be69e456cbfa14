// A Client's lifetime and session: connecting and logging in, the logged-in user, whoami,
// and resolving a TenantContext on the server. The record calls are in records.cc, the
// administrative calls in admin.cc, the event-loop thread in loop.cc.

#include "loop.h"
#include "wire.h"

namespace cotenant {

using internal::Call;
using internal::fromWire;
using internal::txt;

// ---- connect / lifetime -----------------------------------------------------------------------

namespace {

kj::Promise<Outcome<UserInfo>> connectAndLogIn(LoopState& s, const ClientCore::Login& login) {
  kj::String addr = kj::str(login.address.c_str());
  s.tls = login.tls;
  auto connected =
      s.io.provider->getNetwork()
          .parseAddress(addr)
          .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); })
          .then([&s, serverName = login.serverName](kj::Own<kj::AsyncIoStream> stream)
                    -> kj::Promise<kj::Own<kj::AsyncIoStream>> {
            KJ_IF_MAYBE (fd, stream->getFd()) {
              s.fd = *fd;
            }
            if (!s.tls) return kj::mv(stream);
            return s.tls->wrapClient(kj::mv(stream), serverName);
          })
          .then([](kj::Own<kj::AsyncIoStream> stream) { return stream; },
                [address = login.address](kj::Exception&& e) -> kj::Own<kj::AsyncIoStream> {
                  // Whatever went wrong before a connection existed, the server is
                  // unreachable from here.
                  kj::throwFatalException(kj::Exception(
                      kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                      kj::str("cannot connect to ", address.c_str(), ": ", e.getDescription())));
                });
  return connected.then([&s, tenantId = login.tenantId,
                         apiKey = login.apiKey](kj::Own<kj::AsyncIoStream> stream) {
    s.stream = kj::mv(stream);
    s.rpc = kj::heap<capnp::TwoPartyClient>(*s.stream);
    auto cotenant = s.rpc->bootstrap().castAs<wire::Cotenant>();
    auto req = cotenant.loginRequest();
    req.setTenantId(tenantId);
    req.setApiKey(txt(apiKey));
    auto response = req.send();
    // Pipelined: the session, its own-tenant Records and Admin are requested in the same
    // flight as the login.
    s.session = response.getSession();
    s.records = s.session.recordsRequest().send().getRecords();
    s.admin = s.session.adminRequest().send().getAdmin();
    return response.then([](capnp::Response<wire::Cotenant::LoginResults>&& r) {
      return Outcome<UserInfo>(fromWire(r.getUser()));
    });
  });
}

}  // namespace

void resetConnection(LoopState& s) {
  // Capabilities first, then the RPC system, then the stream it reads.
  s.contexts.clear();
  for (const auto& entry : s.imports) s.lostImports.insert(entry.first);
  s.imports.clear();
  s.admin = nullptr;
  s.records = nullptr;
  s.session = nullptr;
  if (s.fdRegistered) {
    // Unregistered and closed under the link's lock: the client's shutdown never touches
    // a closed (perhaps reused) socket number.
    std::lock_guard<std::mutex> lock(s.link->mu);
    s.link->fds.erase(s.fd);
    s.fdRegistered = false;
    s.rpc = nullptr;
    s.stream = nullptr;
  } else {
    s.rpc = nullptr;
    s.stream = nullptr;
  }
  s.fd = -1;
}

kj::Promise<Outcome<UserInfo>> openSession(LoopState& s, const ClientCore::Login& login,
                                           kj::Duration timeLimit) {
  auto timeout = s.io.provider->getTimer().afterDelay(timeLimit).then(
      [address = login.address]() -> kj::Promise<Outcome<UserInfo>> {
        return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                             kj::str("timed out connecting to ", address.c_str()));
      });
  return kj::evalNow([&]() { return connectAndLogIn(s, login); }).exclusiveJoin(kj::mv(timeout));
}

Client::Client(std::shared_ptr<ClientCore> core) : core_(std::move(core)) {}

Client::~Client() { core_->shutdown(); }

const UserInfo& Client::user() const { return core_->user; }

std::unique_ptr<Client> Client::connect(const std::string& address, uint64_t tenantId,
                                        const std::string& apiKey) {
  return connect(address, tenantId, apiKey, ClientOptions());
}

std::unique_ptr<Client> Client::connect(const std::string& address, uint64_t tenantId,
                                        const std::string& apiKey, const ClientOptions& options) {
  std::vector<std::string> addresses;
  std::string bad;
  if (!internal::splitAddressList(address, &addresses, &bad)) {
    throw Error(ErrorCode::InvalidArgument, bad);
  }
  auto core = std::make_shared<ClientCore>();
  // Every entry's TLS settings are checked before anything is sent.
  for (const std::string& a : addresses) {
    std::string serverName;
    std::shared_ptr<kj::TlsContext> tls;
    if (options.tlsEnabled()) tls = internal::makeTlsContext(options, a, &serverName);
    core->logins.push_back({a, tenantId, apiKey, tls, serverName});
  }
  core->callerThreadConnections = options.callerThreadConnections;
  core->start();
  // The first address that answers wins; one that cannot be reached is skipped. Any other
  // answer (a refused login, say) is the server's word and ends the attempt. Each address
  // has its own time limit here: nothing has been sent yet that could wait.
  const size_t count = addresses.size();
  auto future = core->submit<Outcome<UserInfo>>([count](LoopState& s) {
    return logIn(s, 0, internal::kConnectTimeout,
                 internal::kConnectTimeout * static_cast<int64_t>(count));
  });
  Outcome<UserInfo> who = future.get();
  if (!who.ok()) {
    core->shutdown();
    throw Error(who.getCode(), who.getMessage());
  }
  core->tenantId = tenantId;
  core->user = who.value();
  return std::unique_ptr<Client>(new Client(std::move(core)));
}

// ---- TenantContext ----------------------------------------------------------------------------

TenantContext::TenantContext(Client& client, uint64_t tenantId) : tenantId_(tenantId) {
  auto core = client.core_;
  auto future = core->call<Outcome<uint64_t>>(Call::OpenContext, [tenantId](LoopState& s) {
    auto req = s.session.recordsRequest();
    req.initContext().setTenantId(tenantId);
    return req.send().then([&s](capnp::Response<wire::Session::RecordsResults>&& r) {
      uint64_t id = s.nextContextId++;
      s.contexts.emplace(id, r.getRecords());
      return Outcome<uint64_t>(id);
    });
  });
  Outcome<uint64_t> id = future.get();
  if (!id.ok()) throw Error(id.getCode(), id.getMessage());
  core->rememberContext(id.value(), tenantId);
  handle_ = std::make_shared<ContextHandle>(std::move(core), id.value());
}

namespace {
uint64_t parseTenantIdOrThrow(const std::string& text) {
  auto v = RecordId::parse(text);
  if (!v) throw Error(ErrorCode::InvalidArgument, "tenant id '" + text + "' is not a decimal number");
  return *v;
}
}  // namespace

TenantContext::TenantContext(Client& client, const std::string& tenantId)
    : TenantContext(client, parseTenantIdOrThrow(tenantId)) {}

// ---- session --------------------------------------------------------------------------------

Outcome<UserInfo> Client::whoami() {
  return core_
      ->call<Outcome<UserInfo>>(Call::Whoami, [](LoopState& s) {
        return s.session.whoamiRequest().send().then(
            [](capnp::Response<wire::Session::WhoamiResults>&& r) {
              return Outcome<UserInfo>(fromWire(r.getUser()));
            });
      })
      .get();
}

}  // namespace cotenant
