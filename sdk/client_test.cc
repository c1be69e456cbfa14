// SDK tests that need no cotenantd: value types, argument checks, error mapping, and the
// client's threading and pipelining against a tiny in-process fake of the wire schema.

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <capnp/message.h>
#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include "cotenant/client.h"
#include "internal.h"
#include "schemas/cotenant.capnp.h"

namespace cotenant {
namespace {

// ---- pure helpers ----------------------------------------------------------------------------

TEST(Parameters, KeepsOrderAndReplacesDuplicates) {
  Parameters p;
  p.add("first_name", "John").add("age", 31).add("score", 2.5).add("vip", true);
  p.addTimestamp("seen", 1000000).addNull("last_name").add("first_name", std::string("Jane"));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p.fields()[0].first, "first_name");
  EXPECT_EQ(p.fields()[0].second, Value::text("Jane"));
  EXPECT_EQ(p.fields()[1].second, Value::integer(31));
  EXPECT_EQ(p.fields()[2].second, Value::floating(2.5));
  EXPECT_EQ(p.fields()[3].second, Value::boolean(true));
  EXPECT_EQ(p.fields()[4].second, Value::timestamp(1000000));
  EXPECT_TRUE(p.fields()[5].second.isNull());
  ASSERT_NE(p.find("age"), nullptr);
  EXPECT_EQ(p.find("nope"), nullptr);
}

TEST(Parameters, IntegerTypesBecomeInt64) {
  Parameters p;
  p.add("a", 7L).add("b", 7LL).add("c", 7u).add("d", int64_t{-9}).add("e", short{3});
  for (const auto& f : p.fields()) EXPECT_EQ(f.second.type(), Value::Type::Int) << f.first;
  EXPECT_EQ(p.find("d")->asInt(), -9);
}

TEST(Parameters, RetrieveRecordPermissions) {
  Parameters p;
  EXPECT_FALSE(p.retrievesRecordPermissions());
  p.retrieveRecordPermissions(true);
  EXPECT_TRUE(p.retrievesRecordPermissions());
  EXPECT_TRUE(p.empty());
}

TEST(RecordId, AcceptsDecimalStringsAndNumbers) {
  EXPECT_TRUE(RecordId("7771212345").valid());
  EXPECT_EQ(RecordId("7771212345").value(), 7771212345u);
  EXPECT_EQ(RecordId(std::string("18446744073709551615")).value(), UINT64_MAX);
  EXPECT_TRUE(RecordId(42).valid());
  EXPECT_EQ(RecordId(uint64_t{42}).value(), 42u);
}

TEST(RecordId, RejectsEverythingElse) {
  for (const char* bad : {"", "abc", "12a", " 12", "12 ", "+12", "-12", "0", "1.5",
                          "18446744073709551616", "0x10"}) {
    EXPECT_FALSE(RecordId(bad).valid()) << bad;
    EXPECT_EQ(RecordId(bad).text(), bad);
  }
  EXPECT_FALSE(RecordId(0).valid());
  EXPECT_FALSE(RecordId(-3).valid());
  EXPECT_EQ(RecordId(-3).text(), "-3");
}

TEST(ErrorMapping, TaggedRemoteException) {
  auto e = internal::classifyFailure(internal::ExceptionKind::Failed,
                                     "remote exception: cotenant:NotFound: record 7 not found");
  EXPECT_EQ(e.code, ErrorCode::NotFound);
  EXPECT_EQ(e.message, "record 7 not found");
}

TEST(ErrorMapping, EveryWireCode) {
  const std::pair<const char*, ErrorCode> cases[] = {
      {"NotFound", ErrorCode::NotFound},
      {"PermissionDenied", ErrorCode::PermissionDenied},
      {"InvalidArgument", ErrorCode::InvalidArgument},
      {"Conflict", ErrorCode::Conflict},
      {"ResourceExhausted", ErrorCode::ResourceExhausted},
      {"Unauthenticated", ErrorCode::Unauthenticated},
      {"Internal", ErrorCode::Internal},
  };
  for (const auto& [name, code] : cases) {
    auto e = internal::classifyFailure(internal::ExceptionKind::Failed,
                                       std::string("cotenant:") + name + ": why: because");
    EXPECT_EQ(e.code, code) << name;
    EXPECT_EQ(e.message, "why: because") << name;
  }
}

TEST(ErrorMapping, UntaggedKinds) {
  auto d = internal::classifyFailure(internal::ExceptionKind::Disconnected,
                                     "remote exception: Peer disconnected.");
  EXPECT_EQ(d.code, ErrorCode::Unavailable);
  EXPECT_EQ(d.message, "Peer disconnected.");
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Overloaded, "busy").code,
            ErrorCode::Busy);
  auto busy = internal::classifyFailure(internal::ExceptionKind::Overloaded,
                                        "remote exception: cotenant:Busy: queue full");
  EXPECT_EQ(busy.code, ErrorCode::Busy);
  EXPECT_EQ(busy.message, "queue full");
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Failed, "remote exception: boom").code,
            ErrorCode::Internal);
  // A local transport failure is Unavailable even when KJ typed it FAILED.
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Failed,
                                      "read(fd): Connection reset by peer").code,
            ErrorCode::Unavailable);
  // An unknown code name is not trusted.
  auto u = internal::classifyFailure(internal::ExceptionKind::Failed,
                                     "remote exception: cotenant:Weird: x");
  EXPECT_EQ(u.code, ErrorCode::Internal);
  EXPECT_EQ(u.message, "cotenant:Weird: x");
  // A tagged error wins over the exception type.
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Disconnected,
                                      "cotenant:Unauthenticated: bad key")
                .code,
            ErrorCode::Unauthenticated);
}

TEST(Values, Formatting) {
  EXPECT_EQ(Value().toString(), "null");
  EXPECT_EQ(Value::text("héllo").toString(), "héllo");
  EXPECT_EQ(Value::integer(-42).toString(), "-42");
  EXPECT_EQ(Value::floating(0.1).toString(), "0.1");
  EXPECT_EQ(Value::floating(3).toString(), "3");
  EXPECT_EQ(Value::boolean(false).toString(), "false");
  EXPECT_EQ(Value::timestamp(0).toString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Value::timestamp(1714564800000000).toString(), "2024-05-01T12:00:00Z");
  EXPECT_EQ(Value::timestamp(1714564800000001).toString(), "2024-05-01T12:00:00.000001Z");
  EXPECT_EQ(Value::timestamp(-1).toString(), "1969-12-31T23:59:59.999999Z");
  EXPECT_THROW(Value::integer(1).asText(), std::logic_error);
}

TEST(Helpers, FieldLists) {
  EXPECT_TRUE(internal::splitFieldList("*").empty());
  EXPECT_TRUE(internal::splitFieldList("").empty());
  EXPECT_TRUE(internal::splitFieldList("a,*").empty());
  EXPECT_EQ(internal::splitFieldList(" first_name , age,,"),
            (std::vector<std::string>{"first_name", "age"}));
}

TEST(Helpers, SortOrders) {
  EXPECT_EQ(internal::parseSortDescending(""), false);
  EXPECT_EQ(internal::parseSortDescending("ASC"), false);
  EXPECT_EQ(internal::parseSortDescending("Descending"), true);
  EXPECT_EQ(internal::parseSortDescending("up"), std::nullopt);
}

TEST(Helpers, Addresses) {
  EXPECT_EQ(internal::checkAddress("127.0.0.1:7770"), "");
  EXPECT_EQ(internal::checkAddress("[::1]:7770"), "");
  EXPECT_NE(internal::checkAddress("localhost"), "");
  EXPECT_NE(internal::checkAddress("localhost:0"), "");
  EXPECT_NE(internal::checkAddress("localhost:99999"), "");
  EXPECT_NE(internal::checkAddress("::1:7770"), "");
}

TEST(Helpers, EnumNamesRoundTrip) {
  EXPECT_EQ(parseAdminLevel("tenant-admin"), AdminLevel::TenantAdmin);
  EXPECT_EQ(parseTenantKind("msp"), TenantKind::Msp);
  EXPECT_EQ(parseFieldType("timestamp"), FieldType::Timestamp);
  EXPECT_EQ(parseFieldType("string"), std::nullopt);
  EXPECT_STREQ(errorCodeName(ErrorCode::PermissionDenied), "PermissionDenied");
}

TEST(Rights, FormatAndParse) {
  EXPECT_EQ(formatRights(Rights{}), "none");
  EXPECT_EQ(formatRights(Rights::all()), "read,add,update,delete");
  EXPECT_EQ(formatRights(Rights{true, false, false, true}), "read,delete");
  EXPECT_EQ(parseRights("read,add"), (Rights{true, true, false, false}));
  EXPECT_EQ(parseRights(" delete , read"), (Rights{true, false, false, true}));
  EXPECT_EQ(parseRights("all"), Rights::all());
  EXPECT_EQ(parseRights("none"), Rights{});
  for (const char* bad : {"", "read,", ",read", "read,read", "write", "Read", "all,read",
                          "read,none", "all,none"}) {
    EXPECT_EQ(parseRights(bad), std::nullopt) << bad;
  }
  for (const Rights& r : {Rights{}, Rights::all(), Rights{false, true, true, false}}) {
    EXPECT_EQ(parseRights(formatRights(r)), r);
  }
}

TEST(Connect, RefusedIsUnavailable) {
  // Port 1 on loopback: nothing listens there in a test environment.
  try {
    Client::connect("127.0.0.1:1", 1, "key");
    FAIL() << "connect succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable) << e.what();
  }
  try {
    Client::connect("no-port", 1, "key");
    FAIL() << "connect succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  }
}

// ---- a fake server for the client's plumbing ---------------------------------------------------
//
// Just enough of the schema: login (key "good", tenant 5), records() with and without a
// context (context 9 admitted, anything else PermissionDenied), addRecord, getRecord,
// deleteRecord, searchRecords (two pages), whoami, and the sharing half of Admin (keys,
// roles, policies, settings, audit, usage). Runs its own KJ loop on its own thread.

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

class FakeServer {
 public:
  FakeServer() {
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
  ~FakeServer() {
    while (true) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        stop_->fulfill();
        break;
      }
    }
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::thread thread_;
  unsigned port_ = 0;
  std::mutex mu_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

TEST(FakeServer, BadKeyIsUnauthenticated) {
  FakeServer server;
  try {
    Client::connect(server.address(), 5, "bad");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unauthenticated);
    EXPECT_EQ(e.message(), "bad tenant or key");
  }
}

TEST(FakeServer, RecordCallsAndErrors) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  EXPECT_EQ(client->user().name, "alice");
  EXPECT_EQ(client->user().level, AdminLevel::TenantAdmin);
  EXPECT_EQ(client->whoami().value().id, 3u);

  Parameters params;
  params.add("first_name", "John");
  Result added = client->addRecord("Customers", params);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  EXPECT_EQ(added.getId(), 1u);
  EXPECT_EQ(added.getRecords().at(0).get("first_name").asText(), "John");

  Result missing = client->addRecord("Nope", params);
  EXPECT_EQ(missing.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(missing.getMessage(), "no object");

  Result got = client->getRecord("Customers", "*", "1",
                                 Parameters().retrieveRecordPermissions(true));
  ASSERT_TRUE(got.ok()) << got.getMessage();
  EXPECT_EQ(got.getRecords().at(0).canUpdate(), std::optional<bool>(true));
  EXPECT_EQ(got.getRecords().at(0).canDelete(), std::optional<bool>(false));
  EXPECT_TRUE(got.getRecords().at(0).get("age").isNull());

  Result seven = client->getRecord("Customers", "*", 7);
  EXPECT_EQ(seven.getCode(), ErrorCode::NotFound);
  EXPECT_EQ(seven.getMessage(), "record 7 not found");

  // Rejected locally, without a round trip.
  EXPECT_EQ(client->getRecord("Customers", "*", "seven").getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(client->deleteRecord("Customers", "").getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(client->searchRecords("Customers", "*", "", "age", "sideways", "", "", 0, 10).getCode(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(client->searchRecords("Customers", "*", "", "", "", "", "", -1, 10).getCode(),
            ErrorCode::InvalidArgument);

  EXPECT_EQ(client->deleteRecord("Customers", 1, 2).getCode(), ErrorCode::Conflict);
  EXPECT_TRUE(client->deleteRecord("Customers", 1).ok());
}

TEST(FakeServer, SearchRetrievesPermissionsOnlyWhenAsked) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  Result plain = client->searchRecords("Customers", "*", "");
  ASSERT_TRUE(plain.ok()) << plain.getMessage();
  EXPECT_EQ(plain.getRecords().at(0).canUpdate(), std::nullopt);
  Result asked = client->searchRecords("Customers", "*", "", "", "asc", "", "asc", 0, 10,
                                       Parameters().retrieveRecordPermissions(true));
  ASSERT_TRUE(asked.ok()) << asked.getMessage();
  EXPECT_EQ(asked.getRecords().at(0).canUpdate(), std::optional<bool>(true));
  EXPECT_EQ(asked.getRecords().at(0).canDelete(), std::optional<bool>(false));
  Result simple = client->searchRecords("Customers", "*", "",
                                        Parameters().retrieveRecordPermissions(true));
  EXPECT_EQ(simple.getRecords().at(0).canDelete(), std::optional<bool>(false));
}

TEST(FakeServer, RolesRoundTrip) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  std::vector<ObjectRights> rights{{"Customers", Rights{true, true, false, false}},
                                   {"*", Rights{true, false, false, false}},
                                   {"Secrets", Rights{false, false, true, true}}};
  auto role = client->createRole(0, "partner-read", rights, /*crossTenant=*/true);
  ASSERT_TRUE(role.ok()) << role.getMessage();
  EXPECT_EQ(role.value().id, 1u);
  EXPECT_EQ(role.value().tenantId, 5u);
  EXPECT_EQ(role.value().name, "partner-read");
  EXPECT_TRUE(role.value().crossTenant);
  ASSERT_EQ(role.value().rights.size(), 3u);
  for (size_t i = 0; i < rights.size(); ++i) {
    EXPECT_EQ(role.value().rights[i].object, rights[i].object);
    EXPECT_EQ(role.value().rights[i].rights, rights[i].rights) << i;
  }
  ASSERT_EQ(role.value().members.size(), 1u);
  EXPECT_EQ(role.value().members[0].tenantId, 9u);
  EXPECT_EQ(role.value().members[0].userId, 44u);

  auto dup = client->createRole(0, "partner-read", {}, false);
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict);
  EXPECT_EQ(dup.getMessage(), "role name taken");

  auto listed = client->listRoles();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed.value().size(), 1u);
  EXPECT_EQ(listed.value()[0].rights[2].rights, (Rights{false, false, true, true}));

  EXPECT_TRUE(client->addRoleMember(0, "partner-read", 5, 3).ok());
  EXPECT_EQ(client->addRoleMember(0, "partner-read", 7, 3).getCode(), ErrorCode::PermissionDenied);
}

TEST(FakeServer, PoliciesWithScopeAndExpiry) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  PolicyInfo p;
  p.publisher = 12345;  // ignored: the server sets it
  p.name = "share-with-xyz";
  p.designated = 9;
  p.userId = 3;
  p.scope = {{"Customers", "region = 'EU'", {"first_name", "age"}}, {"Orders", "", {}}};
  p.expiresAt = 1893456000000000;  // 2030-01-01
  auto created = client->createPolicy(0, p);
  ASSERT_TRUE(created.ok()) << created.getMessage();
  const PolicyInfo& c = created.value();
  EXPECT_EQ(c.publisher, 5u);
  EXPECT_EQ(c.name, "share-with-xyz");
  EXPECT_EQ(c.designated, 9u);
  EXPECT_FALSE(c.global);
  EXPECT_EQ(c.userId, 3u);
  EXPECT_EQ(c.expiresAt, 1893456000000000);
  EXPECT_EQ(c.createdAt, 1714564800000000);
  ASSERT_EQ(c.scope.size(), 2u);
  EXPECT_EQ(c.scope[0].object, "Customers");
  EXPECT_EQ(c.scope[0].rowFilter, "region = 'EU'");
  EXPECT_EQ(c.scope[0].fields, (std::vector<std::string>{"first_name", "age"}));
  EXPECT_EQ(c.scope[1].object, "Orders");
  EXPECT_TRUE(c.scope[1].rowFilter.empty());
  EXPECT_TRUE(c.scope[1].fields.empty());
  EXPECT_FALSE(c.expiredAt(1714564800000000));
  EXPECT_TRUE(c.expiredAt(1893456000000000));

  PolicyInfo none;
  none.name = "bad";
  EXPECT_EQ(client->createPolicy(0, none).getCode(), ErrorCode::InvalidArgument);

  auto published = client->listPolicies(5, 0);
  ASSERT_TRUE(published.ok()) << published.getMessage();
  ASSERT_EQ(published.value().size(), 1u);
  EXPECT_EQ(published.value()[0].scope[0].fields.size(), 2u);
  auto reaching = client->listPolicies(0, 9);
  ASSERT_TRUE(reaching.ok());
  EXPECT_EQ(reaching.value().size(), 1u);
  EXPECT_TRUE(client->listPolicies(0, 8).value().empty());
  // Exactly one direction, checked before anything is sent.
  EXPECT_EQ(client->listPolicies(0, 0).getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(client->listPolicies(5, 9).getCode(), ErrorCode::InvalidArgument);
}

TEST(FakeServer, ApiKeysUsersAndSettings) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  auto k1 = client->createApiKey(0, 3);
  ASSERT_TRUE(k1.ok()) << k1.getMessage();
  EXPECT_EQ(k1.value().key.keyId, "k1");
  EXPECT_EQ(k1.value().key.userId, 3u);
  EXPECT_EQ(k1.value().key.createdAt, 1714564800000000);
  EXPECT_FALSE(k1.value().key.revoked);
  EXPECT_EQ(k1.value().apiKey, "ct_k1_secret");
  auto k2 = client->createApiKey(0, 3);
  ASSERT_TRUE(k2.ok());
  EXPECT_TRUE(client->revokeApiKey(0, "k1").ok());
  EXPECT_EQ(client->revokeApiKey(0, "nope").getCode(), ErrorCode::NotFound);
  auto keys = client->listApiKeys(0, 3);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value().size(), 2u);
  EXPECT_TRUE(keys.value()[0].revoked);
  EXPECT_FALSE(keys.value()[1].revoked);

  EXPECT_TRUE(client->deleteUser(0, 3).ok());
  EXPECT_EQ(client->deleteUser(0, 4).getCode(), ErrorCode::NotFound);

  EXPECT_TRUE(client->setSetting("crossTenantRoles", "true").ok());
  EXPECT_EQ(client->setSetting("colour", "red").getCode(), ErrorCode::InvalidArgument);
  auto settings = client->listSettings();
  ASSERT_TRUE(settings.ok());
  ASSERT_EQ(settings.value().size(), 1u);
  EXPECT_EQ(settings.value()[0].name, "crossTenantRoles");
  EXPECT_EQ(settings.value()[0].value, "true");
}

TEST(FakeServer, AuditAndUsage) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  AuditQuery q;
  q.tenantId = 7771212345;
  q.from = 1714564800000000;
  q.to = 1714568400000000;
  q.callerTenant = 9;
  q.outcome = "PermissionDenied";
  q.limit = 50;
  auto audit = client->queryAudit(q);
  ASSERT_TRUE(audit.ok()) << audit.getMessage();
  ASSERT_EQ(audit.value().size(), 1u);
  const AuditEntry& e = audit.value()[0];  // the fake echoes the query into the entry
  EXPECT_EQ(e.time, q.from);
  EXPECT_EQ(e.recordId, static_cast<uint64_t>(q.to));
  EXPECT_EQ(e.callerTenant, 9u);
  EXPECT_EQ(e.callerUser, 3u);
  EXPECT_EQ(e.principal, 50u);
  EXPECT_EQ(e.targetTenant, 7771212345u);
  EXPECT_EQ(e.api, "getRecord");
  EXPECT_EQ(e.object, "Customers");
  EXPECT_EQ(e.outcome, "PermissionDenied");
  EXPECT_EQ(e.detail, "policy share-with-xyz");

  auto u = client->usage();
  ASSERT_TRUE(u.ok()) << u.getMessage();
  EXPECT_EQ(u.value().tenantId, 5u);
  EXPECT_EQ(u.value().records, 12u);
  EXPECT_EQ(u.value().bytes, 3400u);
  ASSERT_EQ(u.value().calls.size(), 2u);
  EXPECT_EQ(u.value().calls[0].api, "getRecord");
  EXPECT_EQ(u.value().calls[0].calls, 10u);
  EXPECT_EQ(u.value().servedToOthers, 7u);
  EXPECT_EQ(u.value().consumedFromOthers, 1u);
  EXPECT_EQ(client->usage(9).value().tenantId, 9u);
}

TEST(PermissionSets, EffectNames) {
  EXPECT_STREQ(effectName(Effect::Allow), "allow");
  EXPECT_STREQ(effectName(Effect::Deny), "deny");
  EXPECT_EQ(parseEffect("deny"), Effect::Deny);
  EXPECT_EQ(parseEffect("allow"), Effect::Allow);
  EXPECT_EQ(parseEffect("Deny"), std::nullopt);
  Explanation e;
  e.code = "PermissionDenied";
  EXPECT_EQ(e.errorCode(), ErrorCode::PermissionDenied);
  e.code = "OK";
  EXPECT_EQ(e.errorCode(), ErrorCode::OK);
  e.code = "Strange";
  EXPECT_EQ(e.errorCode(), ErrorCode::Internal);
}

TEST(FakeServer, PermissionSetsRoundTrip) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  PermissionSetInfo set;
  set.name = "no-deletes";
  set.systemScope = false;
  set.allTenants = false;
  set.tenants = {7771212345, 18446744073709551615ull};
  set.users = {12, 21};
  set.policies = {{Effect::Allow, "records/.*", ".*", "GET|POST"},
                  {Effect::Deny, "records/Job.*", "deleteRecord", "DELETE"},
                  {Effect::Allow, "admin/a:b c", "create.*", ".*"}};
  ASSERT_TRUE(client->createPermissionSet(set).ok());
  auto dup = client->createPermissionSet(set);
  EXPECT_EQ(dup.getCode(), ErrorCode::Conflict);
  EXPECT_EQ(dup.getMessage(), "permission set name taken");

  PermissionSetInfo sys;
  sys.name = "everyone";
  sys.systemScope = true;
  sys.allTenants = true;
  sys.policies = {{Effect::Deny, "(", ".*", ".*"}};
  auto bad = client->createPermissionSet(sys);
  EXPECT_EQ(bad.getCode(), ErrorCode::InvalidArgument);
  EXPECT_EQ(bad.getMessage(), "bad regex '(': missing )");
  sys.policies[0].resourceTypeRegex = "admin/.*";
  ASSERT_TRUE(client->createPermissionSet(sys).ok());

  auto listed = client->listPermissionSets();
  ASSERT_TRUE(listed.ok()) << listed.getMessage();
  ASSERT_EQ(listed.value().size(), 2u);
  const PermissionSetInfo& a = listed.value()[0];
  EXPECT_EQ(a.name, "no-deletes");
  EXPECT_FALSE(a.systemScope);
  EXPECT_FALSE(a.allTenants);
  EXPECT_EQ(a.tenants, set.tenants);
  EXPECT_EQ(a.users, set.users);
  EXPECT_EQ(a.policies, set.policies);
  const PermissionSetInfo& b = listed.value()[1];
  EXPECT_TRUE(b.systemScope);
  EXPECT_TRUE(b.allTenants);
  EXPECT_TRUE(b.tenants.empty());
  EXPECT_TRUE(b.users.empty());
  ASSERT_EQ(b.policies.size(), 1u);
  EXPECT_EQ(b.policies[0].effect, Effect::Deny);

  set.users = {12};
  set.policies.pop_back();
  ASSERT_TRUE(client->updatePermissionSet(set).ok());
  auto after = client->listPermissionSets();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value()[0].users, (std::vector<uint64_t>{12}));
  EXPECT_EQ(after.value()[0].policies.size(), 2u);
  set.name = "nope";
  EXPECT_EQ(client->updatePermissionSet(set).getCode(), ErrorCode::NotFound);

  EXPECT_TRUE(client->deletePermissionSet("everyone").ok());
  EXPECT_EQ(client->deletePermissionSet("everyone").getCode(), ErrorCode::NotFound);
  EXPECT_EQ(client->listPermissionSets().value().size(), 1u);
}

TEST(FakeServer, ExplainWithoutDrafts) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  ExplainRequest q;
  q.userId = 12;
  q.tenantId = 7771212345;
  q.api = "deleteRecord";
  q.object = "Customers";
  auto r = client->explain(q);
  ASSERT_TRUE(r.ok()) << r.getMessage();  // a denial is still an OK explanation
  const Explanation& e = r.value();
  EXPECT_FALSE(e.allowed);
  EXPECT_EQ(e.code, "PermissionDenied");
  EXPECT_EQ(e.errorCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(e.message, "user 12 may not deleteRecord records/Customers in tenant 7771212345");
  EXPECT_EQ(e.contextPath, "policy");
  EXPECT_EQ(e.policy, "");
  EXPECT_EQ(e.principal, 1012u);
  ASSERT_EQ(e.permissionSets.size(), 1u);  // the fake saw no draft set
  EXPECT_EQ(e.permissionSets[0].name, "allow-all");
  EXPECT_EQ(e.permissionSets[0].forUser, 12u);
  EXPECT_EQ(e.permissionSets[0].matchedAllow, (std::vector<uint32_t>{1}));
  EXPECT_TRUE(e.permissionSets[0].matchedDeny.empty());
  EXPECT_EQ(e.decidingSet, "allow-all");
  EXPECT_EQ(e.decidingPolicy, 1u);
  EXPECT_EQ(e.roleRights, "read,update");
  EXPECT_EQ(e.scope, "");
  EXPECT_EQ(e.steps, (std::vector<std::string>{"no draft policy", "no draft set", "remove ''"}));

  ExplainRequest own;
  own.api = "getRecord";
  auto ok = client->explain(own);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().allowed);
  EXPECT_EQ(ok.value().errorCode(), ErrorCode::OK);
  EXPECT_EQ(ok.value().contextPath, "own");
  EXPECT_EQ(ok.value().message, "");

  EXPECT_EQ(client->explain(ExplainRequest{}).getCode(), ErrorCode::InvalidArgument);
}

TEST(FakeServer, ExplainWithDrafts) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  ExplainRequest q;
  q.userId = 12;
  q.tenantId = 9;
  q.api = "deleteRecord";
  q.object = "Customers";
  PolicyInfo draft;
  draft.name = "share-with-xyz";
  draft.designated = 8881212345;
  draft.userId = 21;
  draft.scope = {{"Customers", "region = 'EU'", {"first_name", "age"}}};
  draft.expiresAt = 1893456000000000;
  q.draftPolicy = draft;
  PermissionSetInfo set;
  set.name = "no-deletes";
  set.systemScope = true;
  set.tenants = {9};
  set.users = {12, 13};
  set.policies = {{Effect::Allow, ".*", ".*", ".*"}, {Effect::Deny, "records/.*", ".*", "DELETE"}};
  q.draftPermissionSet = set;
  auto r = client->explain(q);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  const Explanation& e = r.value();
  EXPECT_EQ(e.policy, "share-with-xyz");
  EXPECT_EQ(e.principal, 21u);
  EXPECT_EQ(e.scope, "Customers|region = 'EU'|first_name,age,");
  ASSERT_EQ(e.permissionSets.size(), 2u);
  EXPECT_EQ(e.permissionSets[1].name, "no-deletes");
  EXPECT_EQ(e.permissionSets[1].matchedAllow, (std::vector<uint32_t>{1}));
  EXPECT_EQ(e.permissionSets[1].matchedDeny, (std::vector<uint32_t>{2}));
  EXPECT_EQ(e.decidingSet, "no-deletes");
  EXPECT_EQ(e.decidingPolicy, 2u);
  EXPECT_EQ(e.steps, (std::vector<std::string>{
                         "draft policy designating 8881212345 expiring 1893456000000000",
                         "draft set system some tenants tenants=1 users=2", "remove ''"}));

  // Removal instead of a draft set.
  q.draftPermissionSet.reset();
  q.draftPolicy.reset();
  q.removePermissionSet = "allow-all";
  auto removed = client->explain(q);
  ASSERT_TRUE(removed.ok()) << removed.getMessage();
  EXPECT_EQ(removed.value().steps.back(), "remove 'allow-all'");
  EXPECT_EQ(removed.value().steps.front(), "no draft policy");

  // Both a draft set and a removal: rejected before anything is sent.
  q.draftPermissionSet = set;
  auto both = client->explain(q);
  EXPECT_EQ(both.getCode(), ErrorCode::InvalidArgument);
}

TEST(FakeServer, SearchContinuation) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  SearchQuery q;
  q.object = "Customers";
  Result first = client->search(q);
  ASSERT_TRUE(first.ok()) << first.getMessage();
  EXPECT_FALSE(first.complete());
  EXPECT_EQ(first.continuation(), "p2");
  q.continuation = first.continuation();
  Result second = client->search(q);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.complete());
  EXPECT_EQ(second.getRecords().at(0).id(), 2u);
}

TEST(FakeServer, TenantContext) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  try {
    TenantContext denied(*client, "7771212345");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
  }
  EXPECT_THROW(TenantContext(*client, "abc"), Error);
  TenantContext ctx(*client, 9);
  Parameters params;
  params.add("first_name", "Ann");
  Result r = client->addRecord("Customers", params, ctx);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  TenantContext copy = ctx;  // copies share the capability
  EXPECT_TRUE(client->getRecord("Customers", "*", r.getId(), copy).ok());
}

TEST(FakeServer, ManyCallsInFlightFromManyThreads) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  Parameters params;
  params.add("first_name", "X");
  ASSERT_TRUE(client->addRecord("Customers", params).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::future<Result>> futures;
      for (int i = 0; i < 500; ++i) futures.push_back(client->getRecordAsync("Customers", "*", 1));
      for (auto& f : futures) ok += f.get().ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2000);
}

TEST(FakeServer, DestroyingClientAnswersInFlightCalls) {
  FakeServer server;
  auto client = Client::connect(server.address(), 5, "good");
  std::vector<std::future<Result>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(client->getRecordAsync("Customers", "*", 1));
  TenantContext ctx(*client, 9);
  client.reset();
  for (auto& f : futures) {
    Result r = f.get();  // never a broken promise
    EXPECT_TRUE(r.getCode() == ErrorCode::NotFound || r.getCode() == ErrorCode::Unavailable)
        << r.getCode();
  }
}

TEST(FakeServer, ServerGoneIsUnavailable) {
  std::unique_ptr<Client> client;
  {
    FakeServer server;
    client = Client::connect(server.address(), 5, "good");
  }
  Result r = client->getRecord("Customers", "*", 1);
  EXPECT_EQ(r.getCode(), ErrorCode::Unavailable) << r.getMessage();
}

}  // namespace
}  // namespace cotenant
