// The world of the randomized model test: building it through the SDK (tenants, objects,
// records, users, roles, policies, the fixture for DESIGN.md's finer points) while keeping
// the reference model in step, and the random choices over it (targets, record ids, the
// next record call).

#include <algorithm>
#include <iterator>

#include "tests/model_world.h"

namespace cotenant::testing {
namespace {

const char* KindName(TenantKind k) { return tenantKindName(k); }

}  // namespace

// ---- building the world --------------------------------------------------------------------

std::vector<FieldDef> ModelTest::Fields() {
  return {{"label", FieldType::Text, true, true},
          {"owner", FieldType::Int, false, false},
          {"note", FieldType::Text, false, false}};
}

std::vector<ObjectRights> ModelTest::WireRights(const std::map<std::string, uint8_t>& m) {
  std::vector<ObjectRights> out;
  for (const auto& [o, mask] : m) out.push_back({o, ToRights(mask)});
  return out;
}

// A mask with each right at 60%, or (sometimes) an explicit "none".
uint8_t ModelTest::RandomMask() {
  if (Chance(0.1)) return 0;
  uint8_t m = 0;
  for (uint8_t bit : {kRead, kAdd, kUpdate, kDelete}) {
    if (Chance(0.6)) m |= bit;
  }
  return m;
}

std::map<std::string, uint8_t> ModelTest::RandomRights() {
  std::map<std::string, uint8_t> m;
  for (const auto& o : kObjects) {
    if (Chance(0.45)) m[o] = RandomMask();
  }
  if (Chance(0.5)) m["*"] = RandomMask();
  if (m.empty()) m["*"] = kRead;
  return m;
}

std::vector<ObjectScope> ModelTest::RandomScope(const MTenant& t) {
  std::vector<ObjectScope> scope;
  if (!Chance(0.4)) return scope;
  for (const auto& o : t.objects) {
    if (!Chance(0.5)) continue;
    ObjectScope s;
    s.object = o;
    if (Chance(0.35)) s.fields = {"label", "owner"};
    scope.push_back(s);
  }
  if (scope.empty()) scope.push_back({*t.objects.begin(), "", {}});
  return scope;
}

// Expires within the run (0.3-3 s from now): the server must stop honouring the policy
// then, cached contexts included. Calls near the moment are not judged (see DataCall).
int64_t ModelTest::SoonExpiry() {
  return NowMicros() + 300000 + static_cast<int64_t>(Uniform(2700000));
}

int64_t ModelTest::RandomExpiry() {
  double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  if (r < 0.2) return NowMicros() - 3600LL * 1000000;  // expired an hour ago
  if (r < 0.3) return SoonExpiry();
  if (r < 0.45) return NowMicros() + 86400LL * 1000000;  // tomorrow
  return 0;
}

std::vector<size_t> ModelTest::LiveUsers(const MTenant& t) const {
  std::vector<size_t> out;
  for (size_t ui : t.users) {
    if (!users_[ui].deleted) out.push_back(ui);
  }
  return out;
}

// The client that performs an admin change on tenant t, and the tenant id to name.
std::pair<Client*, uint64_t> ModelTest::AdminOf(MTenant& t) {
  if (Chance(0.3)) return {sys_.get(), t.id};
  return {t.admin.get(), 0};
}

void ModelTest::BuildWorld() {
  ASSERT_TRUE(sys_->setSetting("crossTenantRoles", "true").ok());
  model_.cross_tenant_roles = true;
  int n = 8 + static_cast<int>(Uniform(3));
  int isvs = 2, msps = 2 + static_cast<int>(Uniform(2));
  for (int i = 0; i < n; ++i) {
    MTenant t;
    t.kind = i < isvs ? TenantKind::Isv : i < isvs + msps ? TenantKind::Msp : TenantKind::Tenant;
    if (t.kind == TenantKind::Msp) {
      t.provider = model_.tenants[Uniform(isvs)].id;
    } else if (t.kind == TenantKind::Tenant) {
      double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
      // The first tenant is always an MSP's: the ISV -> MSP -> tenant chain exists.
      if (i == isvs + msps || r < 0.55) t.provider = model_.tenants[isvs + Uniform(msps)].id;
      else if (r < 0.85) t.provider = model_.tenants[Uniform(isvs)].id;
    }
    std::string name = std::string(KindName(t.kind)) + "-" + std::to_string(i);
    auto created = sys_->createTenant(name, t.kind, t.provider);
    ASSERT_TRUE(created.ok()) << created.getMessage();
    t.id = created.value().id;
    auto admin = sys_->createUser(t.id, "admin", AdminLevel::TenantAdmin);
    ASSERT_TRUE(admin.ok()) << admin.getMessage();
    t.admin_id = admin.value().user.id;
    t.admin = Client::connect(server_.address(), t.id, admin.value().apiKey);
    for (const auto& o : kObjects) {
      if (o == "C" && Chance(0.5)) continue;
      auto obj = t.admin->createObject(0, o, Fields());
      ASSERT_TRUE(obj.ok()) << obj.getMessage();
      t.objects.insert(o);
    }
    // Seed records through a temporary role (admin levels grant no data rights).
    ASSERT_TRUE(t.admin->createRole(0, "seed", {{"*", Rights::all()}}).ok());
    ASSERT_TRUE(t.admin->addRoleMember(0, "seed", t.id, t.admin_id).ok());
    for (const auto& o : t.objects) {
      std::vector<Parameters> batch;
      int k = 2 + static_cast<int>(Uniform(4));
      for (int j = 0; j < k; ++j) {
        Parameters p;
        p.add("label", "t" + std::to_string(t.id) + "-" + o + "-s" + std::to_string(j))
            .add("owner", static_cast<int64_t>(t.id))
            .add("note", "secret-of-" + std::to_string(t.id));
        batch.push_back(p);
      }
      Result r = t.admin->addRecords(o, batch);
      ASSERT_TRUE(r.ok()) << r.getMessage();
      for (size_t j = 0; j < r.ids().size(); ++j) {
        t.records[o][r.ids()[j]] = MRecord{batch[j].find("label")->asText(), true};
        all_ids_.push_back(r.ids()[j]);
      }
    }
    ASSERT_TRUE(t.admin->deleteRole(0, "seed").ok());
    model_.tenants.push_back(std::move(t));
  }
  for (size_t ti = 0; ti < model_.tenants.size(); ++ti) {
    MTenant& t = model_.tenants[ti];
    int k = 2 + static_cast<int>(Uniform(3));
    for (int j = 0; j < k; ++j) {
      auto u = Chance(0.5) ? sys_->createUser(t.id, "u" + std::to_string(j), AdminLevel::User)
                           : t.admin->createUser(0, "u" + std::to_string(j), AdminLevel::User);
      ASSERT_TRUE(u.ok()) << u.getMessage();
      MUser mu;
      mu.id = u.value().user.id;
      mu.tenant = t.id;
      mu.tenant_idx = ti;
      mu.client = Client::connect(server_.address(), t.id, u.value().apiKey);
      t.users.push_back(users_.size());
      users_.push_back(std::move(mu));
    }
    int roles = 2 + static_cast<int>(Uniform(3));
    for (int j = 0; j < roles; ++j) {
      std::string name = "r" + std::to_string(next_role_++);
      MRole r;
      r.rights = RandomRights();
      r.cross = Chance(0.35);
      auto [c, tid] = AdminOf(t);
      auto created = c->createRole(tid, name, WireRights(r.rights), r.cross);
      ASSERT_TRUE(created.ok()) << created.getMessage();
      for (size_t ui : t.users) {
        if (Chance(0.6)) {
          ASSERT_TRUE(c->addRoleMember(tid, name, t.id, users_[ui].id).ok());
          r.members[users_[ui].id] = t.id;
        }
      }
      t.roles[name] = std::move(r);
    }
  }
  // Foreign members of cross-tenant roles.
  for (auto& t : model_.tenants) {
    for (auto& [name, role] : t.roles) {
      if (!role.cross) continue;
      int k = 1 + static_cast<int>(Uniform(3));
      for (int j = 0; j < k; ++j) {
        const MUser& u = users_[Uniform(users_.size())];
        if (u.tenant == t.id) continue;
        Result r = t.admin->addRoleMember(0, name, u.tenant, u.id);
        ASSERT_TRUE(r.ok()) << r.getMessage();
        role.members[u.id] = u.tenant;
      }
    }
  }
  // Policies: at most one per (publisher, designated); globals on ISVs and MSPs.
  for (auto& t : model_.tenants) {
    for (const auto& d : model_.tenants) {
      if (d.id == t.id || !Chance(0.25)) continue;
      CreatePolicyExpectOk(t, d.id, false);
    }
    if ((t.kind == TenantKind::Isv || t.kind == TenantKind::Msp) && Chance(0.7)) {
      CreatePolicyExpectOk(t, 0, true);
    }
  }
  PinFinerPoints();
  ASSERT_FALSE(HasFatalFailure());
  ProbeFinerPoints();
  ASSERT_FALSE(HasFatalFailure());
  if (Chance(0.3)) {
    ASSERT_TRUE(sys_->setSetting("crossTenantRoles", "false").ok());
    model_.cross_tenant_roles = false;
  }
}

// Sets t's policy for `designated` (or its global one) to `expiresAt` and no scope,
// creating it when there is none.
void ModelTest::EnsurePolicy(MTenant& t, uint64_t designated, bool global, int64_t expiresAt,
                             uint64_t user, const std::vector<ObjectScope>& scope) {
  for (auto& [name, p] : t.policies) {
    if (global ? !p.global : (p.global || p.designated != designated)) continue;
    if (user != 0) p.user = user;
    PolicyInfo info;
    info.name = name;
    info.designated = p.designated;
    info.global = p.global;
    info.userId = p.user;
    info.expiresAt = expiresAt;
    info.scope = scope;
    auto r = t.admin->updatePolicy(0, info);
    ASSERT_TRUE(r.ok()) << r.getMessage();
    p.expiresAt = expiresAt;
    p.scope = scope;
    return;
  }
  CreatePolicyExpectOk(t, designated, global);
  ASSERT_FALSE(HasFatalFailure());
  EnsurePolicy(t, designated, global, expiresAt, user, scope);
}

// A new plain user of t, logged in; returns its index in users_.
size_t ModelTest::NewUser(MTenant& t, const std::string& name) {
  auto r = t.admin->createUser(0, name, AdminLevel::User);
  EXPECT_TRUE(r.ok()) << r.getMessage();
  MUser mu;
  mu.id = r.value().user.id;
  mu.tenant = t.id;
  mu.tenant_idx = model_.Index(t.id);
  mu.client = Client::connect(server_.address(), t.id, r.value().apiKey);
  t.users.push_back(users_.size());
  users_.push_back(std::move(mu));
  return users_.size() - 1;
}

// A new role of t with `rights` (cross-tenant or not) and the one member `user`.
void ModelTest::RoleFor(MTenant& t, const std::map<std::string, uint8_t>& rights, bool cross,
                        const MUser& user) {
  std::string name = "r" + std::to_string(next_role_++);
  auto created = t.admin->createRole(0, name, WireRights(rights), cross);
  ASSERT_TRUE(created.ok()) << created.getMessage();
  Result r = t.admin->addRoleMember(0, name, user.tenant, user.id);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  t.roles[name] = MRole{rights, cross, {{user.id, user.tenant}}};
}

void ModelTest::SetCrossTenantRoles(bool on) {
  ASSERT_TRUE(sys_->setSetting("crossTenantRoles", on ? "true" : "false").ok());
  model_.cross_tenant_roles = on;
}

// Calls that tell each finer point of DESIGN.md from its misreading (Variant), made on a
// fixture built for them, so that every run covers them whatever the seed:
//   m    a tenant under an MSP under an ISV; u a fresh user of m with the own role
//        {A: add, *: read} (read on A denied: "*" is for objects the role does not name);
//   isv  a live global policy whose user may read and add, and an expired policy for m
//        (skipped: the global one admits m, through the MSP);
//   t    another tenant, with a cross-tenant role {*: read} that u belongs to, and a live
//        policy for m whose user has every right, scoped to every object but A.
void ModelTest::ProbeFinerPoints() {
  MTenant* m = nullptr;
  for (auto& x : model_.tenants) {
    MTenant* mid = model_.Find(x.provider);
    if (x.kind == TenantKind::Tenant && mid != nullptr && mid->kind == TenantKind::Msp) {
      m = &x;
      break;
    }
  }
  ASSERT_NE(m, nullptr);
  MTenant& isv = *model_.Find(model_.Find(m->provider)->provider);
  MTenant* t = nullptr;
  for (auto& x : model_.tenants) {
    if (x.id != m->id && x.id != isv.id) {
      t = &x;
      break;
    }
  }
  ASSERT_NE(t, nullptr);
  SetCrossTenantRoles(true);
  size_t ui = NewUser(*m, "probe");
  MUser& u = users_[ui];
  RoleFor(*m, {{"A", kAdd}, {"*", kRead}}, false, u);
  EnsurePolicy(isv, 0, true, 0, UserWithRole(isv, kRead | kAdd));
  EnsurePolicy(isv, m->id, false, NowMicros() - 3600LL * 1000000);
  RoleFor(*t, {{"*", kRead}}, true, u);
  std::vector<ObjectScope> scope;
  for (const auto& o : t->objects) {
    if (o != "A") scope.push_back({o, "", {}});
  }
  EnsurePolicy(*t, m->id, false, 0, UserWithRole(*t, kAll), scope);
  ASSERT_FALSE(HasFatalFailure());
  int op = -1;
  DataCall(op--, u, false, 0, Op::kSearch, "A", true);         // own: "*" vs named A
  DataCall(op--, u, true, isv.id, Op::kSearch, "A", true);     // expired skipped; via MSP
  DataCall(op--, u, true, t->id, Op::kAdd, "B", true);         // role decides, no fallback
  SetCrossTenantRoles(false);
  DataCall(op--, u, true, t->id, Op::kAdd, "B", true);         // setting off: the policy
  DataCall(op--, u, true, t->id, Op::kSearch, "A", true);      // scope leaves A out
  SetCrossTenantRoles(true);
}

// A live user of t that is the one member of a new role with `rights` on every object.
uint64_t ModelTest::UserWithRole(MTenant& t, uint8_t rights) {
  std::string name = "r" + std::to_string(next_role_++);
  MRole role;
  role.rights["*"] = rights;
  auto created = t.admin->createRole(0, name, WireRights(role.rights), false);
  EXPECT_TRUE(created.ok()) << created.getMessage();
  uint64_t user = RandomPolicyUser(t);
  if (user == t.admin_id) user = users_[LiveUsers(t)[0]].id;
  Result r = t.admin->addRoleMember(0, name, t.id, user);
  EXPECT_TRUE(r.ok()) << r.getMessage();
  role.members[user] = t.id;
  t.roles[name] = std::move(role);
  return user;
}

// Makes sure the world holds the combinations DESIGN.md's finer points are about (the
// random changes later move them around):
//  - an ISV with a live global policy and an expired specific policy for a tenant it
//    manages through an MSP (the expired one is skipped, the global one decides);
//  - a foreign member of a cross-tenant role whose tenant also has a live policy of the
//    role's tenant (the role decides; no fallback to the policy).
void ModelTest::PinFinerPoints() {
  std::set<std::pair<uint64_t, uint64_t>> pinned_expired;
  for (auto& isv : model_.tenants) {
    if (isv.kind != TenantKind::Isv) continue;
    for (auto& m : model_.tenants) {
      MTenant* mid = model_.Find(m.provider);
      if (m.kind != TenantKind::Tenant || mid == nullptr || mid->provider != isv.id) continue;
      EnsurePolicy(isv, 0, true, 0, UserWithRole(isv, kRead | kAdd));
      EnsurePolicy(isv, m.id, false, NowMicros() - 3600LL * 1000000);
      pinned_expired.insert({isv.id, m.id});
      break;
    }
  }
  int pinned = 0;
  for (auto& t : model_.tenants) {
    for (auto& [name, role] : t.roles) {
      if (!role.cross || pinned >= 3) continue;
      for (auto [user, home] : role.members) {
        if (home == t.id || pinned_expired.count({t.id, home}) != 0) continue;
        EnsurePolicy(t, home, false, 0, UserWithRole(t, kAll));
        ++pinned;
        break;
      }
    }
  }
}

uint64_t ModelTest::RandomPolicyUser(const MTenant& t) {
  if (Chance(0.1)) return t.admin_id;  // no role: such a policy admits nobody
  auto live = LiveUsers(t);
  return users_[live[Uniform(live.size())]].id;
}

void ModelTest::CreatePolicyExpectOk(MTenant& t, uint64_t designated, bool global) {
  MPolicy p;
  p.designated = designated;
  p.global = global;
  p.user = RandomPolicyUser(t);
  p.scope = RandomScope(t);
  p.expiresAt = RandomExpiry();
  std::string name = "p" + std::to_string(next_policy_++);
  PolicyInfo info;
  info.name = name;
  info.designated = designated;
  info.global = global;
  info.userId = p.user;
  info.scope = p.scope;
  info.expiresAt = p.expiresAt;
  auto [c, tid] = AdminOf(t);
  auto r = c->createPolicy(tid, info);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  t.policies[name] = std::move(p);
}

// ---- random choices ------------------------------------------------------------------------

uint64_t ModelTest::UnknownTenant() {
  if (Chance(0.3)) return kSystemTenant;
  uint64_t max = 0;
  for (const auto& t : model_.tenants) max = std::max(max, t.id);
  for (int i = 0; i < 100; ++i) {
    uint64_t id = Chance(0.5) ? max + 1 + Uniform(1000) : 2 + Uniform(uint64_t{1} << 40);
    if (model_.Find(id) == nullptr && id != kSystemTenant) return id;
  }
  return max + 12345;
}

// Tenants the user may reach by some path now (to bias targets towards allowed calls).
std::vector<uint64_t> ModelTest::Reachable(const MUser& u) {
  std::vector<uint64_t> out;
  for (const auto& t : model_.tenants) {
    if (t.id != u.tenant && model_.Resolve(u.tenant, u.id, t.id).path != MPath::kDenied) out.push_back(t.id);
  }
  return out;
}

uint64_t ModelTest::RandomRecordId(const MTenant* target, const std::string& object) {
  double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  if (target != nullptr && r < 0.3) {
    auto it = target->records.find(object);
    if (it != target->records.end() && !it->second.empty()) {
      return Pick(it->second).first;
    }
  }
  if (r < 0.9 && !all_ids_.empty()) return all_ids_[Uniform(all_ids_.size())];
  uint64_t max = 1;
  for (uint64_t id : all_ids_) max = std::max(max, id);
  return 1 + Uniform(max + 50);
}

void ModelTest::RandomDataOp(int op) {
  // A live user; now and then one that was deleted (its session must fail).
  std::vector<size_t> live, gone;
  for (size_t i = 0; i < users_.size(); ++i) (users_[i].deleted ? gone : live).push_back(i);
  MUser& u = (!gone.empty() && Chance(0.03)) ? users_[gone[Uniform(gone.size())]]
                                             : users_[live[Uniform(live.size())]];
  double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  bool with_ctx = true;
  uint64_t target = 0;
  if (r < 0.2) {
    with_ctx = false;
  } else if (r < 0.28) {
    target = u.tenant;
  } else if (r < 0.34) {
    target = UnknownTenant();
  } else if (r < 0.8) {
    auto reach = Reachable(u);
    target = reach.empty() ? model_.tenants[Uniform(model_.tenants.size())].id : reach[Uniform(reach.size())];
  } else {
    target = model_.tenants[Uniform(model_.tenants.size())].id;
  }
  int k = static_cast<int>(Uniform(100));
  Op kind = k < 30 ? Op::kGet : k < 55 ? Op::kSearch : k < 75 ? Op::kAdd : k < 90 ? Op::kUpdate : Op::kDelete;
  // Mostly an object the target has; sometimes any (C is missing in some tenants).
  std::string object = kObjects[Uniform(kObjects.size())];
  MTenant* t = model_.Find(with_ctx ? target : u.tenant);
  if (t != nullptr && Chance(0.6)) object = Pick(t->objects);
  DataCall(op, u, with_ctx, target, kind, object, Chance(0.5));
}

}  // namespace cotenant::testing
