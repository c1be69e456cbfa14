// The Client: a KJ event loop on a thread the client owns, and thread-safe entry points
// that hand work to it.
//
// Threads. Every KJ and Cap'n Proto object (the I/O context, the connection, the RPC
// system, every capability, every promise) is created, used and destroyed on the loop
// thread only. Other threads talk to the loop through ClientCore::post(), which appends a
// job to a mutex-guarded queue and wakes the loop with a cross-thread fulfiller; the loop
// runs the jobs in FIFO order, so calls made from one thread reach the server in the order
// they were made. Results come back through std::promise, which is thread-safe by itself.
//
// Errors. No kj::Exception leaves this file: every promise chain ends in a handler that
// turns the exception into a Result / Outcome (internal::classifyFailure).

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async.h>
#include <kj/exception.h>

#include "cotenant/client.h"
#include "internal.h"
#include "schemas/cotenant.capnp.h"

namespace cotenant {

namespace {

constexpr auto kConnectTimeout = 15 * kj::SECONDS;

// A failure found on the client side (bad argument, unknown context); thrown on the loop
// thread and caught where the job starts.
struct LocalError {
  ErrorCode code;
  std::string message;
};

internal::ParsedError fromKj(const kj::Exception& e) {
  internal::ExceptionKind kind = internal::ExceptionKind::Failed;
  switch (e.getType()) {
    case kj::Exception::Type::OVERLOADED: kind = internal::ExceptionKind::Overloaded; break;
    case kj::Exception::Type::DISCONNECTED: kind = internal::ExceptionKind::Disconnected; break;
    case kj::Exception::Type::UNIMPLEMENTED: kind = internal::ExceptionKind::Unimplemented; break;
    default: break;
  }
  return internal::classifyFailure(kind, std::string(e.getDescription().cStr()));
}

capnp::Text::Reader txt(const std::string& s) { return capnp::Text::Reader(s.c_str(), s.size()); }
std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// ---- wire <-> SDK conversions (loop thread) -----------------------------------------------

Value fromWire(wire::Value::Reader v) {
  switch (v.which()) {
    case wire::Value::NULL_: return Value();
    case wire::Value::TEXT: return Value::text(str(v.getText()));
    case wire::Value::INT: return Value::integer(v.getInt());
    case wire::Value::FLOAT: return Value::floating(v.getFloat());
    case wire::Value::BOOL: return Value::boolean(v.getBool());
    case wire::Value::TIMESTAMP: return Value::timestamp(v.getTimestamp());
  }
  // A union member added by a newer server: show it as null rather than fail the call.
  return Value();
}

void toWire(const Value& v, wire::Value::Builder out) {
  switch (v.type()) {
    case Value::Type::Null: out.setNull(); break;
    case Value::Type::Text: out.setText(txt(v.asText())); break;
    case Value::Type::Int: out.setInt(v.asInt()); break;
    case Value::Type::Float: out.setFloat(v.asFloat()); break;
    case Value::Type::Bool: out.setBool(v.asBool()); break;
    case Value::Type::Timestamp: out.setTimestamp(v.asTimestamp()); break;
  }
}

void toWire(const Parameters& p, capnp::List<wire::Field>::Builder out) {
  unsigned i = 0;
  for (const auto& [name, value] : p.fields()) {
    auto f = out[i++];
    f.setName(txt(name));
    toWire(value, f.initValue());
  }
}

Record fromWire(wire::Record::Reader r, bool withPermissions) {
  Record rec;
  RecordBuilder::setId(rec, r.getId());
  for (auto f : r.getFields()) RecordBuilder::addField(rec, str(f.getName()), fromWire(f.getValue()));
  RecordBuilder::setMeta(rec, r.getCreatedBy(), r.getCreatedAt(), r.getModifiedBy(),
                         r.getModifiedAt(), r.getVersion());
  if (withPermissions && r.hasPermissions()) {
    RecordBuilder::setPermissions(rec, r.getPermissions().getCanUpdate(),
                                  r.getPermissions().getCanDelete());
  }
  return rec;
}

TenantKind fromWire(wire::TenantKind k) {
  switch (k) {
    case wire::TenantKind::TENANT: return TenantKind::Tenant;
    case wire::TenantKind::MSP: return TenantKind::Msp;
    case wire::TenantKind::ISV: return TenantKind::Isv;
    case wire::TenantKind::SYSTEM: return TenantKind::System;
  }
  return TenantKind::Tenant;
}
wire::TenantKind toWire(TenantKind k) {
  switch (k) {
    case TenantKind::Tenant: return wire::TenantKind::TENANT;
    case TenantKind::Msp: return wire::TenantKind::MSP;
    case TenantKind::Isv: return wire::TenantKind::ISV;
    case TenantKind::System: return wire::TenantKind::SYSTEM;
  }
  return wire::TenantKind::TENANT;
}
FieldType fromWire(wire::FieldType t) {
  switch (t) {
    case wire::FieldType::TEXT: return FieldType::Text;
    case wire::FieldType::INT: return FieldType::Int;
    case wire::FieldType::FLOAT: return FieldType::Float;
    case wire::FieldType::BOOL: return FieldType::Bool;
    case wire::FieldType::TIMESTAMP: return FieldType::Timestamp;
  }
  return FieldType::Text;
}
wire::FieldType toWire(FieldType t) {
  switch (t) {
    case FieldType::Text: return wire::FieldType::TEXT;
    case FieldType::Int: return wire::FieldType::INT;
    case FieldType::Float: return wire::FieldType::FLOAT;
    case FieldType::Bool: return wire::FieldType::BOOL;
    case FieldType::Timestamp: return wire::FieldType::TIMESTAMP;
  }
  return wire::FieldType::TEXT;
}
AdminLevel fromWire(wire::AdminLevel l) {
  switch (l) {
    case wire::AdminLevel::USER: return AdminLevel::User;
    case wire::AdminLevel::TENANT_ADMIN: return AdminLevel::TenantAdmin;
    case wire::AdminLevel::SYSTEM_ADMIN: return AdminLevel::SystemAdmin;
  }
  return AdminLevel::User;
}
wire::AdminLevel toWire(AdminLevel l) {
  switch (l) {
    case AdminLevel::User: return wire::AdminLevel::USER;
    case AdminLevel::TenantAdmin: return wire::AdminLevel::TENANT_ADMIN;
    case AdminLevel::SystemAdmin: return wire::AdminLevel::SYSTEM_ADMIN;
  }
  return wire::AdminLevel::USER;
}

TenantInfo fromWire(wire::TenantInfo::Reader t) {
  TenantInfo out;
  out.id = t.getId();
  out.name = str(t.getName());
  out.kind = fromWire(t.getKind());
  out.provider = t.getProvider();
  out.createdAt = t.getCreatedAt();
  return out;
}
UserInfo fromWire(wire::UserInfo::Reader u) {
  UserInfo out;
  out.id = u.getId();
  out.tenantId = u.getTenantId();
  out.name = str(u.getName());
  out.level = fromWire(u.getLevel());
  out.createdAt = u.getCreatedAt();
  return out;
}
ObjectInfo fromWire(wire::ObjectDef::Reader o) {
  ObjectInfo out;
  out.id = o.getId();
  out.name = str(o.getName());
  for (auto f : o.getFields()) {
    FieldDef d;
    d.name = str(f.getName());
    d.type = fromWire(f.getType());
    d.required = f.getRequired();
    d.indexed = f.getIndexed();
    out.fields.push_back(std::move(d));
  }
  return out;
}

Rights fromWire(wire::Rights::Reader r) {
  return Rights{r.getRead(), r.getAdd(), r.getUpdate(), r.getDelete()};
}
void toWire(const Rights& r, wire::Rights::Builder out) {
  out.setRead(r.read);
  out.setAdd(r.add);
  out.setUpdate(r.update);
  out.setDelete(r.del);
}
void toWire(const std::vector<ObjectRights>& rights, capnp::List<wire::ObjectRights>::Builder out) {
  for (unsigned i = 0; i < rights.size(); ++i) {
    out[i].setObject(txt(rights[i].object));
    toWire(rights[i].rights, out[i].initRights());
  }
}
RoleInfo fromWire(wire::RoleInfo::Reader r) {
  RoleInfo out;
  out.id = r.getId();
  out.tenantId = r.getTenantId();
  out.name = str(r.getName());
  for (auto o : r.getRights()) out.rights.push_back({str(o.getObject()), fromWire(o.getRights())});
  out.crossTenant = r.getCrossTenant();
  for (auto m : r.getMembers()) out.members.push_back({m.getTenantId(), m.getUserId()});
  return out;
}

PolicyInfo fromWire(wire::PolicyInfo::Reader p) {
  PolicyInfo out;
  out.publisher = p.getPublisher();
  out.name = str(p.getName());
  out.designated = p.getDesignated();
  out.global = p.getGlobal();
  out.userId = p.getUserId();
  for (auto sc : p.getScope()) {
    ObjectScope o;
    o.object = str(sc.getObject());
    o.rowFilter = str(sc.getRowFilter());
    for (auto f : sc.getFields()) o.fields.push_back(str(f));
    out.scope.push_back(std::move(o));
  }
  out.expiresAt = p.getExpiresAt();
  out.createdAt = p.getCreatedAt();
  out.modifiedAt = p.getModifiedAt();
  return out;
}
void toWire(const PolicyInfo& p, wire::PolicyInfo::Builder out) {
  out.setPublisher(p.publisher);
  out.setName(txt(p.name));
  out.setDesignated(p.designated);
  out.setGlobal(p.global);
  out.setUserId(p.userId);
  auto scope = out.initScope(static_cast<unsigned>(p.scope.size()));
  for (unsigned i = 0; i < p.scope.size(); ++i) {
    const ObjectScope& o = p.scope[i];
    scope[i].setObject(txt(o.object));
    scope[i].setRowFilter(txt(o.rowFilter));
    auto fields = scope[i].initFields(static_cast<unsigned>(o.fields.size()));
    for (unsigned j = 0; j < o.fields.size(); ++j) fields.set(j, txt(o.fields[j]));
  }
  out.setExpiresAt(p.expiresAt);
  out.setCreatedAt(p.createdAt);
  out.setModifiedAt(p.modifiedAt);
}

ApiKeyInfo fromWire(wire::ApiKeyInfo::Reader k) {
  ApiKeyInfo out;
  out.keyId = str(k.getKeyId());
  out.userId = k.getUserId();
  out.createdAt = k.getCreatedAt();
  out.revoked = k.getRevoked();
  return out;
}

AuditEntry fromWire(wire::AuditEntry::Reader e) {
  AuditEntry out;
  out.time = e.getTime();
  out.callerTenant = e.getCallerTenant();
  out.callerUser = e.getCallerUser();
  out.principal = e.getPrincipal();
  out.targetTenant = e.getTargetTenant();
  out.api = str(e.getApi());
  out.object = str(e.getObject());
  out.recordId = e.getRecordId();
  out.outcome = str(e.getOutcome());
  out.detail = str(e.getDetail());
  return out;
}

UsageInfo fromWire(wire::UsageInfo::Reader u) {
  UsageInfo out;
  out.tenantId = u.getTenantId();
  out.records = u.getRecords();
  out.bytes = u.getBytes();
  for (auto c : u.getCalls()) out.calls.push_back({str(c.getApi()), c.getCalls()});
  out.servedToOthers = u.getServedToOthers();
  out.consumedFromOthers = u.getConsumedFromOthers();
  return out;
}

Effect fromWire(wire::Effect e) { return e == wire::Effect::DENY ? Effect::Deny : Effect::Allow; }
wire::Effect toWire(Effect e) { return e == Effect::Deny ? wire::Effect::DENY : wire::Effect::ALLOW; }

PermissionSetInfo fromWire(wire::PermissionSetInfo::Reader in) {
  PermissionSetInfo out;
  out.name = str(in.getName());
  out.systemScope = in.getSystemScope();
  out.allTenants = in.getAllTenants();
  for (auto t : in.getTenants()) out.tenants.push_back(t);
  for (auto u : in.getUsers()) out.users.push_back(u);
  for (auto p : in.getPolicies()) {
    out.policies.push_back({fromWire(p.getEffect()), str(p.getResourceTypeRegex()),
                            str(p.getApiNameRegex()), str(p.getMethodRegex())});
  }
  return out;
}
void toWire(const PermissionSetInfo& in, wire::PermissionSetInfo::Builder out) {
  out.setName(txt(in.name));
  out.setSystemScope(in.systemScope);
  out.setAllTenants(in.allTenants);
  auto tenants = out.initTenants(static_cast<unsigned>(in.tenants.size()));
  for (unsigned i = 0; i < in.tenants.size(); ++i) tenants.set(i, in.tenants[i]);
  auto users = out.initUsers(static_cast<unsigned>(in.users.size()));
  for (unsigned i = 0; i < in.users.size(); ++i) users.set(i, in.users[i]);
  auto policies = out.initPolicies(static_cast<unsigned>(in.policies.size()));
  for (unsigned i = 0; i < in.policies.size(); ++i) {
    const PermissionPolicy& p = in.policies[i];
    policies[i].setEffect(toWire(p.effect));
    policies[i].setResourceTypeRegex(txt(p.resourceTypeRegex));
    policies[i].setApiNameRegex(txt(p.apiNameRegex));
    policies[i].setMethodRegex(txt(p.methodRegex));
  }
}

void toWire(const ExplainRequest& in, wire::ExplainRequest::Builder out) {
  out.setUserId(in.userId);
  out.setTenantId(in.tenantId);
  out.setApi(txt(in.api));
  out.setObject(txt(in.object));
  // The drafts are optional: absent pointers, not empty structs.
  if (in.draftPolicy) toWire(*in.draftPolicy, out.initDraftPolicy());
  if (in.draftPermissionSet) toWire(*in.draftPermissionSet, out.initDraftPermissionSet());
  out.setRemovePermissionSet(txt(in.removePermissionSet));
}

Explanation fromWire(wire::Explanation::Reader in) {
  Explanation out;
  out.allowed = in.getAllowed();
  out.code = str(in.getCode());
  out.message = str(in.getMessage());
  out.contextPath = str(in.getContextPath());
  out.policy = str(in.getPolicy());
  out.principal = in.getPrincipal();
  for (auto c : in.getPermissionSets()) {
    ConsideredSet set;
    set.name = str(c.getName());
    set.forUser = c.getForUser();
    for (auto n : c.getMatchedAllow()) set.matchedAllow.push_back(n);
    for (auto n : c.getMatchedDeny()) set.matchedDeny.push_back(n);
    out.permissionSets.push_back(std::move(set));
  }
  out.decidingSet = str(in.getDecidingSet());
  out.decidingPolicy = in.getDecidingPolicy();
  out.roleRights = str(in.getRoleRights());
  out.scope = str(in.getScope());
  for (auto step : in.getSteps()) out.steps.push_back(str(step));
  return out;
}

// ---- the loop thread's state ---------------------------------------------------------------

class IgnoreErrors final : public kj::TaskSet::ErrorHandler {
 public:
  // Every task ends in its own handler; anything reaching here has nobody to tell.
  void taskFailed(kj::Exception&&) override {}
};

}  // namespace

// Owned by the loop thread; destroyed there, members in reverse order (tasks first, so that
// no promise outlives the capabilities and connection it uses).
struct LoopState {
  explicit LoopState(kj::AsyncIoContext& io) : io(io), tasks(errors) {}

  // The Records capability a call goes through: 0 = the caller's own tenant.
  wire::Records::Client& recordsFor(uint64_t contextId) {
    if (contextId == 0) return records;
    auto it = contexts.find(contextId);
    if (it == contexts.end()) {
      throw LocalError{ErrorCode::Internal, "tenant context is no longer registered"};
    }
    return it->second;
  }

  kj::AsyncIoContext& io;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  wire::Session::Client session = nullptr;
  wire::Records::Client records = nullptr;  // pipelined session.records() without context
  wire::Admin::Client admin = nullptr;      // pipelined session.admin()
  std::unordered_map<uint64_t, wire::Records::Client> contexts;  // TenantContext handles
  uint64_t nextContextId = 1;
  IgnoreErrors errors;
  kj::TaskSet tasks;
};

namespace {

// A type-erased, move-only job for the loop thread.
class LoopJob {
 public:
  virtual ~LoopJob() = default;
  virtual void run(LoopState& s) = 0;
};

template <typename F>
class LoopJobImpl final : public LoopJob {
 public:
  explicit LoopJobImpl(F f) : f_(std::move(f)) {}
  void run(LoopState& s) override { f_(s); }

 private:
  F f_;
};

// The caller's side of one call. Set once; if it is destroyed unset (the job was dropped
// at shutdown, or its promise was cancelled with the loop), the caller gets Unavailable.
template <typename T>
class Pending {
 public:
  std::future<T> future() { return promise_.get_future(); }
  void set(T value) {
    if (done_) return;
    done_ = true;
    promise_.set_value(std::move(value));
  }
  ~Pending() {
    if (!done_) promise_.set_value(T(ErrorCode::Unavailable, "client closed"));
  }

 private:
  std::promise<T> promise_;
  bool done_ = false;
};

template <typename T>
std::future<T> ready(T value) {
  std::promise<T> p;
  p.set_value(std::move(value));
  return p.get_future();
}

}  // namespace

// ---- ClientCore ------------------------------------------------------------------------------

class ClientCore {
 public:
  ClientCore() = default;
  ~ClientCore() { shutdown(); }

  // Starts the loop thread and returns once it accepts jobs.
  void start() {
    std::promise<void> started;
    auto f = started.get_future();
    thread_ = std::thread([this, s = std::move(started)]() mutable { threadMain(std::move(s)); });
    f.wait();
  }

  // Any thread. Queues `f(LoopState&)` to run on the loop. Returns false, destroying `f`
  // on this thread, when the loop is not running.
  template <typename F>
  bool post(F f) {
    auto job = std::make_unique<LoopJobImpl<F>>(std::move(f));
    std::lock_guard<std::mutex> lock(mu_);
    if (!accepting_) return false;
    queue_.push_back(std::move(job));
    if (wake_) {
      wake_->fulfill();
      wake_ = nullptr;
    }
    return true;
  }

  // Any thread. Runs `fn(LoopState&) -> kj::Promise<T>` on the loop and delivers its
  // result (or its failure, mapped) through the returned future.
  template <typename T, typename Fn>
  std::future<T> call(Fn fn) {
    auto pending = std::make_shared<Pending<T>>();
    auto future = pending->future();
    post([pending, fn = std::move(fn)](LoopState& s) mutable {
      kj::Promise<T> promise = nullptr;
      try {
        promise = fn(s);
      } catch (const LocalError& e) {
        pending->set(T(e.code, e.message));
        return;
      } catch (const kj::Exception& e) {
        auto p = fromKj(e);
        pending->set(T(p.code, p.message));
        return;
      } catch (const std::exception& e) {
        pending->set(T(ErrorCode::Internal, e.what()));
        return;
      }
      s.tasks.add(promise.then(
          [pending](T&& value) { pending->set(std::move(value)); },
          [pending](kj::Exception&& e) {
            auto p = fromKj(e);
            pending->set(T(p.code, p.message));
          }));
    });
    return future;
  }

  // Any thread but the loop's. Stops the loop and joins it. Idempotent.
  void shutdown() {
    std::deque<std::unique_ptr<LoopJob>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      accepting_ = false;
      stop_ = true;
      if (wake_) {
        wake_->fulfill();
        wake_ = nullptr;
      }
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    dropped.swap(queue_);  // destroyed after the lock: their Pendings answer Unavailable
  }

  uint64_t tenantId = 0;
  UserInfo user;  // set by connect before the Client is handed out; read-only afterwards

 private:
  void threadMain(std::promise<void> started) {
    try {
      auto io = kj::setupAsyncIo();
      {
        LoopState state(io);
        {
          std::lock_guard<std::mutex> lock(mu_);
          accepting_ = !stop_;
        }
        started.set_value();
        pump(state).wait(io.waitScope);
        // `state` is destroyed here, on this thread: pending calls are cancelled and their
        // callers get Unavailable.
      }
    } catch (...) {
      // setupAsyncIo failed, or the loop broke: refuse further work. `started` may already
      // be set; the second set throws, which we ignore.
      std::lock_guard<std::mutex> lock(mu_);
      accepting_ = false;
      try {
        started.set_value();
      } catch (...) {
      }
    }
  }

  // Runs queued jobs, then sleeps until post() or shutdown() wakes it. Waking always goes
  // through the cross-thread fulfiller (never evalLater), so the loop polls network I/O
  // between batches even when jobs arrive without pause.
  kj::Promise<void> pump(LoopState& s) {
    std::deque<std::unique_ptr<LoopJob>> jobs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs.swap(queue_);
    }
    for (auto& job : jobs) {
      try {
        job->run(s);
      } catch (...) {
        // A job's own handlers catch everything; nothing may stop the loop.
      }
    }
    jobs.clear();  // runs Pending destructors of jobs that answered synchronously
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return kj::READY_NOW;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    if (!queue_.empty()) {
      paf.fulfiller->fulfill();
    } else {
      wake_ = kj::mv(paf.fulfiller);
    }
    return paf.promise.then([this, &s]() { return pump(s); });
  }

  std::mutex mu_;
  std::deque<std::unique_ptr<LoopJob>> queue_;            // guarded by mu_
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;   // guarded by mu_; null if awake
  bool accepting_ = false;                                // guarded by mu_
  bool stop_ = false;                                     // guarded by mu_
  std::thread thread_;
};

// Keeps a TenantContext's capability registered on the loop while any copy exists.
class ContextHandle {
 public:
  ContextHandle(std::shared_ptr<ClientCore> core, uint64_t id)
      : core_(std::move(core)), id_(id) {}
  ~ContextHandle() {
    uint64_t id = id_;
    core_->post([id](LoopState& s) { s.contexts.erase(id); });
  }
  ClientCore* core() const { return core_.get(); }
  uint64_t id() const { return id_; }

 private:
  std::shared_ptr<ClientCore> core_;
  uint64_t id_;
};

// ---- connect / lifetime -----------------------------------------------------------------------

Client::Client(std::shared_ptr<ClientCore> core) : core_(std::move(core)) {}

Client::~Client() { core_->shutdown(); }

const UserInfo& Client::user() const { return core_->user; }

std::unique_ptr<Client> Client::connect(const std::string& address, uint64_t tenantId,
                                        const std::string& apiKey) {
  std::string bad = internal::checkAddress(address);
  if (!bad.empty()) throw Error(ErrorCode::InvalidArgument, bad);

  auto core = std::make_shared<ClientCore>();
  core->start();
  auto future = core->call<Outcome<UserInfo>>([address, tenantId, apiKey](LoopState& s) {
    kj::String addr = kj::str(address.c_str());
    auto connected =
        s.io.provider->getNetwork()
            .parseAddress(addr)
            .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); })
            .then([](kj::Own<kj::AsyncIoStream> stream) { return stream; },
                  [address](kj::Exception&& e) -> kj::Own<kj::AsyncIoStream> {
                    // Whatever went wrong before a connection existed, the server is
                    // unreachable from here.
                    kj::throwFatalException(kj::Exception(
                        kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                        kj::str("cannot connect to ", address.c_str(), ": ",
                                e.getDescription())));
                  });
    auto login = connected.then([&s, tenantId, apiKey](kj::Own<kj::AsyncIoStream> stream) {
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
    auto timeout = s.io.provider->getTimer().afterDelay(kConnectTimeout).then(
        [address]() -> kj::Promise<Outcome<UserInfo>> {
          return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                               kj::str("timed out connecting to ", address.c_str()));
        });
    return login.exclusiveJoin(kj::mv(timeout));
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
  auto future = core->call<Outcome<uint64_t>>([tenantId](LoopState& s) {
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

// ---- record calls -----------------------------------------------------------------------------

namespace {

// The loop-side id of a context's Records capability. False when the context belongs to
// another client.
bool contextIdFor(const ClientCore* core, const std::shared_ptr<ContextHandle>& handle,
                  uint64_t* id) {
  if (!handle || handle->core() != core) return false;
  *id = handle->id();
  return true;
}

Result wrongClient() {
  return Result(ErrorCode::InvalidArgument, "tenant context was made by another client");
}

Result badId(const RecordId& id) {
  return Result(ErrorCode::InvalidArgument, "record id '" + id.text() + "' is not a valid id");
}

}  // namespace

// Declares `contextId` for a TenantContext, or returns InvalidArgument from the caller.
#define COTENANT_CONTEXT_ID(ctx)                                    \
  uint64_t contextId = 0;                                           \
  if (!contextIdFor(core_.get(), (ctx).handle_, &contextId)) {      \
    return ready(wrongClient());                                    \
  }

namespace {

std::future<Result> addRecordImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                  const Parameters& params) {
  return core.call<Result>([contextId, object, params](LoopState& s) {
    auto req = s.recordsFor(contextId).addRecordRequest();
    req.setObject(txt(object));
    toWire(params, req.initFields(static_cast<unsigned>(params.size())));
    return req.send().then([](capnp::Response<wire::Records::AddRecordResults>&& r) {
      Result out;
      Record rec = fromWire(r.getRecord(), false);
      out.mutableIds().push_back(rec.id());
      out.mutableRecords().push_back(std::move(rec));
      return out;
    });
  });
}

std::future<Result> addRecordsImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                   const std::vector<Parameters>& records) {
  return core.call<Result>([contextId, object, records](LoopState& s) {
    auto req = s.recordsFor(contextId).addRecordsRequest();
    req.setObject(txt(object));
    auto list = req.initRecords(static_cast<unsigned>(records.size()));
    for (unsigned i = 0; i < records.size(); ++i) {
      toWire(records[i], list.init(i, static_cast<unsigned>(records[i].size())));
    }
    return req.send().then([](capnp::Response<wire::Records::AddRecordsResults>&& r) {
      Result out;
      for (uint64_t id : r.getIds()) out.mutableIds().push_back(id);
      return out;
    });
  });
}

std::future<Result> updateRecordImpl(ClientCore& core, uint64_t contextId,
                                     const std::string& object, uint64_t id,
                                     const Parameters& params, uint64_t expectedVersion) {
  return core.call<Result>([contextId, object, id, params, expectedVersion](LoopState& s) {
    auto req = s.recordsFor(contextId).updateRecordRequest();
    req.setObject(txt(object));
    req.setId(id);
    toWire(params, req.initFields(static_cast<unsigned>(params.size())));
    req.setExpectedVersion(expectedVersion);
    return req.send().then([](capnp::Response<wire::Records::UpdateRecordResults>&& r) {
      Result out;
      out.mutableRecords().push_back(fromWire(r.getRecord(), false));
      return out;
    });
  });
}

std::future<Result> deleteRecordImpl(ClientCore& core, uint64_t contextId,
                                     const std::string& object, uint64_t id,
                                     uint64_t expectedVersion) {
  return core.call<Result>([contextId, object, id, expectedVersion](LoopState& s) {
    auto req = s.recordsFor(contextId).deleteRecordRequest();
    req.setObject(txt(object));
    req.setId(id);
    req.setExpectedVersion(expectedVersion);
    return req.send().then(
        [](capnp::Response<wire::Records::DeleteRecordResults>&&) { return Result(); });
  });
}

std::future<Result> getRecordImpl(ClientCore& core, uint64_t contextId, const std::string& object,
                                  const std::string& fields, uint64_t id, bool permissions) {
  std::vector<std::string> names = internal::splitFieldList(fields);
  return core.call<Result>([contextId, object, names, id, permissions](LoopState& s) {
    auto req = s.recordsFor(contextId).getRecordRequest();
    req.setObject(txt(object));
    req.setId(id);
    auto list = req.initFields(static_cast<unsigned>(names.size()));
    for (unsigned i = 0; i < names.size(); ++i) list.set(i, txt(names[i]));
    req.setRetrievePermissions(permissions);
    return req.send().then([permissions](capnp::Response<wire::Records::GetRecordResults>&& r) {
      Result out;
      out.mutableRecords().push_back(fromWire(r.getRecord(), permissions));
      return out;
    });
  });
}

std::future<Result> searchImpl(ClientCore& core, uint64_t contextId, const SearchQuery& q) {
  auto desc1 = internal::parseSortDescending(q.sortOrder);
  if (!desc1) {
    return ready(Result(ErrorCode::InvalidArgument,
                        "sort order '" + q.sortOrder + "' is not asc or desc"));
  }
  auto desc2 = internal::parseSortDescending(q.sortOrder2);
  if (!desc2) {
    return ready(Result(ErrorCode::InvalidArgument,
                        "sort order '" + q.sortOrder2 + "' is not asc or desc"));
  }
  std::vector<std::string> names = internal::splitFieldList(q.fields);
  return core.call<Result>([contextId, q, names, d1 = *desc1, d2 = *desc2](LoopState& s) {
    auto req = s.recordsFor(contextId).searchRecordsRequest();
    auto r = req.initRequest();
    r.setObject(txt(q.object));
    auto list = r.initFields(static_cast<unsigned>(names.size()));
    for (unsigned i = 0; i < names.size(); ++i) list.set(i, txt(names[i]));
    r.setCriteria(txt(q.criteria));
    r.setSortBy(txt(q.sortBy));
    r.setSortOrder(d1 ? wire::SortOrder::DESCENDING : wire::SortOrder::ASCENDING);
    r.setSortBy2(txt(q.sortBy2));
    r.setSortOrder2(d2 ? wire::SortOrder::DESCENDING : wire::SortOrder::ASCENDING);
    r.setOffset(q.offset);
    r.setNumberOfRows(q.numberOfRows);
    r.setContinuation(capnp::Data::Reader(
        reinterpret_cast<const kj::byte*>(q.continuation.data()), q.continuation.size()));
    r.setRetrievePermissions(q.retrievePermissions);
    bool perms = q.retrievePermissions;
    return req.send().then([perms](capnp::Response<wire::Records::SearchRecordsResults>&& resp) {
      Result out;
      auto page = resp.getResult();
      for (auto rec : page.getRecords()) out.mutableRecords().push_back(fromWire(rec, perms));
      out.setComplete(page.getComplete());
      auto token = page.getContinuation();
      out.setContinuation(std::string(reinterpret_cast<const char*>(token.begin()), token.size()));
      return out;
    });
  });
}

SearchQuery detailedQuery(const std::string& object, const std::string& fields,
                          const std::string& criteria, const std::string& sortBy,
                          const std::string& sortOrder, const std::string& sortBy2,
                          const std::string& sortOrder2, uint32_t offset, uint32_t rows,
                          const Parameters& params) {
  SearchQuery q;
  q.object = object;
  q.fields = fields;
  q.criteria = criteria;
  q.sortBy = sortBy;
  q.sortOrder = sortOrder;
  q.sortBy2 = sortBy2;
  q.sortOrder2 = sortOrder2;
  q.offset = offset;
  q.numberOfRows = rows;
  q.retrievePermissions = params.retrievesRecordPermissions();
  return q;
}

// Negative offsets and row counts cannot be sent (the wire fields are unsigned).
std::optional<Result> checkPaging(int offset, int numberOfRows) {
  if (offset < 0) {
    return Result(ErrorCode::InvalidArgument, "offset must be >= 0, got " + std::to_string(offset));
  }
  if (numberOfRows < 0) {
    return Result(ErrorCode::InvalidArgument,
                  "numberOfRows must be >= 0, got " + std::to_string(numberOfRows));
  }
  return std::nullopt;
}

}  // namespace

std::future<Result> Client::addRecordAsync(const std::string& object, const Parameters& params) {
  return addRecordImpl(*core_, 0, object, params);
}
std::future<Result> Client::addRecordAsync(const std::string& object, const Parameters& params,
                                           const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx);
  return addRecordImpl(*core_, contextId, object, params);
}
Result Client::addRecord(const std::string& object, const Parameters& params) {
  return addRecordAsync(object, params).get();
}
Result Client::addRecord(const std::string& object, const Parameters& params,
                         const TenantContext& ctx) {
  return addRecordAsync(object, params, ctx).get();
}

std::future<Result> Client::addRecordsAsync(const std::string& object,
                                            const std::vector<Parameters>& records) {
  return addRecordsImpl(*core_, 0, object, records);
}
std::future<Result> Client::addRecordsAsync(const std::string& object,
                                            const std::vector<Parameters>& records,
                                            const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx);
  return addRecordsImpl(*core_, contextId, object, records);
}
Result Client::addRecords(const std::string& object, const std::vector<Parameters>& records) {
  return addRecordsAsync(object, records).get();
}
Result Client::addRecords(const std::string& object, const std::vector<Parameters>& records,
                          const TenantContext& ctx) {
  return addRecordsAsync(object, records, ctx).get();
}

std::future<Result> Client::updateRecordAsync(const std::string& object, RecordId id,
                                              const Parameters& params,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  return updateRecordImpl(*core_, 0, object, id.value(), params, expectedVersion);
}
std::future<Result> Client::updateRecordAsync(const std::string& object, RecordId id,
                                              const Parameters& params, const TenantContext& ctx,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  COTENANT_CONTEXT_ID(ctx);
  return updateRecordImpl(*core_, contextId, object, id.value(), params, expectedVersion);
}
Result Client::updateRecord(const std::string& object, RecordId id, const Parameters& params,
                            uint64_t expectedVersion) {
  return updateRecordAsync(object, id, params, expectedVersion).get();
}
Result Client::updateRecord(const std::string& object, RecordId id, const Parameters& params,
                            const TenantContext& ctx, uint64_t expectedVersion) {
  return updateRecordAsync(object, id, params, ctx, expectedVersion).get();
}

std::future<Result> Client::deleteRecordAsync(const std::string& object, RecordId id,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  return deleteRecordImpl(*core_, 0, object, id.value(), expectedVersion);
}
std::future<Result> Client::deleteRecordAsync(const std::string& object, RecordId id,
                                              const TenantContext& ctx,
                                              uint64_t expectedVersion) {
  if (!id.valid()) return ready(badId(id));
  COTENANT_CONTEXT_ID(ctx);
  return deleteRecordImpl(*core_, contextId, object, id.value(), expectedVersion);
}
Result Client::deleteRecord(const std::string& object, RecordId id, uint64_t expectedVersion) {
  return deleteRecordAsync(object, id, expectedVersion).get();
}
Result Client::deleteRecord(const std::string& object, RecordId id, const TenantContext& ctx,
                            uint64_t expectedVersion) {
  return deleteRecordAsync(object, id, ctx, expectedVersion).get();
}

std::future<Result> Client::getRecordAsync(const std::string& object, const std::string& fields,
                                           RecordId id, const Parameters& params) {
  if (!id.valid()) return ready(badId(id));
  return getRecordImpl(*core_, 0, object, fields, id.value(),
                       params.retrievesRecordPermissions());
}
std::future<Result> Client::getRecordAsync(const std::string& object, const std::string& fields,
                                           RecordId id, const TenantContext& ctx,
                                           const Parameters& params) {
  if (!id.valid()) return ready(badId(id));
  COTENANT_CONTEXT_ID(ctx);
  return getRecordImpl(*core_, contextId, object, fields, id.value(),
                       params.retrievesRecordPermissions());
}
Result Client::getRecord(const std::string& object, const std::string& fields, RecordId id,
                         const Parameters& params) {
  return getRecordAsync(object, fields, id, params).get();
}
Result Client::getRecord(const std::string& object, const std::string& fields, RecordId id,
                         const TenantContext& ctx, const Parameters& params) {
  return getRecordAsync(object, fields, id, ctx, params).get();
}

Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const Parameters& params) {
  return search(detailedQuery(object, fields, criteria, "", "asc", "", "asc", 0, 0, params));
}
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const TenantContext& ctx,
                             const Parameters& params) {
  return search(detailedQuery(object, fields, criteria, "", "asc", "", "asc", 0, 0, params), ctx);
}
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const std::string& sortBy,
                             const std::string& sortOrder, const std::string& sortBy2,
                             const std::string& sortOrder2, int offset, int numberOfRows,
                             const Parameters& params) {
  if (auto bad = checkPaging(offset, numberOfRows)) return *bad;
  return search(detailedQuery(object, fields, criteria, sortBy, sortOrder, sortBy2, sortOrder2,
                              static_cast<uint32_t>(offset), static_cast<uint32_t>(numberOfRows),
                              params));
}
Result Client::searchRecords(const std::string& object, const std::string& fields,
                             const std::string& criteria, const std::string& sortBy,
                             const std::string& sortOrder, const std::string& sortBy2,
                             const std::string& sortOrder2, int offset, int numberOfRows,
                             const TenantContext& ctx, const Parameters& params) {
  if (auto bad = checkPaging(offset, numberOfRows)) return *bad;
  return search(detailedQuery(object, fields, criteria, sortBy, sortOrder, sortBy2, sortOrder2,
                              static_cast<uint32_t>(offset), static_cast<uint32_t>(numberOfRows),
                              params),
                ctx);
}

std::future<Result> Client::searchAsync(const SearchQuery& query) {
  return searchImpl(*core_, 0, query);
}
std::future<Result> Client::searchAsync(const SearchQuery& query, const TenantContext& ctx) {
  COTENANT_CONTEXT_ID(ctx);
  return searchImpl(*core_, contextId, query);
}
Result Client::search(const SearchQuery& query) { return searchAsync(query).get(); }
Result Client::search(const SearchQuery& query, const TenantContext& ctx) {
  return searchAsync(query, ctx).get();
}

#undef COTENANT_CONTEXT_ID

// ---- session and admin calls -------------------------------------------------------------------

Outcome<UserInfo> Client::whoami() {
  return core_
      ->call<Outcome<UserInfo>>([](LoopState& s) {
        return s.session.whoamiRequest().send().then(
            [](capnp::Response<wire::Session::WhoamiResults>&& r) {
              return Outcome<UserInfo>(fromWire(r.getUser()));
            });
      })
      .get();
}

Outcome<TenantInfo> Client::createTenant(const std::string& name, TenantKind kind,
                                         uint64_t provider) {
  return core_
      ->call<Outcome<TenantInfo>>([name, kind, provider](LoopState& s) {
        auto req = s.admin.createTenantRequest();
        req.setName(txt(name));
        req.setKind(toWire(kind));
        req.setProvider(provider);
        return req.send().then([](capnp::Response<wire::Admin::CreateTenantResults>&& r) {
          return Outcome<TenantInfo>(fromWire(r.getTenant()));
        });
      })
      .get();
}

Outcome<std::vector<TenantInfo>> Client::listTenants() {
  using Out = Outcome<std::vector<TenantInfo>>;
  return core_
      ->call<Out>([](LoopState& s) {
        return s.admin.listTenantsRequest().send().then(
            [](capnp::Response<wire::Admin::ListTenantsResults>&& r) {
              std::vector<TenantInfo> out;
              for (auto t : r.getTenants()) out.push_back(fromWire(t));
              return Out(std::move(out));
            });
      })
      .get();
}

Result Client::deleteTenant(uint64_t tenantId) {
  return core_
      ->call<Result>([tenantId](LoopState& s) {
        auto req = s.admin.deleteTenantRequest();
        req.setTenantId(tenantId);
        return req.send().then(
            [](capnp::Response<wire::Admin::DeleteTenantResults>&&) { return Result(); });
      })
      .get();
}

Outcome<ObjectInfo> Client::createObject(uint64_t tenantId, const std::string& name,
                                         const std::vector<FieldDef>& fields) {
  return core_
      ->call<Outcome<ObjectInfo>>([tenantId, name, fields](LoopState& s) {
        auto req = s.admin.createObjectRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        auto list = req.initFields(static_cast<unsigned>(fields.size()));
        for (unsigned i = 0; i < fields.size(); ++i) {
          list[i].setName(txt(fields[i].name));
          list[i].setType(toWire(fields[i].type));
          list[i].setRequired(fields[i].required);
          list[i].setIndexed(fields[i].indexed);
        }
        return req.send().then([](capnp::Response<wire::Admin::CreateObjectResults>&& r) {
          return Outcome<ObjectInfo>(fromWire(r.getObject()));
        });
      })
      .get();
}

Outcome<std::vector<ObjectInfo>> Client::listObjects(uint64_t tenantId) {
  using Out = Outcome<std::vector<ObjectInfo>>;
  return core_
      ->call<Out>([tenantId](LoopState& s) {
        auto req = s.admin.listObjectsRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::ListObjectsResults>&& r) {
          std::vector<ObjectInfo> out;
          for (auto o : r.getObjects()) out.push_back(fromWire(o));
          return Out(std::move(out));
        });
      })
      .get();
}

Outcome<NewUser> Client::createUser(uint64_t tenantId, const std::string& name,
                                    AdminLevel level) {
  return core_
      ->call<Outcome<NewUser>>([tenantId, name, level](LoopState& s) {
        auto req = s.admin.createUserRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        req.setLevel(toWire(level));
        return req.send().then([](capnp::Response<wire::Admin::CreateUserResults>&& r) {
          NewUser out;
          out.user = fromWire(r.getUser());
          out.apiKey = str(r.getApiKey());
          return Outcome<NewUser>(std::move(out));
        });
      })
      .get();
}

Outcome<std::vector<UserInfo>> Client::listUsers(uint64_t tenantId) {
  using Out = Outcome<std::vector<UserInfo>>;
  return core_
      ->call<Out>([tenantId](LoopState& s) {
        auto req = s.admin.listUsersRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::ListUsersResults>&& r) {
          std::vector<UserInfo> out;
          for (auto u : r.getUsers()) out.push_back(fromWire(u));
          return Out(std::move(out));
        });
      })
      .get();
}

Result Client::deleteUser(uint64_t tenantId, uint64_t userId) {
  return core_
      ->call<Result>([tenantId, userId](LoopState& s) {
        auto req = s.admin.deleteUserRequest();
        req.setTenantId(tenantId);
        req.setUserId(userId);
        return req.send().then(
            [](capnp::Response<wire::Admin::DeleteUserResults>&&) { return Result(); });
      })
      .get();
}

// ---- API keys ---------------------------------------------------------------------------------

Outcome<NewApiKey> Client::createApiKey(uint64_t tenantId, uint64_t userId) {
  return core_
      ->call<Outcome<NewApiKey>>([tenantId, userId](LoopState& s) {
        auto req = s.admin.createApiKeyRequest();
        req.setTenantId(tenantId);
        req.setUserId(userId);
        return req.send().then([](capnp::Response<wire::Admin::CreateApiKeyResults>&& r) {
          NewApiKey out;
          out.key = fromWire(r.getKey());
          out.apiKey = str(r.getApiKey());
          return Outcome<NewApiKey>(std::move(out));
        });
      })
      .get();
}

Result Client::revokeApiKey(uint64_t tenantId, const std::string& keyId) {
  return core_
      ->call<Result>([tenantId, keyId](LoopState& s) {
        auto req = s.admin.revokeApiKeyRequest();
        req.setTenantId(tenantId);
        req.setKeyId(txt(keyId));
        return req.send().then(
            [](capnp::Response<wire::Admin::RevokeApiKeyResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<ApiKeyInfo>> Client::listApiKeys(uint64_t tenantId, uint64_t userId) {
  using Out = Outcome<std::vector<ApiKeyInfo>>;
  return core_
      ->call<Out>([tenantId, userId](LoopState& s) {
        auto req = s.admin.listApiKeysRequest();
        req.setTenantId(tenantId);
        req.setUserId(userId);
        return req.send().then([](capnp::Response<wire::Admin::ListApiKeysResults>&& r) {
          std::vector<ApiKeyInfo> out;
          for (auto k : r.getKeys()) out.push_back(fromWire(k));
          return Out(std::move(out));
        });
      })
      .get();
}

// ---- roles ------------------------------------------------------------------------------------

Outcome<RoleInfo> Client::createRole(uint64_t tenantId, const std::string& name,
                                     const std::vector<ObjectRights>& rights, bool crossTenant) {
  return core_
      ->call<Outcome<RoleInfo>>([tenantId, name, rights, crossTenant](LoopState& s) {
        auto req = s.admin.createRoleRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        toWire(rights, req.initRights(static_cast<unsigned>(rights.size())));
        req.setCrossTenant(crossTenant);
        return req.send().then([](capnp::Response<wire::Admin::CreateRoleResults>&& r) {
          return Outcome<RoleInfo>(fromWire(r.getRole()));
        });
      })
      .get();
}

Outcome<RoleInfo> Client::updateRole(uint64_t tenantId, const std::string& name,
                                     const std::vector<ObjectRights>& rights, bool crossTenant) {
  return core_
      ->call<Outcome<RoleInfo>>([tenantId, name, rights, crossTenant](LoopState& s) {
        auto req = s.admin.updateRoleRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        toWire(rights, req.initRights(static_cast<unsigned>(rights.size())));
        req.setCrossTenant(crossTenant);
        return req.send().then([](capnp::Response<wire::Admin::UpdateRoleResults>&& r) {
          return Outcome<RoleInfo>(fromWire(r.getRole()));
        });
      })
      .get();
}

Result Client::deleteRole(uint64_t tenantId, const std::string& name) {
  return core_
      ->call<Result>([tenantId, name](LoopState& s) {
        auto req = s.admin.deleteRoleRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        return req.send().then(
            [](capnp::Response<wire::Admin::DeleteRoleResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<RoleInfo>> Client::listRoles(uint64_t tenantId) {
  using Out = Outcome<std::vector<RoleInfo>>;
  return core_
      ->call<Out>([tenantId](LoopState& s) {
        auto req = s.admin.listRolesRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::ListRolesResults>&& r) {
          std::vector<RoleInfo> out;
          for (auto role : r.getRoles()) out.push_back(fromWire(role));
          return Out(std::move(out));
        });
      })
      .get();
}

Result Client::addRoleMember(uint64_t tenantId, const std::string& role, uint64_t memberTenant,
                             uint64_t userId) {
  return core_
      ->call<Result>([tenantId, role, memberTenant, userId](LoopState& s) {
        auto req = s.admin.addRoleMemberRequest();
        req.setTenantId(tenantId);
        req.setRole(txt(role));
        req.setMemberTenant(memberTenant);
        req.setUserId(userId);
        return req.send().then(
            [](capnp::Response<wire::Admin::AddRoleMemberResults>&&) { return Result(); });
      })
      .get();
}

Result Client::removeRoleMember(uint64_t tenantId, const std::string& role,
                                uint64_t memberTenant, uint64_t userId) {
  return core_
      ->call<Result>([tenantId, role, memberTenant, userId](LoopState& s) {
        auto req = s.admin.removeRoleMemberRequest();
        req.setTenantId(tenantId);
        req.setRole(txt(role));
        req.setMemberTenant(memberTenant);
        req.setUserId(userId);
        return req.send().then(
            [](capnp::Response<wire::Admin::RemoveRoleMemberResults>&&) { return Result(); });
      })
      .get();
}

// ---- data-sharing policies ----------------------------------------------------------------------

Outcome<PolicyInfo> Client::createPolicy(uint64_t tenantId, const PolicyInfo& policy) {
  return core_
      ->call<Outcome<PolicyInfo>>([tenantId, policy](LoopState& s) {
        auto req = s.admin.createPolicyRequest();
        req.setTenantId(tenantId);
        toWire(policy, req.initPolicy());
        return req.send().then([](capnp::Response<wire::Admin::CreatePolicyResults>&& r) {
          return Outcome<PolicyInfo>(fromWire(r.getPolicy()));
        });
      })
      .get();
}

Outcome<PolicyInfo> Client::updatePolicy(uint64_t tenantId, const PolicyInfo& policy) {
  return core_
      ->call<Outcome<PolicyInfo>>([tenantId, policy](LoopState& s) {
        auto req = s.admin.updatePolicyRequest();
        req.setTenantId(tenantId);
        toWire(policy, req.initPolicy());
        return req.send().then([](capnp::Response<wire::Admin::UpdatePolicyResults>&& r) {
          return Outcome<PolicyInfo>(fromWire(r.getPolicy()));
        });
      })
      .get();
}

Result Client::deletePolicy(uint64_t tenantId, const std::string& name) {
  return core_
      ->call<Result>([tenantId, name](LoopState& s) {
        auto req = s.admin.deletePolicyRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        return req.send().then(
            [](capnp::Response<wire::Admin::DeletePolicyResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<PolicyInfo>> Client::listPolicies(uint64_t publishedBy, uint64_t designating) {
  using Out = Outcome<std::vector<PolicyInfo>>;
  if ((publishedBy == 0) == (designating == 0)) {
    return Out(ErrorCode::InvalidArgument,
               "listPolicies: give exactly one of publishedBy and designating");
  }
  return core_
      ->call<Out>([publishedBy, designating](LoopState& s) {
        auto req = s.admin.listPoliciesRequest();
        req.setPublishedBy(publishedBy);
        req.setDesignating(designating);
        return req.send().then([](capnp::Response<wire::Admin::ListPoliciesResults>&& r) {
          std::vector<PolicyInfo> out;
          for (auto p : r.getPolicies()) out.push_back(fromWire(p));
          return Out(std::move(out));
        });
      })
      .get();
}

// ---- settings, audit, usage ---------------------------------------------------------------------

Result Client::setSetting(const std::string& name, const std::string& value) {
  return core_
      ->call<Result>([name, value](LoopState& s) {
        auto req = s.admin.setSettingRequest();
        req.setName(txt(name));
        req.setValue(txt(value));
        return req.send().then(
            [](capnp::Response<wire::Admin::SetSettingResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<Setting>> Client::listSettings() {
  using Out = Outcome<std::vector<Setting>>;
  return core_
      ->call<Out>([](LoopState& s) {
        return s.admin.listSettingsRequest().send().then(
            [](capnp::Response<wire::Admin::ListSettingsResults>&& r) {
              std::vector<Setting> out;
              for (auto x : r.getSettings()) out.push_back({str(x.getName()), str(x.getValue())});
              return Out(std::move(out));
            });
      })
      .get();
}

Outcome<std::vector<AuditEntry>> Client::queryAudit(const AuditQuery& query) {
  using Out = Outcome<std::vector<AuditEntry>>;
  return core_
      ->call<Out>([query](LoopState& s) {
        auto req = s.admin.queryAuditRequest();
        auto q = req.initQuery();
        q.setTenantId(query.tenantId);
        q.setFrom(query.from);
        q.setTo(query.to);
        q.setCallerTenant(query.callerTenant);
        q.setOutcome(txt(query.outcome));
        q.setLimit(query.limit);
        return req.send().then([](capnp::Response<wire::Admin::QueryAuditResults>&& r) {
          std::vector<AuditEntry> out;
          for (auto e : r.getEntries()) out.push_back(fromWire(e));
          return Out(std::move(out));
        });
      })
      .get();
}

Outcome<UsageInfo> Client::usage(uint64_t tenantId) {
  return core_
      ->call<Outcome<UsageInfo>>([tenantId](LoopState& s) {
        auto req = s.admin.usageRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::UsageResults>&& r) {
          return Outcome<UsageInfo>(fromWire(r.getUsage()));
        });
      })
      .get();
}

// ---- permission sets, explain ---------------------------------------------------------------

Result Client::createPermissionSet(const PermissionSetInfo& set) {
  return core_
      ->call<Result>([set](LoopState& s) {
        auto req = s.admin.createPermissionSetRequest();
        toWire(set, req.initSet());
        return req.send().then(
            [](capnp::Response<wire::Admin::CreatePermissionSetResults>&&) { return Result(); });
      })
      .get();
}

Result Client::updatePermissionSet(const PermissionSetInfo& set) {
  return core_
      ->call<Result>([set](LoopState& s) {
        auto req = s.admin.updatePermissionSetRequest();
        toWire(set, req.initSet());
        return req.send().then(
            [](capnp::Response<wire::Admin::UpdatePermissionSetResults>&&) { return Result(); });
      })
      .get();
}

Result Client::deletePermissionSet(const std::string& name) {
  return core_
      ->call<Result>([name](LoopState& s) {
        auto req = s.admin.deletePermissionSetRequest();
        req.setName(txt(name));
        return req.send().then(
            [](capnp::Response<wire::Admin::DeletePermissionSetResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<PermissionSetInfo>> Client::listPermissionSets() {
  using Out = Outcome<std::vector<PermissionSetInfo>>;
  return core_
      ->call<Out>([](LoopState& s) {
        return s.admin.listPermissionSetsRequest().send().then(
            [](capnp::Response<wire::Admin::ListPermissionSetsResults>&& r) {
              std::vector<PermissionSetInfo> out;
              for (auto set : r.getSets()) out.push_back(fromWire(set));
              return Out(std::move(out));
            });
      })
      .get();
}

Outcome<Explanation> Client::explain(const ExplainRequest& request) {
  if (request.draftPermissionSet && !request.removePermissionSet.empty()) {
    return Outcome<Explanation>(
        ErrorCode::InvalidArgument,
        "explain: give draftPermissionSet or removePermissionSet, not both");
  }
  return core_
      ->call<Outcome<Explanation>>([request](LoopState& s) {
        auto req = s.admin.explainRequest();
        toWire(request, req.initRequest());
        return req.send().then([](capnp::Response<wire::Admin::ExplainResults>&& r) {
          return Outcome<Explanation>(fromWire(r.getExplanation()));
        });
      })
      .get();
}

}  // namespace cotenant
