// The fake server of fake_server.h: in-memory servants of the wire interfaces, and the
// thread that serves them.

#include "fake_server.h"

#include <future>
#include <map>
#include <memory>
#include <vector>

#include <capnp/message.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include "schemas/cotenant.capnp.h"

namespace cotenant {
namespace fake {

namespace {

#define FAKE_FAIL(code, msg) KJ_FAIL_REQUIRE("cotenant:" code ": " msg)

class FakeRecords final : public wire::Records::Server {
 public:
  explicit FakeRecords(std::map<uint64_t, std::string>& store) : store_(store) {}

  kj::Promise<void> addRecord(AddRecordContext context) override {
    auto p = context.getParams();
    if (p.getObject() != "Customers") FAKE_FAIL("NotFound", "no object");
    std::string first;
    for (auto f : p.getFields()) {
      if (f.getName() == "first_name") first = f.getValue().getText().cStr();
    }
    uint64_t id = store_.empty() ? 1 : store_.rbegin()->first + 1;
    store_[id] = first;
    fill(context.getResults().initRecord(), id, false);
    return kj::READY_NOW;
  }

  kj::Promise<void> getRecord(GetRecordContext context) override {
    auto p = context.getParams();
    auto it = store_.find(p.getId());
    if (it == store_.end()) {
      KJ_FAIL_REQUIRE(kj::str("cotenant:NotFound: record ", p.getId(), " not found").cStr());
    }
    fill(context.getResults().initRecord(), it->first, p.getRetrievePermissions());
    return kj::READY_NOW;
  }

  kj::Promise<void> deleteRecord(DeleteRecordContext context) override {
    auto p = context.getParams();
    if (p.getExpectedVersion() > 1) FAKE_FAIL("Conflict", "version moved on");
    if (store_.erase(p.getId()) == 0) FAKE_FAIL("NotFound", "gone");
    return kj::READY_NOW;
  }

  kj::Promise<void> searchRecords(SearchRecordsContext context) override {
    auto req = context.getParams().getRequest();
    auto out = context.getResults().initResult();
    bool second = req.getContinuation().size() > 0;
    auto recs = out.initRecords(1);
    fill(recs[0], second ? 2 : 1, req.getRetrievePermissions());
    out.setComplete(second);
    if (!second) {
      kj::byte token[] = {'p', '2'};
      out.setContinuation(kj::arrayPtr(token, 2));
    }
    return kj::READY_NOW;
  }

 private:
  void fill(wire::Record::Builder r, uint64_t id, bool perms) {
    r.setId(id);
    auto fields = r.initFields(2);
    fields[0].setName("first_name");
    auto it = store_.find(id);
    fields[0].initValue().setText(it == store_.end() ? "?" : it->second.c_str());
    fields[1].setName("age");
    fields[1].initValue().setNull();
    r.setVersion(1);
    r.setCreatedAt(1714564800000000);
    if (perms) {
      r.initPermissions().setCanUpdate(true);
      r.getPermissions().setCanDelete(false);
    }
  }
  std::map<uint64_t, std::string>& store_;
};

// The sharing half of Admin, kept in memory: enough to check that every field crosses the
// wire both ways. The caller is tenant 5.
class FakeAdmin final : public wire::Admin::Server {
 public:
  kj::Promise<void> deleteUser(DeleteUserContext context) override {
    if (context.getParams().getUserId() != 3) FAKE_FAIL("NotFound", "no such user");
    return kj::READY_NOW;
  }

  kj::Promise<void> createApiKey(CreateApiKeyContext context) override {
    auto p = context.getParams();
    std::string id = "k" + std::to_string(keys_.size() + 1);
    keys_.push_back({id, p.getUserId(), false});
    auto k = context.getResults().initKey();
    k.setKeyId(id.c_str());
    k.setUserId(p.getUserId());
    k.setCreatedAt(1714564800000000);
    context.getResults().setApiKey(("ct_" + id + "_secret").c_str());
    return kj::READY_NOW;
  }

  kj::Promise<void> revokeApiKey(RevokeApiKeyContext context) override {
    for (auto& k : keys_) {
      if (k.id == context.getParams().getKeyId().cStr()) {
        k.revoked = true;
        return kj::READY_NOW;
      }
    }
    FAKE_FAIL("NotFound", "no such key");
    return kj::READY_NOW;
  }

  kj::Promise<void> listApiKeys(ListApiKeysContext context) override {
    uint64_t user = context.getParams().getUserId();
    std::vector<const Key*> mine;
    for (const auto& k : keys_) {
      if (k.user == user) mine.push_back(&k);
    }
    auto list = context.getResults().initKeys(static_cast<unsigned>(mine.size()));
    for (unsigned i = 0; i < mine.size(); ++i) {
      list[i].setKeyId(mine[i]->id.c_str());
      list[i].setUserId(mine[i]->user);
      list[i].setRevoked(mine[i]->revoked);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> createRole(CreateRoleContext context) override {
    auto p = context.getParams();
    for (auto& r : roles_) {
      if (r->getRoot<wire::RoleInfo>().getName() == p.getName()) FAKE_FAIL("Conflict", "role name taken");
    }
    roles_.push_back(std::make_unique<capnp::MallocMessageBuilder>());
    auto role = roles_.back()->initRoot<wire::RoleInfo>();
    role.setId(roles_.size());
    role.setTenantId(p.getTenantId() == 0 ? 5 : p.getTenantId());
    role.setName(p.getName());
    role.setRights(p.getRights());
    role.setCrossTenant(p.getCrossTenant());
    auto members = role.initMembers(1);
    members[0].setTenantId(9);
    members[0].setUserId(44);
    context.getResults().setRole(role.asReader());
    return kj::READY_NOW;
  }

  kj::Promise<void> listRoles(ListRolesContext context) override {
    auto list = context.getResults().initRoles(static_cast<unsigned>(roles_.size()));
    for (unsigned i = 0; i < roles_.size(); ++i) {
      list.setWithCaveats(i, roles_[i]->getRoot<wire::RoleInfo>().asReader());
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> addRoleMember(AddRoleMemberContext context) override {
    auto p = context.getParams();
    if (p.getMemberTenant() != 5) FAKE_FAIL("PermissionDenied", "role is not cross-tenant");
    return kj::READY_NOW;
  }

  kj::Promise<void> createPolicy(CreatePolicyContext context) override {
    auto p = context.getParams();
    auto in = p.getPolicy();
    if (!in.getGlobal() && in.getDesignated() == 0) FAKE_FAIL("InvalidArgument", "no designated tenant");
    auto out = context.getResults().initPolicy();
    copyPolicy(in, out);
    out.setPublisher(p.getTenantId() == 0 ? 5 : p.getTenantId());  // set by the server
    out.setCreatedAt(1714564800000000);
    out.setModifiedAt(1714564800000000);
    policy_.setRoot(out.asReader());
    return kj::READY_NOW;
  }

  kj::Promise<void> listPolicies(ListPoliciesContext context) override {
    auto p = context.getParams();
    auto stored = policy_.getRoot<wire::PolicyInfo>();
    bool match = stored.getName().size() > 0 &&
                 (p.getPublishedBy() == stored.getPublisher() ||
                  p.getDesignating() == stored.getDesignated());
    auto list = context.getResults().initPolicies(match ? 1 : 0);
    if (match) list.setWithCaveats(0, stored.asReader());
    return kj::READY_NOW;
  }

  kj::Promise<void> setSetting(SetSettingContext context) override {
    auto p = context.getParams();
    if (p.getName() != "crossTenantRoles") FAKE_FAIL("InvalidArgument", "unknown setting");
    setting_ = p.getValue().cStr();
    return kj::READY_NOW;
  }

  kj::Promise<void> listSettings(ListSettingsContext context) override {
    auto list = context.getResults().initSettings(1);
    list[0].setName("crossTenantRoles");
    list[0].setValue(setting_.c_str());
    return kj::READY_NOW;
  }

  // Answers one entry that echoes the query, so the test sees what crossed the wire.
  kj::Promise<void> queryAudit(QueryAuditContext context) override {
    auto q = context.getParams().getQuery();
    auto e = context.getResults().initEntries(1)[0];
    e.setTime(q.getFrom());
    e.setCallerTenant(q.getCallerTenant());
    e.setCallerUser(3);
    e.setPrincipal(q.getLimit());
    e.setTargetTenant(q.getTenantId());
    e.setApi("getRecord");
    e.setObject("Customers");
    e.setRecordId(static_cast<uint64_t>(q.getTo()));
    e.setOutcome(q.getOutcome());
    e.setDetail("policy share-with-xyz");
    return kj::READY_NOW;
  }

  kj::Promise<void> usage(UsageContext context) override {
    auto u = context.getResults().initUsage();
    u.setTenantId(context.getParams().getTenantId() == 0 ? 5 : context.getParams().getTenantId());
    u.setRecords(12);
    u.setBytes(3400);
    auto calls = u.initCalls(2);
    calls[0].setApi("getRecord");
    calls[0].setCalls(10);
    calls[1].setApi("addRecord");
    calls[1].setCalls(2);
    u.setServedToOthers(7);
    u.setConsumedFromOthers(1);
    return kj::READY_NOW;
  }

  // Permission sets, kept as messages so that list returns exactly what create stored.
  kj::Promise<void> createPermissionSet(CreatePermissionSetContext context) override {
    auto in = context.getParams().getSet();
    if (findSet(in.getName()) != nullptr) FAKE_FAIL("Conflict", "permission set name taken");
    for (auto p : in.getPolicies()) {
      if (p.getResourceTypeRegex() == "(") FAKE_FAIL("InvalidArgument", "bad regex '(': missing )");
    }
    sets_.push_back(std::make_unique<capnp::MallocMessageBuilder>());
    sets_.back()->setRoot(in);
    return kj::READY_NOW;
  }

  kj::Promise<void> updatePermissionSet(UpdatePermissionSetContext context) override {
    auto in = context.getParams().getSet();
    auto* msg = findSet(in.getName());
    if (msg == nullptr) FAKE_FAIL("NotFound", "no permission set of that name");
    msg->setRoot(in);
    return kj::READY_NOW;
  }

  kj::Promise<void> deletePermissionSet(DeletePermissionSetContext context) override {
    auto name = context.getParams().getName();
    for (auto it = sets_.begin(); it != sets_.end(); ++it) {
      if ((*it)->getRoot<wire::PermissionSetInfo>().getName() == name) {
        sets_.erase(it);
        return kj::READY_NOW;
      }
    }
    FAKE_FAIL("NotFound", "no permission set of that name");
    return kj::READY_NOW;
  }

  kj::Promise<void> listPermissionSets(ListPermissionSetsContext context) override {
    auto list = context.getResults().initSets(static_cast<unsigned>(sets_.size()));
    for (unsigned i = 0; i < sets_.size(); ++i) {
      list.setWithCaveats(i, sets_[i]->getRoot<wire::PermissionSetInfo>().asReader());
    }
    return kj::READY_NOW;
  }

  // Answers an explanation built from the request, so the test sees what crossed the wire
  // (including whether the optional drafts were present at all).
  kj::Promise<void> explain(ExplainContext context) override {
    auto q = context.getParams().getRequest();
    if (q.getApi().size() == 0) FAKE_FAIL("InvalidArgument", "no api");
    auto e = context.getResults().initExplanation();
    bool allowed = q.getApi() == "getRecord";
    e.setAllowed(allowed);
    e.setCode(allowed ? "OK" : "PermissionDenied");
    auto message = kj::str("user ", q.getUserId(), " may not ", q.getApi(), " records/",
                           q.getObject(), " in tenant ", q.getTenantId());
    e.setMessage(allowed ? "" : message.cStr());
    e.setContextPath(q.getTenantId() == 0 ? "own" : "policy");
    e.setPrincipal(q.getUserId() + 1000);
    std::vector<std::string> steps;
    if (q.hasDraftPolicy()) {
      auto d = q.getDraftPolicy();
      e.setPolicy(d.getName());
      e.setPrincipal(d.getUserId());
      std::string scope;
      for (auto sc : d.getScope()) {
        scope += std::string(sc.getObject().cStr()) + "|" + sc.getRowFilter().cStr() + "|";
        for (auto f : sc.getFields()) scope += std::string(f.cStr()) + ",";
      }
      e.setScope(scope.c_str());
      steps.push_back("draft policy designating " + std::to_string(d.getDesignated()) +
                      " expiring " + std::to_string(d.getExpiresAt()));
    } else {
      steps.push_back("no draft policy");
    }
    unsigned sets = 1 + (q.hasDraftPermissionSet() ? 1 : 0);
    auto considered = e.initPermissionSets(sets);
    considered[0].setName("allow-all");
    considered[0].setForUser(q.getUserId());
    considered[0].initMatchedAllow(1).set(0, 1);
    if (q.hasDraftPermissionSet()) {
      auto d = q.getDraftPermissionSet();
      std::vector<uint32_t> allow, deny;
      uint32_t n = 0;
      for (auto p : d.getPolicies()) {
        ++n;
        (p.getEffect() == wire::Effect::DENY ? deny : allow).push_back(n);
      }
      considered[1].setName(d.getName());
      considered[1].setForUser(q.getUserId());
      auto a = considered[1].initMatchedAllow(static_cast<unsigned>(allow.size()));
      for (unsigned i = 0; i < allow.size(); ++i) a.set(i, allow[i]);
      auto dn = considered[1].initMatchedDeny(static_cast<unsigned>(deny.size()));
      for (unsigned i = 0; i < deny.size(); ++i) dn.set(i, deny[i]);
      e.setDecidingSet(d.getName());
      e.setDecidingPolicy(deny.empty() ? 0 : deny[0]);
      steps.push_back(std::string("draft set ") + (d.getSystemScope() ? "system" : "user") +
                      (d.getAllTenants() ? " all tenants" : " some tenants") + " tenants=" +
                      std::to_string(d.getTenants().size()) +
                      " users=" + std::to_string(d.getUsers().size()));
    } else {
      e.setDecidingSet("allow-all");
      e.setDecidingPolicy(1);
      steps.push_back("no draft set");
    }
    steps.push_back(std::string("remove '") + q.getRemovePermissionSet().cStr() + "'");
    e.setRoleRights("read,update");
    auto list = e.initSteps(static_cast<unsigned>(steps.size()));
    for (unsigned i = 0; i < steps.size(); ++i) list.set(i, steps[i].c_str());
    return kj::READY_NOW;
  }

 private:
  static void copyPolicy(wire::PolicyInfo::Reader in, wire::PolicyInfo::Builder out) {
    out.setName(in.getName());
    out.setDesignated(in.getDesignated());
    out.setGlobal(in.getGlobal());
    out.setUserId(in.getUserId());
    out.setScope(in.getScope());
    out.setExpiresAt(in.getExpiresAt());
  }

  struct Key {
    std::string id;
    uint64_t user;
    bool revoked;
  };
  capnp::MallocMessageBuilder* findSet(capnp::Text::Reader name) {
    for (auto& m : sets_) {
      if (m->getRoot<wire::PermissionSetInfo>().getName() == name) return m.get();
    }
    return nullptr;
  }

  std::vector<Key> keys_;
  std::vector<std::unique_ptr<capnp::MallocMessageBuilder>> roles_;
  std::vector<std::unique_ptr<capnp::MallocMessageBuilder>> sets_;
  capnp::MallocMessageBuilder policy_;
  std::string setting_ = "false";
};

class FakeSession final : public wire::Session::Server {
 public:
  explicit FakeSession(std::map<uint64_t, std::string>& store) : store_(store) {}
  kj::Promise<void> admin(AdminContext context) override {
    context.getResults().setAdmin(kj::heap<FakeAdmin>());
    return kj::READY_NOW;
  }
  kj::Promise<void> records(RecordsContext context) override {
    auto p = context.getParams();
    if (p.hasContext() && p.getContext().getTenantId() != 9 &&
        p.getContext().getTenantId() != 5) {
      FAKE_FAIL("PermissionDenied", "no data-sharing policy admits you");
    }
    context.getResults().setRecords(kj::heap<FakeRecords>(store_));
    return kj::READY_NOW;
  }
  kj::Promise<void> whoami(WhoamiContext context) override {
    auto u = context.getResults().initUser();
    u.setId(3);
    u.setTenantId(5);
    u.setName("alice");
    return kj::READY_NOW;
  }

 private:
  std::map<uint64_t, std::string>& store_;
};

class FakeCotenant final : public wire::Cotenant::Server {
 public:
  kj::Promise<void> login(LoginContext context) override {
    auto p = context.getParams();
    if (p.getTenantId() != 5 || p.getApiKey() != "good") {
      FAKE_FAIL("Unauthenticated", "bad tenant or key");
    }
    context.getResults().setSession(kj::heap<FakeSession>(store_));
    auto u = context.getResults().initUser();
    u.setId(3);
    u.setTenantId(5);
    u.setName("alice");
    u.setLevel(wire::AdminLevel::TENANT_ADMIN);
    return kj::READY_NOW;
  }

 private:
  std::map<uint64_t, std::string> store_;
};

}  // namespace

FakeServer::FakeServer() {
  std::promise<unsigned> port;
  auto portFuture = port.get_future();
  thread_ = std::thread([this, p = std::move(port)]() mutable {
    auto io = kj::setupAsyncIo();
    capnp::TwoPartyServer server(kj::heap<FakeCotenant>());
    auto listener = io.provider->getNetwork()
                        .parseAddress("127.0.0.1", 0)
                        .wait(io.waitScope)
                        ->listen();
    p.set_value(listener->getPort());
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = kj::mv(stop.fulfiller);
    }
    server.listen(*listener).exclusiveJoin(kj::mv(stop.promise)).wait(io.waitScope);
  });
  port_ = portFuture.get();
}

FakeServer::~FakeServer() {
  while (true) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {
      stop_->fulfill();
      break;
    }
  }
  thread_.join();
}

}  // namespace fake
}  // namespace cotenant
